"""Parse the dates salespeople type, in Chinese or English, into a `ParsedDate`.

The package splits the work: `model` (what a parsed date is, lunar arithmetic),
`forms` (the exact forms), `periods` (parts of a month, days around holidays),
`times` (a time of day after the date) and `parse` (the entry points).

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

from bot.domain.dates.model import MAX_INPUT_LENGTH, DateParseError, ParsedDate
from bot.domain.dates.parse import (
    When,
    day_from_today,
    format_date,
    parse_date,
    parse_when,
    split_reminder,
    when_from_today,
)
from bot.domain.dates.times import DAY_PARTS

__all__ = [
    "DAY_PARTS",
    "MAX_INPUT_LENGTH",
    "DateParseError",
    "ParsedDate",
    "When",
    "day_from_today",
    "format_date",
    "parse_date",
    "parse_when",
    "split_reminder",
    "when_from_today",
]
