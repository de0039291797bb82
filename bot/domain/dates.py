"""Parse the dates salespeople type, in Chinese or English, into a `ParsedDate`.

Pure domain code: no Telegram, no database. `today` is always injected so the
parser is deterministic and testable.

Which forms are parsed where was decided by measuring dateparser 1.5.0 with
``languages=["en", "zh"]`` and ``DATE_ORDER="DMY"`` (base: Monday 2026-11-23):

* dateparser is right, so it is used for: ``tomorrow``, ``today``, ``明天``,
  ``后天``, ``今天``, ``大后天``, ``昨天``, ``in 3 days``, ``3天后``, ``in 2 weeks``,
  ``2周后``, ``下个月``, ``next month``, ``明年``, ``May 17``, ``17 May 1990``,
  ``May 17, 1990``, ``17th of May`` and the other English month-name forms.
* dateparser is wrong or silent, so these have hand-written patterns:
  ``17.05`` (read as the time 17:05), ``32.01`` (-> 2032-11-01), ``13.13``
  (a time), ``5月17日`` (-> 2117-11-05 or nothing), ``十月一日``, ``三天后`` /
  ``两周后`` / ``3天以后`` (Chinese numerals and suffixes are rewritten to
  ``3天后`` and then handed to dateparser), ``下周一`` / ``本周五`` (nothing),
  ``周天`` (nothing), every lunar form (no support at all), bare numbers such
  as ``12`` or ``a`` (-> a day of the current month, which is garbage here),
  a bare year ``1990年`` (-> a duration of 1990 years) and ``2 weeks from
  today`` (-> two weeks in the past; rewritten to "from now").
* Weekday names are all hand-written even though dateparser reads plain
  ``friday`` / ``周五`` correctly: it cannot do ``下周五``, its ``next friday`` is
  the coming Friday while ``下周五`` is next week's, and its weekday results
  cannot be told apart from garbage such as ``we`` (-> Wednesday). One table
  gives one rule in both languages.
* Lunar dates are converted with lunar_python's LunarMonth/Solar; only the
  Chinese wording around them is hand-parsed.
* Parts of a month or year (``下个月初``, ``月底``, ``end of the month``, ``年底``)
  and the days around public holidays (``春节后``, ``国庆前``, ``after national
  day``) are hand-written: dateparser reads none of them. Holidays come from the
  ``holidays`` library's official Chinese calendar, make-up working days (调休)
  included; for a year whose schedule is not published yet, the Spring Festival
  and National Day holidays are taken to last their usual week.
* A time of day after the date (``下周二上午``, ``明天下午3点``, ``tomorrow at
  3pm``) is split off first: `parse_date` reads the day and ignores it,
  `parse_when` keeps it.

dateparser is imported lazily: it costs ~0.1 s to import and to load its
language data, and most inputs never need it.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Final

import holidays
from lunar_python import LunarMonth, Solar
from lunar_python.util import LunarUtil

from bot.domain.errors import InvalidInput

__all__ = [
    "DAY_PARTS",
    "DateParseError",
    "ParsedDate",
    "When",
    "format_date",
    "parse_date",
    "parse_when",
    "split_reminder",
]

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


# ---------------------------------------------------------------------------
# Text normalisation and Chinese numerals

_TRAILING_PUNCTUATION: Final = ".。!！?？,，;；"
_CJK_RE: Final = re.compile(r"[\u3400-\u9fff]")

_CN_DIGITS: Final = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS: Final = {"十": 10, "百": 100}
# 廿 and 卅 are whole tens on their own (廿三 = 23), used mostly in lunar days.
_CN_TENS: Final = {"廿": 20, "卅": 30}
_LUNAR_MONTH_NAMES: Final = {"正": 1, "冬": 11, "腊": 12}


def _cn_int(text: str) -> int | None:
    """Value of ASCII digits or Chinese numerals (一九九〇, 十五, 廿三, 一百), else None."""
    if text.isascii() and text.isdigit():
        return int(text)
    if text and all(ch in _CN_DIGITS for ch in text):
        # Digit by digit, as years are written: 一九九〇 = 1990, 五 = 5.
        return int("".join(str(_CN_DIGITS[ch]) for ch in text))
    total = 0
    pending: int | None = None
    last_unit = 1000
    for ch in text:
        if ch in _CN_DIGITS:
            if ch in "零〇":
                continue  # 一百零五: 零 only marks a skipped place
            if pending is not None:
                return None
            pending = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            unit = _CN_UNITS[ch]
            if unit >= last_unit:
                return None
            total += (1 if pending is None else pending) * unit
            pending, last_unit = None, unit
        elif ch in _CN_TENS:
            if total or pending is not None:
                return None
            total, last_unit = _CN_TENS[ch], 10
        else:
            return None
    return total + (pending or 0)


def _normalise(text: str) -> str:
    """NFKC (full-width digits, letters and spaces to ASCII), lower case, single spaces."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(folded.split()).strip(_TRAILING_PUNCTUATION + " ")


