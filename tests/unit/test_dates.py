"""Tests for bot.domain.dates: parsing, formatting and yearly/lunar occurrences."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import pytest
from lunar_python import Lunar

from bot.domain.dates import (
    DateParseError,
    ParsedDate,
    When,
    format_date,
    parse_date,
    parse_when,
    split_reminder,
)

MONDAY = date(2026, 11, 23)  # a Monday
FRIDAY = date(2026, 11, 27)
SUNDAY = date(2026, 11, 29)


def solar(year: int | None, month: int, day: int) -> ParsedDate:
    """An absolute solar date as the parser should return it."""
    return ParsedDate(year, month, day)


def rel(year: int, month: int, day: int) -> ParsedDate:
    """A relative date resolved against MONDAY."""
    return ParsedDate(year, month, day, relative=True)


def lunar(year: int | None, month: int, day: int, *, leap: bool = False) -> ParsedDate:
    """A lunar date as the parser should return it."""
    return ParsedDate(year, month, day, lunar=True, leap_month=leap)


def lunar_solar(year: int, month: int, day: int) -> date:
    """Lunar -> solar straight from lunar_python's Lunar class (negative month = leap)."""
    s = Lunar.fromYmd(year, month, day).getSolar()
    return date(s.getYear(), s.getMonth(), s.getDay())


# PRODUCT.md's list first, then variants, all against Monday 2026-11-23.
FORMS: list[tuple[str, ParsedDate]] = [
    ("1990-05-17", solar(1990, 5, 17)),
    ("1990/5/17", solar(1990, 5, 17)),
    ("17.05", solar(None, 5, 17)),
    ("17.05.1990", solar(1990, 5, 17)),
    ("5月17日", solar(None, 5, 17)),
    ("1990年5月17日", solar(1990, 5, 17)),
    ("农历八月十五", lunar(None, 8, 15)),
    ("阴历正月初一", lunar(None, 1, 1)),
    ("农历1990年八月十五", lunar(1990, 8, 15)),
    ("农历闰四月初八", lunar(None, 4, 8, leap=True)),
    ("tomorrow", rel(2026, 11, 24)),
    ("today", rel(2026, 11, 23)),
    ("明天", rel(2026, 11, 24)),
    ("后天", rel(2026, 11, 25)),
    ("今天", rel(2026, 11, 23)),
    ("in 3 days", rel(2026, 11, 26)),
    ("3天后", rel(2026, 11, 26)),
    ("三天后", rel(2026, 11, 26)),
    ("下周一", rel(2026, 11, 30)),
    ("周五", rel(2026, 11, 27)),
    ("星期五", rel(2026, 11, 27)),
    ("friday", rel(2026, 11, 27)),
    ("next friday", rel(2026, 12, 4)),
    ("May 17", solar(None, 5, 17)),
    ("17 May 1990", solar(1990, 5, 17)),
    ("in 2 weeks", rel(2026, 12, 7)),
    ("2周后", rel(2026, 12, 7)),
    ("下个月", rel(2026, 12, 23)),
    ("next month", rel(2026, 12, 23)),
    # Full-width digits, punctuation and spaces.
    ("１９９０－０５－１７", solar(1990, 5, 17)),
    ("１７．０５", solar(None, 5, 17)),
    ("\u3000５ 月 １７ 日\u3000", solar(None, 5, 17)),
    ("  Tomorrow  ", rel(2026, 11, 24)),
    # Numeric variants.
    ("17.05.", solar(None, 5, 17)),
    ("17/05/1990", solar(1990, 5, 17)),
    ("17.05.90", solar(1990, 5, 17)),
    ("1990.5.17", solar(1990, 5, 17)),
    ("19900517", solar(1990, 5, 17)),
    ("29.02", solar(None, 2, 29)),
    # Chinese solar variants.
    ("5月17号", solar(None, 5, 17)),
    ("十月一日", solar(None, 10, 1)),
    ("一九九〇年五月十七日", solar(1990, 5, 17)),
    # Lunar variants; 正/冬/腊 months and 初 days imply lunar.
    ("1990年农历八月十五", lunar(1990, 8, 15)),
    ("农历8月15", lunar(None, 8, 15)),
    ("腊月廿三", lunar(None, 12, 23)),
    ("正月十五", lunar(None, 1, 15)),
    ("农历冬月初一", lunar(None, 11, 1)),
    ("农历2020年闰四月初八", lunar(2020, 4, 8, leap=True)),
    ("Lunar month 8, day 15", lunar(None, 8, 15)),
    ("Lunar leap month 4, day 8", lunar(None, 4, 8, leap=True)),
    ("lunar 8/15", lunar(None, 8, 15)),
    # Relative variants.
    ("大后天", rel(2026, 11, 26)),
    ("昨天", rel(2026, 11, 22)),
    ("两周后", rel(2026, 12, 7)),
    ("3天以后", rel(2026, 11, 26)),
    ("十天后", rel(2026, 12, 3)),
    ("三个月后", rel(2027, 2, 23)),
    ("2个星期之后", rel(2026, 12, 7)),
    ("3天前", rel(2026, 11, 20)),
    ("3 days", rel(2026, 11, 26)),
    ("2 weeks from today", rel(2026, 12, 7)),
    ("明天上午", rel(2026, 11, 24)),
    # English month names, yearless and with a year.
    ("17th of May", solar(None, 5, 17)),
    ("May 17, 1990", solar(1990, 5, 17)),
    ("29 Feb", solar(None, 2, 29)),
    # Weekdays: plain = strictly after today, next/下周 = next calendar week,
    # this/本周 = this calendar week.
    ("周一", rel(2026, 11, 30)),
    ("下周五", rel(2026, 12, 4)),
    ("下星期五", rel(2026, 12, 4)),
    ("下下周一", rel(2026, 12, 7)),
    ("本周五", rel(2026, 11, 27)),
    ("这周日", rel(2026, 11, 29)),
    ("上周五", rel(2026, 11, 20)),
    ("周天", rel(2026, 11, 29)),
    ("礼拜天", rel(2026, 11, 29)),
    ("this friday", rel(2026, 11, 27)),
    ("Tue", rel(2026, 11, 24)),
    ("next mon", rel(2026, 11, 30)),
]


