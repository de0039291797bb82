"""Care occasions and send times, without a database or Telegram."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from lunar_python import Lunar

from bot.domain.care import (
    CareRules,
    Facts,
    Occasion,
    festivals_between,
    is_quiet,
    message_language,
    next_allowed,
    occasions,
    purchase_kind,
    send_time,
    zone,
)
from bot.domain.dates import ParsedDate
from bot.i18n import catalogue

RULES = CareRules()


def _solar(lunar_year: int, month: int, day: int) -> date:
    solar = Lunar.fromYmd(lunar_year, month, day).getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def test_a_lunar_birthday_late_in_the_lunar_year_falls_in_the_next_solar_year() -> None:
    # 腊月廿八 of lunar year 2026 is in February 2027; on 2027-01-30 it is a few days ahead.
    birthday = ParsedDate(1980, 12, 28, lunar=True)
    expected = _solar(2026, 12, 28)
    assert expected.year == 2027
    found = occasions(Facts(birthday=birthday), expected.replace(day=1), expected, RULES)
    assert [(d.occasion, d.day) for d in found if d.occasion is Occasion.BIRTHDAY] == [
        (Occasion.BIRTHDAY, expected)
    ]
    # And across the solar new year: planning from late December finds it in the next year.
    later = occasions(Facts(birthday=birthday), date(2026, 12, 30), date(2027, 3, 1), RULES)
    assert (Occasion.BIRTHDAY, expected) in [(d.occasion, d.day) for d in later]


def test_29_february_is_greeted_on_the_28th_in_common_years() -> None:
    birthday = ParsedDate(1992, 2, 29)
    common = occasions(Facts(birthday=birthday), date(2027, 2, 25), date(2027, 3, 3), RULES)
    leap = occasions(Facts(birthday=birthday), date(2028, 2, 25), date(2028, 3, 3), RULES)
    assert [d.day for d in common if d.occasion is Occasion.BIRTHDAY] == [date(2027, 2, 28)]
    assert [d.day for d in leap if d.occasion is Occasion.BIRTHDAY] == [date(2028, 2, 29)]


def test_chinese_festivals_come_from_the_calendar() -> None:
    found = {o: d for d, o, _ in festivals_between("CN", (), date(2027, 1, 1), date(2027, 12, 31))}
    assert found[Occasion.NEW_YEAR] == date(2027, 1, 1)
    assert found[Occasion.SPRING_FESTIVAL] == _solar(2027, 1, 1) == date(2027, 2, 6)
    assert found[Occasion.LANTERN] == _solar(2027, 1, 15)
    assert found[Occasion.DRAGON_BOAT] == _solar(2027, 5, 5)
    assert found[Occasion.MID_AUTUMN] == _solar(2027, 8, 15)
    assert found[Occasion.NATIONAL_DAY] == date(2027, 10, 1)
    other = festivals_between("US", ("Christmas Day",), date(2026, 12, 1), date(2026, 12, 31))
    assert other == [(date(2026, 12, 25), Occasion.HOLIDAY, "Christmas Day")]


def test_follow_ups_and_anniversaries_of_purchases() -> None:
    facts = Facts(purchases=((date(2026, 11, 20), "防水涂料"), (date(2024, 11, 25), "样品")))
    found = occasions(facts, date(2026, 11, 23), date(2026, 11, 30), RULES)
    assert [(d.occasion, d.day) for d in found] == [
        (Occasion.ANNIVERSARY, date(2026, 11, 25)),
        (Occasion.FOLLOWUP_3, date(2026, 11, 23)),
    ]
    assert found[0].params == {"years": 2} and found[1].params == {"items": "防水涂料"}


def test_team_rules_switch_occasions_off_and_festivals_via_rep_only_for_a_grade() -> None:
    rules = CareRules.from_settings({"care": {"occasions": {"mid_autumn": False}, "send_hour": 9}})
    assert rules.send_hour == 9 and Occasion.MID_AUTUMN.value not in rules.occasions
    assert occasions(Facts(), date(2026, 9, 20), date(2026, 9, 30), rules) == []
    assert occasions(Facts(grade="B", via_rep=True), date(2026, 9, 20), date(2026, 9, 30), RULES) == []
    assert [
        d.occasion
        for d in occasions(Facts(grade="A", via_rep=True), date(2026, 9, 20), date(2026, 9, 30), RULES)
    ] == [Occasion.MID_AUTUMN]
    assert CareRules.from_settings({"care": {"send_hour": 99, "country": "Atlantis"}}) == CareRules()


def test_send_time_is_the_local_send_hour_and_quiet_hours_hold_in_each_timezone() -> None:
    day = date(2026, 11, 23)
    assert send_time(day, zone("Asia/Shanghai", "UTC"), RULES) == datetime(2026, 11, 23, 2, tzinfo=UTC)
    assert send_time(day, zone("America/New_York", "UTC"), RULES) == datetime(2026, 11, 23, 15, tzinfo=UTC)
    late = CareRules(send_hour=22)  # inside the quiet hours: moved to their end
    assert send_time(day, zone("Asia/Shanghai", "UTC"), late) == datetime(2026, 11, 23, 0, tzinfo=UTC)
    assert is_quiet(23, RULES) and is_quiet(3, RULES) and not is_quiet(8, RULES) and not is_quiet(20, RULES)
    # 14:00 UTC is 22:00 in Shanghai (quiet: wait for 08:00) but 09:00 in New York (fine).
    moment = datetime(2026, 11, 23, 14, tzinfo=UTC)
    assert next_allowed(moment, zone("Asia/Shanghai", "UTC"), RULES) == datetime(2026, 11, 24, 0, tzinfo=UTC)
    assert next_allowed(moment, zone("America/New_York", "UTC"), RULES) == moment
    assert zone("Not/AZone", "Asia/Shanghai").key == "Asia/Shanghai"


def test_a_message_is_in_the_customers_language_else_the_reps_else_the_teams() -> None:
    assert message_language("en", "zh", "zh") == "en"
    assert message_language(None, "en", "zh") == "en"
    assert message_language(None, None, "en") == "en"
    assert message_language("", "", "zh") == "zh"


def test_what_a_purchase_was_comes_from_the_teams_words_then_the_card() -> None:
    rules = CareRules.from_settings({"care": {"consumables": ["涂料", "Toner"], "durables": ["设备", " "]}})
    assert rules.consumables == ("涂料", "toner") and rules.durables == ("设备",)
    assert purchase_kind("防水涂料 50 桶", None, rules) == "consumable"
    assert purchase_kind("HP toner x4", "durable", rules) == "consumable", "the purchase speaks first"
    assert purchase_kind("中央厨房设备", "consumable", rules) == "durable"
    assert purchase_kind("维保套餐", "consumable", rules) == "consumable", "else the card"
    assert purchase_kind("维保套餐", None, rules) == "", "nothing says: no restock presumed"
    assert purchase_kind("维保套餐", "nonsense", RULES) == ""


def test_the_90_day_follow_up_says_what_was_bought_and_the_others_do_not_need_it() -> None:
    bought = date(2026, 8, 25)
    facts = Facts(purchases=((bought, "中央厨房设备"),), buys="durable")
    found = occasions(facts, date(2026, 8, 26), date(2026, 12, 1), RULES)
    params = {d.occasion: dict(d.params) for d in found}
    assert params[Occasion.FOLLOWUP_90] == {"items": "中央厨房设备", "kind": "durable"}
    assert params[Occasion.FOLLOWUP_30] == {"items": "中央厨房设备"}
    unknown = occasions(Facts(purchases=((bought, "x"),)), date(2026, 11, 23), date(2026, 11, 23), RULES)
    assert [dict(d.params) for d in unknown] == [{"items": "x", "kind": ""}]


RESTOCK = {"zh": ("补货", "再订"), "en": ("top up", "re-order", "restock")}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("items", ["维保套餐", ""])
def test_care_texts_presume_a_restock_only_for_consumables(lang: str, items: str) -> None:
    texts = catalogue()
    base = {"name": "郑浩", "rep": "王芳", "company": "Alpha", "items": items, "years": 1}

    def text(occasion: str, **extra: str) -> str:
        return texts.text(lang, f"plain.care.{occasion}", **{**base, **extra})

    assert any(word in text("followup_90", kind="consumable") for word in RESTOCK[lang])
    for kind in ("durable", ""):
        said = text("followup_90", kind=kind)
        assert not any(word in said for word in RESTOCK[lang]), said
        assert items in said and "郑浩" in said
    assert text("followup_90", kind="") != text("followup_90", kind="durable")
    for occasion in ("followup_3", "followup_30", "anniversary"):
        assert not any(word in text(occasion) for word in RESTOCK[lang]), occasion


def test_two_purchases_on_one_day_make_one_follow_up_naming_both() -> None:
    day = date(2026, 11, 20)
    facts = Facts(purchases=((day, "防水涂料"), (day, "刷子"), (day, "防水涂料")))
    found = occasions(facts, date(2026, 11, 23), date(2026, 11, 23), RULES)
    assert [(d.occasion, dict(d.params)) for d in found] == [
        (Occasion.FOLLOWUP_3, {"items": ("刷子", "防水涂料")})
    ]
    rules = CareRules(consumables=("涂料",))
    later = occasions(facts, date(2027, 2, 18), date(2027, 2, 18), rules)
    assert [dict(d.params) for d in later] == [{"items": ("刷子", "防水涂料"), "kind": "consumable"}]