# ---------------------------------------------------------------------------
# Hand-written patterns (see the module docstring for why each exists)

# Numeric forms. Day before month, as in Europe and China; year first only
# with four digits, so ISO is always read as ISO.
_ISO_RE: Final = re.compile(r"(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})")
_COMPACT_RE: Final = re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})")
_DMY_RE: Final = re.compile(r"(?P<d>\d{1,2})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})")
_DM_RE: Final = re.compile(r"(?P<d>\d{1,2})[-/.](?P<m>\d{1,2})")

_CN_YEAR: Final = r"(?:\d{4}|[〇零一二三四五六七八九]{4})"
_CN_NUM: Final = r"[\d〇零一二两三四五六七八九十廿卅]+"
# 5月17日, 1990年5月17日, 十月一日, 农历八月十五, 阴历正月初一, 农历1990年八月十五,
# 1990年农历八月十五, 农历闰四月初八, 腊月廿三 (正/冬/腊 and 初 days imply lunar).
_CN_DATE_RE: Final = re.compile(
    rf"(?:(?P<y1>{_CN_YEAR})年)?"
    r"(?P<cal>农历|阴历|旧历|公历|阳历|新历)?"
    rf"(?:(?P<y2>{_CN_YEAR})年)?"
    r"(?P<leap>闰)?"
    rf"(?P<m>[正冬腊]|{_CN_NUM})月"
    rf"(?P<d>初?{_CN_NUM})"
    r"[日号]?"
)
_LUNAR_MARKERS: Final = frozenset({"农历", "阴历", "旧历"})

# The English spelling format_date produces, so its output parses back.
_EN_LUNAR_RE: Final = re.compile(
    r"lunar (?:(?P<leap>leap) )?month (?P<m>\d{1,2}),? day (?P<d>\d{1,2})(?:,? (?P<y>\d{4}))?"
)
_EN_LUNAR_SHORT_RE: Final = re.compile(r"lunar (?:(?P<leap>leap) )?(?P<m>\d{1,2})/(?P<d>\d{1,2})")

_CN_WEEKDAY_RE: Final = re.compile(
    r"(?P<pre>下下个?|下个?|上个?|本|这个?)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天1-7])"
)
_CN_WEEKDAYS: Final = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_EN_WEEKDAY_RE: Final = re.compile(
    r"(?:on )?(?:(?P<pre>this|next|coming) )?"
    r"(?P<wd>mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?"
    r"|fri(?:day)?|sat(?:urday)?|sun(?:day)?)"
)
_EN_WEEKDAYS: Final = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
# Weeks from the current Monday-Sunday week that a weekday prefix points at.
_WEEK_OFFSETS: Final = {
    "this": 0,
    "本": 0,
    "这": 0,
    "这个": 0,
    "next": 1,
    "下": 1,
    "下个": 1,
    "下下": 2,
    "下下个": 2,
    "上": -1,
    "上个": -1,
}