@pytest.mark.parametrize(("text", "expected"), FORMS)
def test_parse_forms(text: str, expected: ParsedDate) -> None:
    assert parse_date(text, today=MONDAY) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "abc",
        "32.01",
        "13.13",
        "31.04",
        "2023-02-29",
        "0000-01-01",
        "农历十三月初一",
        "农历2023年闰四月初八",  # 2023's leap month is the 2nd
        "农历2026年腊月三十",  # that 腊月 has 29 days
        "农历1899年正月初一",  # before the supported lunar range
        "初十一月一日",
        "公历正月初一",
        "1990年1990年5月17日",
        "x" * 5000,
        "1" * 101,
        "🎂",
        "🎂🎉",
        "12",
        "17:05",
        "5/17",  # month 17: numbers are day-first
        "05/17/1990",
        "1990年",
        "5月",
        "May",
        "1990",
        "a",
        "we",
        "3pm",
        "hello world",
        "in 99999999 days",
        "17 мая",
    ],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(DateParseError) as caught:
        parse_date(text, today=MONDAY)
    assert caught.value.text == text
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        # On a Friday, plain "Friday" is a week ahead; "this" is today.
        ("周五", FRIDAY, date(2026, 12, 4)),
        ("friday", FRIDAY, date(2026, 12, 4)),
        ("next friday", FRIDAY, date(2026, 12, 4)),
        ("下周五", FRIDAY, date(2026, 12, 4)),
        ("本周五", FRIDAY, date(2026, 11, 27)),
        ("this friday", FRIDAY, date(2026, 11, 27)),
        # On a Sunday the next calendar week starts tomorrow.
        ("下周一", SUNDAY, date(2026, 11, 30)),
        ("monday", SUNDAY, date(2026, 11, 30)),
        ("本周一", SUNDAY, date(2026, 11, 23)),
        # Across the year boundary.
        ("tomorrow", date(2026, 12, 31), date(2027, 1, 1)),
        ("周一", date(2026, 12, 31), date(2027, 1, 4)),
    ],
)
def test_weekday_rule(text: str, today: date, expected: date) -> None:
    parsed = parse_date(text, today=today)
    assert parsed.relative
    assert parsed.to_date() == expected


