"""Text normalisation, Chinese numerals, and the exact forms: numeric and Chinese
dates, lunar dates, weekdays, offsets."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from typing import Final

from bot.domain.dates.model import ParsedDate
from bot.domain.numerals import CN_DIGITS

# ---------------------------------------------------------------------------
# Text normalisation and Chinese numerals

_TRAILING_PUNCTUATION: Final = ".。!！?？,，;；"
_CJK_RE: Final = re.compile(r"[\u3400-\u9fff]")

_CN_UNITS: Final = {"十": 10, "百": 100}
# 廿 and 卅 are whole tens on their own (廿三 = 23), used mostly in lunar days.
_CN_TENS: Final = {"廿": 20, "卅": 30}
_LUNAR_MONTH_NAMES: Final = {"正": 1, "冬": 11, "腊": 12}


def _cn_int(text: str) -> int | None:
    """Value of ASCII digits or Chinese numerals (一九九〇, 十五, 廿三, 一百), else None."""
    if text.isascii() and text.isdigit():
        return int(text)
    if text and all(ch in CN_DIGITS for ch in text):
        # Digit by digit, as years are written: 一九九〇 = 1990, 五 = 5.
        return int("".join(str(CN_DIGITS[ch]) for ch in text))
    total = 0
    pending: int | None = None
    last_unit = 1000
    for ch in text:
        if ch in CN_DIGITS:
            if ch in "零〇":
                continue  # 一百零五: 零 only marks a skipped place
            if pending is not None:
                return None
            pending = CN_DIGITS[ch]
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