# 三天后, 两周后, 3天以后, 十个月后, 2个星期之后: Chinese numerals and wordier
# suffixes that dateparser misses; rewritten to the 3天后 shape it reads.
_CN_OFFSET_RE: Final = re.compile(
    r"(?P<n>\d+|[零〇一二两三四五六七八九十百]+)"
    r"(?P<unit>天|日|个?周|个?星期|个?礼拜|个月|年)"
    r"(?P<dir>以后|之后|过后|后|以前|之前|前)"
)
_CN_OFFSET_UNITS: Final = {"天": "天", "日": "天", "月": "个月", "年": "年"}


def _week_start(today: date) -> date:
    """Monday of the week containing `today` (weeks run Monday-Sunday in China and ISO)."""
    return today - timedelta(days=today.weekday())


def _weekday_date(prefix: str | None, weekday: int, today: date, *, past: bool = False) -> date:
    """Resolve a weekday name; the rule is documented on `parse_date`."""
    if prefix is None and past:
        return today - timedelta(days=(today.weekday() - weekday) % 7)
    if prefix is None or prefix == "coming":
        return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)
    return _week_start(today) + timedelta(weeks=_WEEK_OFFSETS[prefix], days=weekday)


def _solar(year: int | None, month: int | None, day: int | None) -> ParsedDate:
    """A solar ParsedDate, or ValueError if the numbers make no date."""
    if month is None or day is None:
        raise ValueError("missing month or day")
    return ParsedDate(year, month, day)


def _two_digit_year(text: str) -> int:
    """Expand 90 -> 1990, 05 -> 2005 with the POSIX pivot that dateparser also uses."""
    return datetime.strptime(text, "%y").year


def _parse_numeric(text: str) -> ParsedDate | None:
    """ISO, compact YYYYMMDD, D.M.Y and D.M; None if the text has none of these shapes."""
    if match := _ISO_RE.fullmatch(text) or _COMPACT_RE.fullmatch(text):
        return _solar(int(match["y"]), int(match["m"]), int(match["d"]))
    if match := _DMY_RE.fullmatch(text):
        raw_year = match["y"]
        year = int(raw_year) if len(raw_year) == 4 else _two_digit_year(raw_year)
        return _solar(year, int(match["m"]), int(match["d"]))
    if match := _DM_RE.fullmatch(text):
        return _solar(None, int(match["m"]), int(match["d"]))
    return None


def _parse_chinese_date(compact: str) -> ParsedDate | None:
    """Chinese solar and lunar month/day forms; None if the shape does not match."""
    match = _CN_DATE_RE.fullmatch(compact)
    if match is None:
        return None
    if match["y1"] and match["y2"]:
        raise ValueError("two years")
    raw_year = match["y1"] or match["y2"]
    year = _cn_int(raw_year) if raw_year else None
    raw_month, raw_day = match["m"], match["d"]
    month = _LUNAR_MONTH_NAMES.get(raw_month) or _cn_int(raw_month)
    day = _cn_int(raw_day.removeprefix("初"))
    if raw_day.startswith("初") and (day is None or day > 10):
        raise ValueError("初 days run 初一 to 初十")
    cal = match["cal"]
    lunar = (
        cal in _LUNAR_MARKERS
        or bool(match["leap"])
        or raw_month in _LUNAR_MONTH_NAMES
        or raw_day.startswith("初")
    )
    if cal is not None and cal not in _LUNAR_MARKERS and lunar:
        raise ValueError("solar marker on a lunar date")
    if not lunar:
        return _solar(year, month, day)
    if month is None or day is None:
        raise ValueError("bad lunar numerals")
    return ParsedDate(year, month, day, lunar=True, leap_month=bool(match["leap"]))


def _parse_english_lunar(text: str) -> ParsedDate | None:
    """English lunar dates as format_date writes them, or "lunar 8/15" (month/day)."""
    match = _EN_LUNAR_RE.fullmatch(text) or _EN_LUNAR_SHORT_RE.fullmatch(text)
    if match is None:
        return None
    year = match.groupdict().get("y")
    return ParsedDate(
        int(year) if year else None,
        int(match["m"]),
        int(match["d"]),
        lunar=True,
        leap_month=bool(match["leap"]),
    )