def test_relative_uses_injected_today() -> None:
    assert parse_date("明天", today=date(2000, 2, 28)).to_date() == date(2000, 2, 29)
    assert parse_date("next month", today=date(2027, 1, 31)).to_date() == date(2027, 2, 28)


def test_yearless_past_date_keeps_no_year() -> None:
    # 17 May has passed on 23 November; the parser still says "17 May".
    assert parse_date("17.05", today=MONDAY).year is None


@pytest.mark.parametrize(
    ("parsed", "today", "expected"),
    [
        (solar(None, 5, 17), MONDAY, date(2027, 5, 17)),  # passed: next year
        (solar(None, 12, 25), MONDAY, date(2026, 12, 25)),
        (solar(None, 11, 23), MONDAY, date(2026, 11, 23)),  # today counts
        (solar(None, 1, 1), date(2026, 12, 31), date(2027, 1, 1)),
        (solar(1990, 5, 17), MONDAY, date(1990, 5, 17)),  # dated: itself
        (rel(2026, 11, 24), MONDAY, date(2026, 11, 24)),
        (lunar(1990, 8, 15), MONDAY, lunar_solar(1990, 8, 15)),
    ],
)
def test_next_occurrence_solar(parsed: ParsedDate, today: date, expected: date) -> None:
    assert parsed.next_occurrence(today) == expected


def test_lunar_birthdays_verified_with_lunar_python() -> None:
    mid_autumn = parse_date("农历八月十五", today=MONDAY)
    new_year = parse_date("阴历正月初一", today=MONDAY)
    assert lunar_solar(2026, 8, 15) == date(2026, 9, 25)
    assert lunar_solar(2027, 1, 1) == date(2027, 2, 6)
    assert mid_autumn.solar_in_year(2026) == date(2026, 9, 25)
    assert new_year.solar_in_year(2027) == date(2027, 2, 6)
    # 23 Nov 2026 is after this year's Mid-Autumn and before Spring Festival.
    assert mid_autumn.next_occurrence(MONDAY) == lunar_solar(2027, 8, 15)
    assert new_year.next_occurrence(MONDAY) == date(2027, 2, 6)
    assert parse_date("农历1990年八月十五", today=MONDAY).to_date() == date(1990, 10, 3)


def test_lunar_december_dates_fall_in_the_next_solar_year() -> None:
    little_new_year = lunar(None, 12, 23)  # 腊月廿三 of lunar 2026 is in January 2027
    assert little_new_year.solar_in_year(2027) == lunar_solar(2026, 12, 23)
    assert little_new_year.solar_in_year(2027).year == 2027
    assert little_new_year.next_occurrence(MONDAY) == lunar_solar(2026, 12, 23)


def test_lunar_solar_in_year_double_and_empty_years() -> None:
    # 腊月初一 fell on 2022-01-03 and again on 2022-12-23, and not at all in 2023.
    first = lunar(None, 12, 1)
    assert lunar_solar(2021, 12, 1) == date(2022, 1, 3)
    assert lunar_solar(2022, 12, 1) == date(2022, 12, 23)
    assert first.solar_in_year(2022) == date(2022, 1, 3)  # usually the January one
    assert first.solar_in_year(2023) == date(2022, 12, 23)  # the one 2022 left over
    assert first.solar_in_year(2021).year == 2021
    assert first.next_occurrence(date(2022, 1, 4)) == date(2022, 12, 23)


def test_lunar_leap_month_fallback() -> None:
    leap = parse_date("农历闰四月初八", today=MONDAY)
    # 2020 had a leap 4th month; 2026 and 2027 do not, so the ordinary one is used.
    assert leap.solar_in_year(2020) == lunar_solar(2020, -4, 8)
    assert leap.solar_in_year(2020) != lunar_solar(2020, 4, 8)
    assert leap.solar_in_year(2026) == lunar_solar(2026, 4, 8)
    assert leap.next_occurrence(MONDAY) == lunar_solar(2027, 4, 8)


def test_lunar_day_30_fallback() -> None:
    # The 8th month of lunar 2026 and the 12th of lunar 2026 have 29 days.
    assert lunar(None, 8, 30).solar_in_year(2026) == lunar_solar(2026, 8, 29)
    new_years_eve = parse_date("农历腊月三十", today=MONDAY)
    assert new_years_eve.next_occurrence(MONDAY) == lunar_solar(2026, 12, 29)


