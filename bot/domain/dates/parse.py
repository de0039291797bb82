"""The entry points (`parse_date`, `parse_when`, `split_reminder`, `format_date`),
with dateparser as the fallback for the forms it reads right."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Final

from lunar_python.util import LunarUtil

from bot.domain.dates.forms import (
    _CJK_RE,
    _is_chinese_bare_year,
    _normalise,
    _parse_chinese_date,
    _parse_english_lunar,
    _parse_numeric,
    _parse_weekday,
    _rewrite_chinese_offset,
)
from bot.domain.dates.model import _EN_MONTHS, MAX_INPUT_LENGTH, DateParseError, ParsedDate
from bot.domain.dates.periods import _parse_festival, _parse_period
from bot.domain.dates.times import _split_time
from bot.domain.errors import InvalidInput

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