def _parse_weekday(text: str, compact: str, today: date, *, past: bool = False) -> ParsedDate | None:
    """Weekday names in either language, with this/next/本周/下周 prefixes."""
    if match := _CN_WEEKDAY_RE.fullmatch(compact):
        raw = match["wd"]
        weekday = int(raw) - 1 if raw.isdigit() else _CN_WEEKDAYS[raw]
        prefix: str | None = match["pre"]
    elif match := _EN_WEEKDAY_RE.fullmatch(text):
        weekday = _EN_WEEKDAYS[match["wd"][:3]]
        prefix = match["pre"]
    else:
        return None
    found = _weekday_date(prefix, weekday, today, past=past)
    return ParsedDate(found.year, found.month, found.day, relative=True)


def _is_chinese_bare_year(compact: str) -> bool:
    """True for "1990年" / "二〇二六年": a year alone, which dateparser reads as a duration."""
    return compact.endswith("年") and _cn_int(compact[:-1]) is not None


def _rewrite_chinese_offset(compact: str) -> str | None:
    """Rewrite 三天后 / 两个星期以后 to the 3天后 / 2周后 shape dateparser reads, else None."""
    match = _CN_OFFSET_RE.fullmatch(compact)
    if match is None:
        return None
    count = _cn_int(match["n"])
    if count is None:
        return None
    # 个 is an optional measure word except in 个月, where the table restores it.
    unit = _CN_OFFSET_UNITS.get(match["unit"].removeprefix("个"), "周")
    direction = "前" if match["dir"].endswith("前") else "后"
    return f"{count}{unit}{direction}"


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


# ---------------------------------------------------------------------------
# Times of day: 上午, 下午3点, 15:30, morning, at 3pm

DAY_PARTS: Final = ("morning", "noon", "afternoon", "evening")
_CN_PARTS: Final = {
    "上午": "morning",
    "早上": "morning",
    "早晨": "morning",
    "一早": "morning",
    "中午": "noon",
    "下午": "afternoon",
    "傍晚": "evening",
    "晚上": "evening",
    "夜里": "evening",
}
_EN_PARTS: Final = {
    "morning": "morning",
    "noon": "noon",
    "midday": "noon",
    "lunchtime": "noon",
    "afternoon": "afternoon",
    "evening": "evening",
    "night": "evening",
}
_CN_HOUR: Final = r"\d{1,2}|[零〇一二两三四五六七八九十]{1,3}"
_CN_TIME_RE: Final = re.compile(
    rf"(?P<rest>.*?)\s*(?P<part>{'|'.join(_CN_PARTS)})?\s*"
    rf"(?:(?P<h>{_CN_HOUR})\s*[点时](?:(?P<half>半)|(?P<quarter>一刻)|(?P<m>\d{{1,2}}|[零〇一二三四五六七八九十]{{1,3}})分?)?"
    r"|(?P<hc>\d{1,2}):(?P<mc>\d{2}))?"
)
_EN_TIME_RE: Final = re.compile(
    r"(?P<rest>.*?)(?:^|\s+)"
    r"(?:(?:in the |at )?(?P<part>morning|noon|midday|lunchtime|afternoon|evening|night)"
    r"|(?:at |@ ?)?(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)"
    r"|(?:at |@ ?)(?P<ha>\d{1,2})(?::(?P<ma>\d{2}))?"
    r"|(?:at |@ ?)?(?P<hc>\d{1,2}):(?P<mc>\d{2}))"
)
# 今晚 = today in the evening; the others likewise.
_SHORT_DAYTIMES: Final = {
    "今晚": "今天晚上",
    "明晚": "明天晚上",
    "明早": "明天早上",
    "今早": "今天早上",
    "tonight": "today evening",
}


def _clock(hour: int, minute: int, part: str | None) -> str:
    """The clock time "15:30"; a part of the day shifts the hour (下午3点 = 15:00); ValueError if none."""
    later = part in ("afternoon", "evening") and 1 <= hour < 12
    if later or (part == "noon" and 1 <= hour <= 3):
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValueError(f"no such time: {hour}:{minute}")
    return f"{hour:02d}:{minute:02d}"