def test_29_february() -> None:
    leap_day = parse_date("29.02", today=MONDAY)
    assert leap_day.next_occurrence(date(2027, 1, 10)) == date(2027, 2, 28)
    assert leap_day.next_occurrence(date(2027, 3, 1)) == date(2028, 2, 29)
    assert leap_day.solar_in_year(2027) == date(2027, 2, 28)
    assert leap_day.solar_in_year(2028) == date(2028, 2, 29)
    assert parse_date("2024-02-29", today=MONDAY).to_date() == date(2024, 2, 29)


def test_solar_in_year_uses_month_and_day_only() -> None:
    assert solar(1990, 5, 17).solar_in_year(2026) == date(2026, 5, 17)
    assert lunar(1990, 8, 15).solar_in_year(2026) == date(2026, 9, 25)


def test_to_date_needs_a_year() -> None:
    with pytest.raises(DateParseError):
        solar(None, 5, 17).to_date()


@pytest.mark.parametrize(
    "fields",
    [
        {"year": None, "month": 13, "day": 1},
        {"year": None, "month": 4, "day": 31},
        {"year": 2023, "month": 2, "day": 29},
        {"year": None, "month": 5, "day": 17, "leap_month": True},
        {"year": None, "month": 5, "day": 17, "relative": True},
        {"year": None, "month": 8, "day": 31, "lunar": True},
    ],
)
def test_parsed_date_refuses_impossible_fields(fields: dict[str, int | bool | None]) -> None:
    with pytest.raises(ValueError):
        ParsedDate(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("parsed", "zh", "en"),
    [
        (solar(1990, 5, 17), "1990年5月17日", "17 May 1990"),
        (solar(None, 5, 17), "5月17日", "17 May"),
        (lunar(None, 8, 15), "农历八月十五", "Lunar month 8, day 15"),
        (lunar(None, 4, 8, leap=True), "农历闰四月初八", "Lunar leap month 4, day 8"),
        (lunar(1990, 8, 15), "农历1990年八月十五", "Lunar month 8, day 15, 1990"),
        (lunar(None, 1, 1), "农历正月初一", "Lunar month 1, day 1"),
        (lunar(None, 12, 23), "农历腊月廿三", "Lunar month 12, day 23"),
        (rel(2026, 11, 24), "2026年11月24日", "24 November 2026"),
    ],
)
def test_format_date(parsed: ParsedDate, zh: str, en: str) -> None:
    assert format_date(parsed, "zh") == zh
    assert format_date(parsed, "zh-hans") == zh
    assert format_date(parsed, "en") == en
    # What we print parses back to the same date (minus the relative flag).
    for text in (zh, en):
        again = parse_date(text, today=MONDAY)
        assert (again.year, again.month, again.day, again.lunar, again.leap_month) == (
            parsed.year,
            parsed.month,
            parsed.day,
            parsed.lunar,
            parsed.leap_month,
        )


