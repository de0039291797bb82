"""What a parsed date is (`ParsedDate`: solar or lunar, with or without a year),
and the lunar calendar arithmetic."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, Final

from lunar_python import LunarMonth, Solar

MAX_INPUT_LENGTH: Final = 100

# lunar_python computes far outside this range, but its astronomy drifts and
# dates before 1583 come back in the Julian calendar, which `datetime.date`
# would misread. 1900-2100 is the range lunar calendars are published for.
LUNAR_MIN_YEAR: Final = 1900
LUNAR_MAX_YEAR: Final = 2100

_EN_MONTHS: Final = (
    "",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class DateParseError(ValueError):
    """The text is not a date we understand; `.text` holds the input, never user-facing text."""

    def __init__(self, text: str) -> None:
        # Keep the message short: the input may be 5,000 characters of junk.
        super().__init__(f"unrecognised date: {text[:MAX_INPUT_LENGTH]!r}")
        self.text = text


@dataclass(frozen=True)
class ParsedDate:
    """A date as the user gave it: maybe without a year, maybe in the lunar calendar."""

    year: int | None
    month: int
    day: int
    lunar: bool = False
    leap_month: bool = False
    relative: bool = False

    def __post_init__(self) -> None:
        """Refuse impossible field combinations (a programming error, hence ValueError)."""
        if not 1 <= self.month <= 12:
            raise ValueError(f"month out of range: {self.month}")
        if self.leap_month and not self.lunar:
            raise ValueError("leap_month needs lunar=True")
        if self.relative and self.year is None:
            raise ValueError("a relative date always has a year")
        if self.lunar:
            if not 1 <= self.day <= 30:
                raise ValueError(f"lunar day out of range: {self.day}")
            if self.year is not None:
                # Raises when the month (or leap month) or day 30 does not exist that year.
                _lunar_to_solar(self.year, self.month, self.day, self.leap_month, exact=True)
        elif self.year is None:
            # 2000 is a leap year, so a yearless 29 February is allowed.
            date(2000, self.month, self.day)
        else:
            date(self.year, self.month, self.day)

    def to_date(self) -> date:
        """The solar date; raises DateParseError when no year was given."""
        if self.year is None:
            raise DateParseError(f"{self.month}-{self.day} has no year")
        if self.lunar:
            return _lunar_to_solar(self.year, self.month, self.day, self.leap_month, exact=True)
        return date(self.year, self.month, self.day)

    def next_occurrence(self, today: date) -> date:
        """The next occurrence on or after `today` as a solar date; with a year, the date itself."""
        if self.year is not None:
            return self.to_date()
        if self.lunar:
            # Lunar year Y runs from late Jan/Feb of Y into Jan/Feb of Y+1, so
            # the occurrence nearest after `today` lies in one of these three.
            candidates = (self._in_lunar_year(y) for y in range(today.year - 1, today.year + 2))
            return min(d for d in candidates if d >= today)
        this_year = self._in_solar_year(today.year)
        return this_year if this_year >= today else self._in_solar_year(today.year + 1)

    def solar_in_year(self, year: int) -> date:
        """The anniversary in solar `year` (the year the date was given with is ignored).

        Solar: the same month and day (29 February -> 28 February in common years).
        Lunar: the occurrence whose solar date falls in `year`; 腊月 dates of
        lunar year Y-1 fall in January/February of Y. A lunar year is not a
        solar year, so late 冬月/腊月 dates fall twice in some solar years and
        not at all in others (农历腊月初一: 2022-01-03 and 2022-12-23, none in
        2023). Then the occurrence from the lunar year that usually maps to
        `year` is taken, which for an empty year lies a few days outside it
        (冬月廿一-三十, which map either way about half the time, can then
        repeat a neighbouring year's date). For exact reminders use
        `next_occurrence`, which never skips an occurrence.
        """
        if not self.lunar:
            return self._in_solar_year(year)
        hits = self._lunar_hits(year)
        if len(hits) == 1:
            return hits[0]
        offset = _usual_lunar_year_offset(self.month, self.day, self.leap_month)
        return self._in_lunar_year(year - offset)

    def _in_solar_year(self, year: int) -> date:
        """This month/day in solar `year`, 29 February moved to the 28th in common years."""
        day = self.day
        if self.month == 2 and day == 29 and not calendar.isleap(year):
            day = 28
        return date(year, self.month, day)

    def _in_lunar_year(self, lunar_year: int) -> date:
        """This lunar month/day in `lunar_year`, with the leap-month and day-30 fallbacks."""
        return _lunar_to_solar(lunar_year, self.month, self.day, self.leap_month, exact=False)

    def _lunar_hits(self, year: int) -> list[date]:
        """Occurrences whose solar date falls in solar `year`, earliest first."""
        # Only lunar years year-1 and year have days inside solar `year`.
        found = (self._in_lunar_year(y) for y in (year - 1, year))
        return [d for d in found if d.year == year]


@lru_cache(maxsize=1024)
def _lunar_month(lunar_year: int, month: int, leap: bool) -> tuple[int, int] | None:
    """(Julian day of the 1st, number of days) of a lunar month, or None if that year lacks it."""
    # lunar_python recomputes a whole year (~2.5 ms) whenever the year changes,
    # and yearly lookups alternate between years, so remember the answers.
    found: Any = LunarMonth.fromYm(lunar_year, -month if leap else month)
    if found is None:
        return None
    return int(found.getFirstJulianDay()), int(found.getDayCount())


@lru_cache(maxsize=256)
def _usual_lunar_year_offset(month: int, day: int, leap: bool) -> int:
    """1 if this lunar month/day usually falls in the solar year after its lunar year, else 0."""
    # One Metonic cycle: the lunar calendar nearly repeats every 19 years.
    cycle = range(2001, 2020)
    later = sum(_lunar_to_solar(y, month, day, leap, exact=False).year == y + 1 for y in cycle)
    return 1 if later * 2 > len(cycle) else 0


def _lunar_to_solar(lunar_year: int, month: int, day: int, leap: bool, *, exact: bool) -> date:
    """Convert a lunar date to solar.

    With `exact`, a missing leap month or day 30 raises ValueError; without it
    they fall back to the ordinary month and to day 29.
    """
    if not LUNAR_MIN_YEAR <= lunar_year <= LUNAR_MAX_YEAR:
        raise ValueError(f"lunar year out of supported range: {lunar_year}")
    info = _lunar_month(lunar_year, month, leap)
    if info is None and leap and not exact:
        info = _lunar_month(lunar_year, month, False)
    if info is None:
        raise ValueError(f"no lunar month {month} (leap={leap}) in {lunar_year}")
    first_julian_day, day_count = info
    if day > day_count:
        if exact:
            raise ValueError(f"lunar {lunar_year}-{month} has {day_count} days")
        day = day_count
    solar: Any = Solar.fromJulianDay(first_julian_day + day - 1)
    return date(int(solar.getYear()), int(solar.getMonth()), int(solar.getDay()))
