"""Parts of a month or year (`下个月初`, `月底`, `end of the month`) and the days
around public holidays (`春节后`, `国庆前`)."""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, Final

import holidays

from bot.domain.dates.model import ParsedDate

# ---------------------------------------------------------------------------
# Parts of a month or year: 下个月初, 月底, end of the month, 年底

_CN_MONTH_PART_RE: Final = re.compile(
    r"(?P<which>下下个?|下个?|上个?|本|这个?|当)?月(?P<part>初|上旬|中旬|中|下旬|底|末)(?:前|之前|以前)?"
)
_CN_YEAR_PART_RE: Final = re.compile(r"(?P<which>今|明|去)?年年?(?P<part>初|中|底|末)(?:前|之前|以前)?")
_EN_PART_RE: Final = re.compile(
    r"(?:by |at |around |in |on |until )?(?:the )?"
    r"(?P<part>early|beginning of|start of|mid|mid-|middle of|end of|late)\s*"
    r"(?:the )?(?P<which>this |next |last )?(?P<unit>month|year)"
    r"|(?P<which2>this |next )?(?P<unit2>month|year)[- ]end"
)
# Day of the month (0 = the last) that each part points at.
_PART_DAYS: Final = {
    "初": 1,
    "上旬": 1,
    "early": 1,
    "beginning of": 1,
    "start of": 1,
    "中": 15,
    "中旬": 15,
    "mid": 15,
    "mid-": 15,
    "middle of": 15,
    "下旬": 21,
    "late": 21,
    "底": 0,
    "末": 0,
    "end of": 0,
}
_PERIOD_OFFSETS: Final = {
    "下下": 2,
    "下下个": 2,
    "下": 1,
    "下个": 1,
    "next": 1,
    "明": 1,
    "上": -1,
    "上个": -1,
    "last": -1,
    "去": -1,
    "本": 0,
    "这": 0,
    "这个": 0,
    "当": 0,
    "this": 0,
    "今": 0,
}


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + months
    return index // 12, index % 12 + 1


def _part_of_month(year: int, month: int, day: int) -> date:
    return date(year, month, day or calendar.monthrange(year, month)[1])


def _part_of_year(year: int, day: int) -> date:
    """初 is 1 January, 中 1 July, 底 31 December."""
    return date(year, {1: 1, 15: 7, 21: 10, 0: 12}[day], 31 if day == 0 else 1)


def _nearest(candidates: list[date], today: date, past: bool) -> date:
    """The first candidate on or after today (with `past`, the last on or before it)."""
    if past:
        return max((d for d in candidates if d <= today), default=min(candidates))
    return min((d for d in candidates if d >= today), default=max(candidates))


def _parse_period(text: str, compact: str, today: date, past: bool) -> ParsedDate | None:
    """下个月初, 月底, 下个月中, 年底, 明年初, early next month, end of the month, year end."""
    unit, which, part = "month", None, None
    if match := _CN_MONTH_PART_RE.fullmatch(compact):
        which, part = match["which"], match["part"]
    elif match := _CN_YEAR_PART_RE.fullmatch(compact):
        unit, which, part = "year", match["which"], match["part"]
    elif match := _EN_PART_RE.fullmatch(text):
        if match["unit"]:
            unit, which, part = match["unit"], match["which"], match["part"]
        else:
            unit, which, part = match["unit2"], match["which2"], "end of"
        which = which.strip() if which else None
    else:
        return None
    day = _PART_DAYS[part]
    if unit == "month":

        def month_part(months: int) -> date:
            return _part_of_month(*_add_months(today.year, today.month, months), day)

        if which is None:
            found = _nearest([month_part(n) for n in (-1, 0, 1)], today, past)
        else:
            found = month_part(_PERIOD_OFFSETS[which])
    elif which is None:
        found = _nearest([_part_of_year(today.year + n, day) for n in (-1, 0, 1)], today, past)
    else:
        found = _part_of_year(today.year + _PERIOD_OFFSETS[which], day)
    return ParsedDate(found.year, found.month, found.day, relative=True)


# ---------------------------------------------------------------------------
# Before and after public holidays: 春节后, 国庆前, after national day