def _number(raw: str) -> int:
    value = _cn_int(raw)
    if value is None:
        raise ValueError(f"not a number: {raw}")
    return value


def _split_time(normal: str) -> tuple[str, str | None]:
    """("下周二", "morning") from "下周二上午", ("tomorrow", "15:00") from "tomorrow at 3pm".

    The text unchanged and None when it ends with no time of day; ValueError for
    a time that cannot be (25点, 10:75).
    """
    for short, long in _SHORT_DAYTIMES.items():
        if normal == short or normal.startswith(short if _CJK_RE.match(short) else short + " "):
            normal = long + normal[len(short) :]
            break
    cn = _CN_TIME_RE.fullmatch(normal) if _CJK_RE.search(normal) else None
    if cn is not None and (cn["part"] or cn["h"] or cn["hc"]):
        part = _CN_PARTS[cn["part"]] if cn["part"] else None
        if cn["hc"]:
            return cn["rest"], _clock(int(cn["hc"]), int(cn["mc"]), part)
        if cn["h"]:
            minute = 30 if cn["half"] else 15 if cn["quarter"] else _number(cn["m"]) if cn["m"] else 0
            return cn["rest"], _clock(_number(cn["h"]), minute, part)
        return cn["rest"], part
    en = _EN_TIME_RE.fullmatch(normal)
    if en is None:
        return normal, None
    if en["part"]:
        return en["rest"], _EN_PARTS[en["part"]]
    if en["ampm"]:
        hour = int(en["h"])
        if not 1 <= hour <= 12:
            raise ValueError(f"no such time: {hour}{en['ampm']}")
        hour = hour % 12 + (12 if en["ampm"].startswith("p") else 0)
        return en["rest"], _clock(hour, int(en["m"] or 0), None)
    if en["ha"]:
        return en["rest"], _clock(int(en["ha"]), int(en["ma"] or 0), None)
    return en["rest"], _clock(int(en["hc"]), int(en["mc"]), None)


# ---------------------------------------------------------------------------
# dateparser fallback


def _dateparser(text: str, today: date, parser: str, parts: list[str]) -> datetime | None:
    """Run one dateparser parser with the given required parts; None if it finds nothing."""
    # Lazy: importing dateparser and loading its language data costs ~0.1 s.
    from dateparser.date import DateDataParser

    settings: dict[str, Any] = {
        "RELATIVE_BASE": datetime.combine(today, time()),
        "DATE_ORDER": "DMY",
        "PARSERS": [parser],
        "REQUIRE_PARTS": parts,
    }
    if parser == "relative-time":
        # A bare "3 days" / "3天" otherwise means three days *ago*; people
        # planning follow-ups mean ahead. "ago" / "前" still go back. Not for
        # absolute dates: it would turn the "90" of "17 May 90" into 2090.
        settings["PREFER_DATES_FROM"] = "future"
    # Restricting languages keeps it fast (detection across all languages
    # took 1.2 s on some Chinese input) and stops stray matches in e.g. Russian.
    found: Any = DateDataParser(languages=["en", "zh"], settings=settings).get_date_data(text)
    result = found.date_obj if found is not None else None
    return result if isinstance(result, datetime) else None


def _parse_with_dateparser(text: str, today: date) -> ParsedDate | None:
    """Relative words (tomorrow, 明天, in 3 days, next month) and English month names."""
    # dateparser reads "2 weeks from today" as two weeks *ago*; "from now" works.
    text = re.sub(r"\bfrom today\b", "from now", text)
    # The relative-time parser alone answers only for relative expressions,
    # which is exactly how we tell "relative" from an absolute date.
    relative = _dateparser(text, today, "relative-time", [])
    if relative is not None:
        return ParsedDate(relative.year, relative.month, relative.day, relative=True)
    # Requiring day and month rejects "May", "1990", "dec 2027", "3pm".
    absolute = _dateparser(text, today, "absolute-time", ["day", "month"])
    if absolute is None:
        return None
    # dateparser fills a missing year from the base date; asking again with the
    # year required is the only way it tells us whether the user typed one.
    has_year = _dateparser(text, today, "absolute-time", ["day", "month", "year"]) is not None
    return ParsedDate(absolute.year if has_year else None, absolute.month, absolute.day)


