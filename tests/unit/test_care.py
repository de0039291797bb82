"""Care occasions and send times, without a database or Telegram."""

from __future__ import annotations

from datetime import UTC, date, datetime

from lunar_python import Lunar

from bot.domain.care import (
    CareRules,
    Facts,
    Occasion,
    festivals_between,
    is_quiet,
    next_allowed,
    occasions,
    send_time,
    zone,
)
from bot.domain.dates import ParsedDate

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