_CN_FESTIVAL_RE: Final = re.compile(
    r"(?P<name>春节|过年|年|国庆节?|十一|五一|劳动节|元旦|清明节?|端午节?|中秋节?)"
    r"(?:假期|长假|假)?(?P<dir>以后|之后|过后|后|以前|之前|前)"
)
_EN_FESTIVAL_RE: Final = re.compile(
    r"(?P<dir>after|before) (?:the )?"
    r"(?P<name>spring festival|chinese new year|lunar new year|cny|national day|golden week"
    r"|may day|labou?r day|new year(?:'s day)?|qingming(?: festival)?|tomb-sweeping day"
    r"|dragon boat(?: festival)?|mid-autumn(?: festival)?)"
    r"(?: holidays?| break)?"
)
# The holiday each word names, by its name in the holidays library (en_US).
_FESTIVALS: Final = {
    "春节": "Chinese New Year (Spring Festival)",
    "过年": "Chinese New Year (Spring Festival)",
    "年": "Chinese New Year (Spring Festival)",
    "spring festival": "Chinese New Year (Spring Festival)",
    "chinese new year": "Chinese New Year (Spring Festival)",
    "lunar new year": "Chinese New Year (Spring Festival)",
    "cny": "Chinese New Year (Spring Festival)",
    "国庆": "National Day",
    "十一": "National Day",
    "national day": "National Day",
    "golden week": "National Day",
    "五一": "Labor Day",
    "劳动": "Labor Day",
    "may day": "Labor Day",
    "labor day": "Labor Day",
    "labour day": "Labor Day",
    "元旦": "New Year's Day",
    "new year": "New Year's Day",
    "new year's day": "New Year's Day",
    "清明": "Tomb-Sweeping Day",
    "qingming": "Tomb-Sweeping Day",
    "tomb-sweeping day": "Tomb-Sweeping Day",
    "端午": "Dragon Boat Festival",
    "dragon boat": "Dragon Boat Festival",
    "中秋": "Mid-Autumn Festival",
    "mid-autumn": "Mid-Autumn Festival",
}
# How long the holiday usually lasts from its first named day, for years whose
# official schedule is not published yet (the library then only knows the
# festival days themselves): Spring Festival to 初七, National Day to 7 October.
_USUAL_LENGTH: Final = {"Chinese New Year (Spring Festival)": 7, "National Day": 7}


# The years the holidays library computes China's calendar for.
_HOLIDAY_YEARS: Final = (1950, 2100)


@lru_cache(maxsize=16)
def _china(year: int) -> Any:
    """China's public holidays and make-up working days (调休) from the year before to the year after."""
    return holidays.country_holidays("CN", years=range(year - 1, year + 2), language="en_US")


@lru_cache(maxsize=128)
def _holiday_span(name: str, year: int) -> tuple[date, date] | None:
    """First and last day off of the holiday `name` in `year`, the weekends it touches included."""
    if not _HOLIDAY_YEARS[0] < year < _HOLIDAY_YEARS[1]:
        return None
    table = _china(year)
    days = sorted(d for d in table.get_named(name, lookup="startswith") if d.year == year)
    if not days:
        return None
    first, last = days[0], days[-1]
    published = any(d.year == year for d in table.weekend_workdays)
    if not published and name in _USUAL_LENGTH:
        last = max(last, first + timedelta(days=_USUAL_LENGTH[name] - 1))
    one = timedelta(days=1)
    while not table.is_working_day(first - one):
        first -= one
    while not table.is_working_day(last + one):
        last += one
    return first, last


def _parse_festival(text: str, compact: str, today: date, past: bool) -> ParsedDate | None:
    """The first working day after a holiday (春节后), or the last one before it (国庆前)."""
    if match := _CN_FESTIVAL_RE.fullmatch(compact):
        word, after = match["name"], match["dir"].endswith("后")
    elif match := _EN_FESTIVAL_RE.fullmatch(text):
        word, after = match["name"], match["dir"] == "after"
    else:
        return None
    name = _FESTIVALS.get(word) or _FESTIVALS[word.removesuffix("节").removesuffix(" festival")]
    candidates = []
    for year in range(today.year - 1, today.year + 2):
        span = _holiday_span(name, year)
        if span is not None:
            candidates.append(span[1] + timedelta(days=1) if after else span[0] - timedelta(days=1))
    if not candidates:
        return None
    found = _nearest(candidates, today, past)
    return ParsedDate(found.year, found.month, found.day, relative=True)
