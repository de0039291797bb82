"""A team's working days (bot.domain.workdays): computed dates skip days off."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.workdays import DEFAULT, WorkWeek, next_working_day, shift_for, work_week

SATURDAY = date(2026, 11, 28)
SUNDAY = date(2026, 11, 29)
MONDAY = date(2026, 11, 30)


@pytest.mark.parametrize(
    ("day", "week", "expected"),
    [
        (SATURDAY, WorkWeek.MON_FRI, MONDAY),
        (SUNDAY, WorkWeek.MON_FRI, MONDAY),
        (MONDAY, WorkWeek.MON_FRI, MONDAY),
        (SATURDAY, WorkWeek.MON_SAT, SATURDAY),
        (SUNDAY, WorkWeek.MON_SAT, MONDAY),
        (SUNDAY, WorkWeek.EVERY_DAY, SUNDAY),
        (SUNDAY, WorkWeek.OFFICIAL, MONDAY),
        # The official calendar: the National Day holiday, then back to work…
        (date(2026, 10, 3), WorkWeek.OFFICIAL, date(2026, 10, 8)),
        (date(2026, 10, 3), WorkWeek.MON_FRI, date(2026, 10, 5)),
        # …and a Saturday worked instead of a holiday (调休) is a working day.
        (date(2026, 2, 14), WorkWeek.OFFICIAL, date(2026, 2, 14)),
        (date(2026, 2, 16), WorkWeek.OFFICIAL, date(2026, 2, 24)),  # the Spring Festival week
    ],
)
def test_next_working_day(day: date, week: WorkWeek, expected: date) -> None:
    assert next_working_day(day, week) == expected


def test_the_setting_and_its_default() -> None:
    assert DEFAULT is WorkWeek.OFFICIAL
    assert work_week({}) is WorkWeek.OFFICIAL
    assert work_week({"workdays": "mon_sat"}) is WorkWeek.MON_SAT
    assert work_week({"workdays": "fortnightly"}) is WorkWeek.OFFICIAL
    assert work_week({"workdays": ["mon"]}) is WorkWeek.OFFICIAL
    assert shift_for({}, SUNDAY) == MONDAY
    assert shift_for({"workdays": "every_day"}, SUNDAY) == SUNDAY
    # A team greeting German customers has Germany's holidays: 25 and 26 December, then a weekend.
    assert shift_for({"care": {"country": "de"}}, date(2026, 12, 25)) == date(2026, 12, 28)