# ---------------------------------------------------------------------------
# Public API


def parse_date(text: str, *, today: date, past: bool = False) -> ParsedDate:
    """Parse a date typed in Chinese or English; raise DateParseError if not understood.

    Numbers are day-first (``17.05`` is 17 May) except four-digit-year-first
    ISO (``1990-05-17``, ``1990/5/17``). A yearless date keeps ``year=None``
    even if it has already passed this year; callers decide what that means.
    Relative forms resolve against `today` and always carry a year.

    Weekdays (Monday-Sunday weeks):
    * ``friday`` / ``周五`` / ``星期五`` / ``coming friday``: the first Friday strictly
      after today, so on a Friday it means a week later ("today" says today).
    * ``next friday`` / ``下周五`` / ``下星期五``: the Friday of next week, so on a
      Monday it is 11 days away, not 4 (``下下周五``: the week after).
    * ``this friday`` / ``本周五`` / ``这周五``: the Friday of the current week,
      which may already be past; ``上周五`` is last week's.

    With ``past=True`` (recording something that happened), a bare weekday is the
    latest such day on or before today: on a Monday, ``周五`` is three days ago.
    """
    if len(text) > MAX_INPUT_LENGTH:
        raise DateParseError(text)
    try:
        normal, _ = _split_time(_normalise(text))
        # Chinese is written without spaces, so "5 月 17 日" should match too.
        compact = normal.replace(" ", "")
        if not compact:
            raise DateParseError(text)
        parsed = (
            _parse_numeric(compact)
            or _parse_chinese_date(compact)
            or _parse_english_lunar(normal)
            or _parse_weekday(normal, compact, today, past=past)
            or _parse_period(normal, compact, today, past)
            or _parse_festival(normal, compact, today, past)
        )
        if parsed is not None:
            return parsed
        if not any(ch.isalpha() for ch in compact) or _is_chinese_bare_year(compact):
            # Digits and punctuation that fit no pattern above ("12", "17:05",
            # "1.2.3.4"): dateparser would guess a day of this month or a time.
            # "1990年" is a year with no day; dateparser reads it as 1990 years.
            raise DateParseError(text)
        # Chinese goes without spaces ("明天 上午" = "明天上午"), English keeps them.
        chinese = _CJK_RE.search(compact) is not None
        query = _rewrite_chinese_offset(compact) or (compact if chinese else normal)
        parsed = _parse_with_dateparser(query, today)
    except DateParseError:
        raise
    except (ValueError, OverflowError) as exc:
        # Impossible numbers (31.04, 农历十三月) raise ValueError from date() or
        # ParsedDate; huge offsets ("in 99999999 days") overflow in dateparser.
        raise DateParseError(text) from exc
    if parsed is None:
        raise DateParseError(text)
    return parsed


@dataclass(frozen=True)
class When:
    """A day to do something on, maybe at a time of day.

    `time` is one of DAY_PARTS ("morning", "noon", "afternoon", "evening") or a
    clock time "HH:MM"; None when no time was given.
    """

    day: date
    time: str | None = None


def parse_when(text: str, *, today: date) -> When:
    """A day and maybe a time, as typed for a reminder: 下周二上午, 明天下午3点, tomorrow at 3pm.

    A time alone (下午3点, tonight) is today. Raises DateParseError if not understood.
    """
    if len(text) > MAX_INPUT_LENGTH:
        raise DateParseError(text)
    try:
        rest, time_of_day = _split_time(_normalise(text))
    except ValueError as exc:
        raise DateParseError(text) from exc
    if time_of_day is not None and not rest.strip():
        return When(today, time_of_day)
    parsed = parse_date(rest, today=today)
    day = parsed.next_occurrence(today) if parsed.year is None else parsed.to_date()
    return When(day, time_of_day)