def test_cheap_forms_do_not_import_dateparser() -> None:
    # dateparser costs ~0.1 s to import; exact patterns must not pay for it.
    code = (
        "import sys; from datetime import date; from bot.domain.dates import parse_date\n"
        "for t in ['1990-05-17', '17.05', '5月17日', '农历八月十五', '下周一', 'friday']:\n"
        "    parse_date(t, today=date(2026, 11, 23))\n"
        "assert 'dateparser' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_past_weekdays_for_things_that_happened() -> None:
    monday = date(2026, 11, 23)
    assert parse_date("周五", today=monday, past=True).to_date() == date(2026, 11, 20)
    assert parse_date("friday", today=monday, past=True).to_date() == date(2026, 11, 20)
    assert parse_date("周一", today=monday, past=True).to_date() == monday
    assert parse_date("下周五", today=monday, past=True).to_date() == date(2026, 12, 4)


# ---------------------------------------------------------------- periods, festivals, times of day

# Against Monday 2026-11-23, like FORMS.
PERIODS: list[tuple[str, ParsedDate]] = [
    ("下个月初", rel(2026, 12, 1)),
    ("下月初", rel(2026, 12, 1)),
    ("月初", rel(2026, 12, 1)),
    ("early next month", rel(2026, 12, 1)),
    ("beginning of next month", rel(2026, 12, 1)),
    ("月底", rel(2026, 11, 30)),
    ("月底前", rel(2026, 11, 30)),
    ("本月底", rel(2026, 11, 30)),
    ("这个月底", rel(2026, 11, 30)),
    ("月末", rel(2026, 11, 30)),
    ("end of the month", rel(2026, 11, 30)),
    ("end of month", rel(2026, 11, 30)),
    ("by the end of this month", rel(2026, 11, 30)),
    ("下个月底", rel(2026, 12, 31)),
    ("end of next month", rel(2026, 12, 31)),
    ("下个月中", rel(2026, 12, 15)),
    ("mid next month", rel(2026, 12, 15)),
    ("年底", rel(2026, 12, 31)),
    ("end of the year", rel(2026, 12, 31)),
    # 2027's holiday schedule is not published yet: the Spring Festival holiday is
    # taken to run to 初七 (12 February), then the weekend; National Day to 7 October.
    ("春节后", rel(2027, 2, 15)),
    ("过年后", rel(2027, 2, 15)),
    ("年后", rel(2027, 2, 15)),
    ("after spring festival", rel(2027, 2, 15)),
    ("after Chinese New Year", rel(2027, 2, 15)),
    ("春节前", rel(2027, 2, 4)),
    ("国庆后", rel(2027, 10, 8)),
    ("十一后", rel(2027, 10, 8)),
    ("国庆节以后", rel(2027, 10, 8)),
    ("after national day", rel(2027, 10, 8)),
    ("after the National Day holiday", rel(2027, 10, 8)),
    ("元旦后", rel(2027, 1, 4)),  # 1 January 2027 is a Friday
]


@pytest.mark.parametrize(("text", "expected"), PERIODS)
def test_parse_periods_and_festivals(text: str, expected: ParsedDate) -> None:
    assert parse_date(text, today=MONDAY) == expected


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        # On the last day of the month, 月底 is today; early next month is still ahead.
        ("月底", date(2026, 11, 30), date(2026, 11, 30)),
        ("end of the month", date(2026, 11, 30), date(2026, 11, 30)),
        ("下个月初", date(2026, 12, 31), date(2027, 1, 1)),
        ("月底", date(2027, 2, 1), date(2027, 2, 28)),
        ("下个月底", date(2027, 1, 31), date(2027, 2, 28)),
        ("月初", date(2026, 12, 1), date(2026, 12, 1)),
        # Published schedules, make-up working days (调休) included.
        ("国庆后", date(2026, 9, 1), date(2026, 10, 8)),  # off 1-7 October 2026
        ("国庆后", date(2025, 9, 1), date(2025, 10, 9)),  # with Mid-Autumn: off 1-8 October 2025
        ("春节后", date(2026, 1, 10), date(2026, 2, 24)),  # off 15-23 February 2026
        ("春节前", date(2026, 1, 10), date(2026, 2, 14)),  # a Saturday worked instead (调休)
        ("五一后", date(2026, 4, 1), date(2026, 5, 6)),
        # Inside the holiday, "after" is still the first working day after it.
        ("春节后", date(2026, 2, 18), date(2026, 2, 24)),
        # Once it has passed, the next year's.
        ("国庆后", date(2026, 10, 9), date(2027, 10, 8)),
    ],
)
def test_period_rules(text: str, today: date, expected: date) -> None:
    parsed = parse_date(text, today=today)
    assert parsed.relative
    assert parsed.to_date() == expected


def test_past_festivals_for_things_that_happened() -> None:
    assert parse_date("春节后", today=date(2026, 3, 10), past=True).to_date() == date(2026, 2, 24)
    assert parse_date("国庆后", today=date(2026, 11, 23), past=True).to_date() == date(2026, 10, 8)


