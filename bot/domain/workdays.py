"""Which days a team works, so a date the bot computes ("in 3 days") never lands on a day off.

A team setting, `team.settings["workdays"]`. The default follows the official
calendar of the team's country (mainland China unless the care rules say
otherwise): Monday to Friday, public holidays off, and the weekend days that
are worked instead (调休) worked. Dates a rep typed are never moved; only
computed ones go through `next_working_day`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any, Final

import holidays

SETTING: Final = "workdays"
# Even the Spring Festival holiday with its weekends is under two weeks.
_SEARCH_DAYS: Final = 31


class WorkWeek(StrEnum):
    """The days a team works."""

    OFFICIAL = "official"  # Monday to Friday by the country's calendar: holidays off, 调休 worked
    MON_FRI = "mon_fri"
    MON_SAT = "mon_sat"
    EVERY_DAY = "every_day"


DEFAULT: Final = WorkWeek.OFFICIAL


def work_week(settings: Mapping[str, Any]) -> WorkWeek:
    """The team's work week from its settings; anything unknown reads as the default."""
    raw = settings.get(SETTING) if isinstance(settings, Mapping) else None
    known = {week.value: week for week in WorkWeek}
    return known.get(raw, DEFAULT) if isinstance(raw, str) else DEFAULT


def country_of(settings: Mapping[str, Any]) -> str:
    """The country whose public holidays count (the care rules' country; China by default)."""
    care = settings.get("care") if isinstance(settings, Mapping) else None
    country = care.get("country") if isinstance(care, Mapping) else None
    if isinstance(country, str) and country.upper() in holidays.list_supported_countries():
        return country.upper()
    return "CN"


@lru_cache(maxsize=32)
def _calendar(country: str, year: int) -> Any:
    return holidays.country_holidays(country, years=range(year - 1, year + 2))


def is_working_day(day: date, week: WorkWeek, country: str = "CN") -> bool:
    """Whether the team works on `day`."""
    match week:
        case WorkWeek.EVERY_DAY:
            return True
        case WorkWeek.MON_SAT:
            return day.weekday() < 6
        case WorkWeek.MON_FRI:
            return day.weekday() < 5
    return bool(_calendar(country, day.year).is_working_day(day))


def next_working_day(day: date, week: WorkWeek, country: str = "CN") -> date:
    """`day` itself if the team works then, else the first working day after it."""
    for offset in range(_SEARCH_DAYS):
        candidate = day + timedelta(days=offset)
        if is_working_day(candidate, week, country):
            return candidate
    return day  # a calendar with a month off: keep the date rather than guess


def shift_for(settings: Mapping[str, Any], day: date) -> date:
    """A computed date moved off the team's days off (its settings: work week and country)."""
    return next_working_day(day, work_week(settings), country_of(settings))