_WORDS_TRIED: Final = 5
_CHARACTERS_TRIED: Final = 12


def split_reminder(text: str, *, today: date) -> tuple[When, str] | None:
    """`明天给张伟打电话`, `下周二上午 送样品`, `in 3 days call Anna`: the date first, then what.

    The longest leading words (or, in Chinese, characters) that read as a date
    win; None when no date leads or nothing follows it.
    """
    clean = " ".join(text.split())
    words = clean.split(" ")
    candidates = [
        (" ".join(words[:n]), " ".join(words[n:])) for n in range(min(len(words) - 1, _WORDS_TRIED), 0, -1)
    ]
    first = words[0]
    candidates += [
        (first[:n], first[n:] + clean[len(first) :])
        for n in range(min(len(first) - 1, _CHARACTERS_TRIED), 1, -1)
    ]
    for when, what in candidates:
        if not what.strip() or _only_a_time(what) or _ends_with_filler(when):
            continue
        try:
            return parse_when(when, today=today), what.strip()
        except DateParseError:
            continue
    return None


# Words dateparser skips (its "skip" lists for zh and en): a date text ending in one
# would swallow the first word of what to do (后天约刘洋吃饭, tomorrow the quote…).
_FILLERS: Final = re.compile(r"(?:约|\b(?:about|and|at|by|from|just|of|on|the))$", re.IGNORECASE)


def _ends_with_filler(text: str) -> bool:
    return _FILLERS.search(text.strip()) is not None


def _only_a_time(text: str) -> bool:
    """Whether the text is a time of day and nothing else (上午, at 3pm)."""
    try:
        rest, time_of_day = _split_time(_normalise(text))
    except ValueError:
        return False
    return time_of_day is not None and not rest.strip()


def _lunar_zh(month: int, day: int, leap: bool) -> str:
    """八月十五 / 闰四月初八 / 正月初一, in lunar_python's traditional names."""
    leap_mark = "闰" if leap else ""
    return f"{leap_mark}{LunarUtil.MONTH[month]}月{LunarUtil.DAY[day]}"


def format_date(parsed: ParsedDate, lang: str) -> str:
    """Human text for a date; `lang` "zh..." gives Chinese, anything else English."""
    if lang.lower().startswith("zh"):
        if parsed.lunar:
            year = f"{parsed.year}年" if parsed.year is not None else ""
            return f"农历{year}{_lunar_zh(parsed.month, parsed.day, parsed.leap_month)}"
        year = f"{parsed.year}年" if parsed.year is not None else ""
        return f"{year}{parsed.month}月{parsed.day}日"
    if parsed.lunar:
        leap = "leap " if parsed.leap_month else ""
        text = f"Lunar {leap}month {parsed.month}, day {parsed.day}"
        return f"{text}, {parsed.year}" if parsed.year is not None else text
    text = f"{parsed.day} {_EN_MONTHS[parsed.month]}"
    return f"{text} {parsed.year}" if parsed.year is not None else text


def when_from_today(text: str, *, today: date) -> When:
    """A day (and maybe a time) for something to happen: today or later (`下周二上午`, `月底`).

    Raises InvalidInput with a message for the user when it cannot be read or has passed.
    """
    try:
        when = parse_when(text, today=today)
    except DateParseError:
        raise InvalidInput("error.date") from None
    if when.day < today:
        raise InvalidInput("remind.past")
    return when


def day_from_today(text: str, *, today: date) -> date:
    """A day for something to happen: today or later, as typed (`明天`, `周五`, `5月17日`).

    Raises InvalidInput with a message for the user when it cannot be read or has passed.
    """
    try:
        parsed = parse_date(text, today=today)
    except DateParseError:
        raise InvalidInput("error.date") from None
    day = parsed.next_occurrence(today) if parsed.year is None else parsed.to_date()
    if day < today:
        raise InvalidInput("remind.past")
    return day
