"""A member's own time of day (the practice reminder) kept out of the team's quiet hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.domain.care import CareRules, own_time

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("quiet", "at", "local"),
    [
        ((21, 8), time(20, 0), time(20, 0)),  # outside: as chosen
        ((21, 8), time(8, 0), time(8, 0)),  # the first minute allowed
        ((21, 8), time(6, 15), time(8, 0)),  # early morning: when quiet ends
        ((21, 8), time(0, 30), time(8, 0)),
        ((21, 8), time(21, 0), time(20, 0)),  # late evening: the hour before quiet begins
        ((21, 8), time(22, 30), time(20, 30)),
        ((12, 14), time(13, 15), time(14, 0)),  # quiet hours within the day: when they end
        ((22, 7), time(6, 59), time(7, 0)),
    ],
)
def test_a_time_in_quiet_hours_moves_out_of_them_on_the_same_day(
    quiet: tuple[int, int], at: time, local: time
) -> None:
    rules = CareRules(quiet_start=quiet[0], quiet_end=quiet[1])
    moment = own_time(DAY, at, SHANGHAI, rules)
    assert moment.tzinfo is UTC
    assert moment.astimezone(SHANGHAI) == datetime.combine(DAY, local, tzinfo=SHANGHAI)