WHENS: list[tuple[str, date, str | None]] = [
    ("下周二上午", date(2026, 12, 1), "morning"),
    ("下周二 上午", date(2026, 12, 1), "morning"),
    ("明天上午", date(2026, 11, 24), "morning"),
    ("明天早上", date(2026, 11, 24), "morning"),
    ("明天中午", date(2026, 11, 24), "noon"),
    ("明天下午", date(2026, 11, 24), "afternoon"),
    ("明天晚上", date(2026, 11, 24), "evening"),
    ("今晚", date(2026, 11, 23), "evening"),
    ("明天10点", date(2026, 11, 24), "10:00"),
    ("明天上午10点半", date(2026, 11, 24), "10:30"),
    ("明天下午3点", date(2026, 11, 24), "15:00"),
    ("明天下午三点", date(2026, 11, 24), "15:00"),
    ("明天晚上8点", date(2026, 11, 24), "20:00"),
    ("明天中午12点", date(2026, 11, 24), "12:00"),
    ("周五15:30", date(2026, 11, 27), "15:30"),
    ("5月17日 9:05", date(2027, 5, 17), "09:05"),
    ("下午3点", date(2026, 11, 23), "15:00"),  # a time alone is today
    ("晚上", date(2026, 11, 23), "evening"),
    ("月底", date(2026, 11, 30), None),
    ("明天", date(2026, 11, 24), None),
    ("next tuesday morning", date(2026, 12, 1), "morning"),
    ("tomorrow afternoon", date(2026, 11, 24), "afternoon"),
    ("tomorrow at 3pm", date(2026, 11, 24), "15:00"),
    ("tomorrow 10am", date(2026, 11, 24), "10:00"),
    ("friday at 15:30", date(2026, 11, 27), "15:30"),
    ("tonight", date(2026, 11, 23), "evening"),
    ("end of the month", date(2026, 11, 30), None),
]


@pytest.mark.parametrize(("text", "day", "time"), WHENS)
def test_parse_when_keeps_the_time_of_day(text: str, day: date, time: str | None) -> None:
    assert parse_when(text, today=MONDAY) == When(day, time)


def test_a_date_with_a_time_of_day_is_still_a_date() -> None:
    # Playbook date steps and card fields read the day and ignore the time.
    assert parse_date("下周二上午", today=MONDAY) == rel(2026, 12, 1)
    assert parse_date("next tuesday morning", today=MONDAY) == rel(2026, 12, 1)
    assert parse_date("5月17日下午3点", today=MONDAY) == solar(None, 5, 17)


@pytest.mark.parametrize("text", ["上午", "下午3点", "25点", "明天25点", "明天10:75", "3pm", "morning"])
def test_a_time_alone_or_an_impossible_time_is_no_date(text: str) -> None:
    with pytest.raises(DateParseError):
        parse_date(text, today=MONDAY)


@pytest.mark.parametrize("text", ["明天25点", "明天10:75", "25:00", "明天abc", ""])
def test_parse_when_refuses_impossible_times(text: str) -> None:
    with pytest.raises(DateParseError):
        parse_when(text, today=MONDAY)


@pytest.mark.parametrize(
    ("typed", "when", "what"),
    [
        ("下周二上午给张伟打电话", When(date(2026, 12, 1), "morning"), "给张伟打电话"),
        ("明天下午3点 送样品", When(date(2026, 11, 24), "15:00"), "送样品"),
        ("下个月初回访刘洋", When(date(2026, 12, 1)), "回访刘洋"),
        ("月底前交报价", When(date(2026, 11, 30)), "交报价"),
        ("春节后拜访李总", When(date(2027, 2, 15)), "拜访李总"),
        ("next tuesday morning call Anna", When(date(2026, 12, 1), "morning"), "call Anna"),
        ("tomorrow at 3pm send the quote", When(date(2026, 11, 24), "15:00"), "send the quote"),
        ("end of the month invoice Bob", When(date(2026, 11, 30)), "invoice Bob"),
        ("明天给张伟打电话", When(date(2026, 11, 24)), "给张伟打电话"),
        # Words dateparser would skip stay in what to do.
        ("后天约刘洋吃饭", When(date(2026, 11, 25)), "约刘洋吃饭"),
        ("tomorrow the quote for Bob", When(date(2026, 11, 24)), "the quote for Bob"),
        ("friday at 3pm lunch with Anna", When(date(2026, 11, 27), "15:00"), "lunch with Anna"),
    ],
)
def test_split_reminder(typed: str, when: When, what: str) -> None:
    assert split_reminder(typed, today=MONDAY) == (when, what)


def test_split_reminder_needs_a_date_and_something_to_do() -> None:
    assert split_reminder("给张伟打电话", today=MONDAY) is None
    assert split_reminder("明天上午", today=MONDAY) is None
