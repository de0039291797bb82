"""Reading what the rep typed at a step: an option by its label, number or pinyin; a score,
a number, a date or free text, each checked as the step asks.

Pure functions, used by the engine (`bot.playbooks.engine.advance`); a typed answer
that cannot be used raises `InvalidInput` with the catalogue key that says why.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from pypinyin import lazy_pinyin

from bot.domain.dates import DateParseError, parse_date
from bot.domain.errors import InvalidInput
from bot.domain.money import parse_number
from bot.playbooks.model import Checklist, Choice, DateAnswer, FreeText, Number, Playbook, SetField

# Checks a typed answer against the card field it will be written to (raises InvalidInput).
FieldCheck = Callable[[str, str], None]


def typed_option(
    step: Choice | Checklist, typed: str, shown: Sequence[int] | None = None, lang: str | None = None
) -> Any:
    """The option a typed answer points at, the way people type one.

    In turn, the first way that finds anything decides: the whole label or id; the
    button's number as shown (from 1); the start of a label; a part of a label; the
    start of the Chinese label's pinyin or of its initials (`shiji`, `sj` for 时机);
    a part of them (`jg` for 看重价格).
    Labels are those of the rep's language (`lang`; both without it), pinyin is for
    readers of Chinese. Several options found the same way are not guessed between:
    the rep is asked.
    """
    text = _fold(typed)
    if not text:
        raise InvalidInput("playbook.use_buttons")
    options = step.options
    order = list(shown) if shown is not None else list(range(len(options)))
    langs = ("zh", "en") if lang is None else (lang,)
    labels = [tuple(_fold(o.label.get(code)) for code in langs) for o in options]
    pinyin = lang != "en"
    tiers: list[Callable[[int], bool]] = [
        lambda i: text in (_fold(options[i].id), *labels[i]),
        lambda i: (
            text.isascii() and text.isdigit() and 1 <= int(text) <= len(order) and order[int(text) - 1] == i
        ),
        lambda i: any(label.startswith(text) for label in labels[i]),
        lambda i: any(text in label for label in labels[i]),
        lambda i: (
            pinyin
            and _is_latin(text)
            and any(form.startswith(_squash(text)) for form in _pinyin(options[i].label.zh))
        ),
        lambda i: (
            pinyin
            and _is_latin(text)
            and len(_squash(text)) >= 2
            and any(_squash(text) in form for form in _pinyin(options[i].label.zh))
        ),
    ]
    for matches in tiers:
        found = [options[i] for i in order if matches(i)]
        if len(found) == 1:
            return found[0]
        if found:
            raise InvalidInput("playbook.which_option", options=found)
    raise InvalidInput("playbook.use_buttons")


def typed_ticks(step: Checklist, typed: str, lang: str | None) -> list[Any]:
    """The options a typed checklist answer names: numbers or words, apart (`1 3`, `2、4`)."""
    parts = [part for part in re.split(r"[\s,，、;；]+", unicodedata.normalize("NFKC", typed)) if part]
    if not parts:
        raise InvalidInput("playbook.use_buttons")
    return [typed_option(step, part, None, lang) for part in parts]


def _is_latin(text: str) -> bool:
    return bool(text) and all("a" <= ch <= "z" or ch == " " for ch in text)


def _squash(text: str) -> str:
    return "".join(text.split())


@lru_cache(maxsize=2048)
def _pinyin(label: str) -> tuple[str, str]:
    """A Chinese label's pinyin and its initials, letters only (时机以后 → shijiyihou, sjyh)."""
    hanzi = "".join(ch for ch in label if "\u4e00" <= ch <= "\u9fff")
    if not hanzi:
        return ("", "")
    syllables = lazy_pinyin(hanzi, errors="ignore")
    return "".join(syllables), "".join(s[0] for s in syllables if s)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


def score(raw: str) -> int:
    """A 1–5 score as typed (`4`, `４分`)."""
    text = unicodedata.normalize("NFKC", raw).strip().rstrip("分").strip()
    if text in ("1", "2", "3", "4", "5"):
        return int(text)
    raise InvalidInput("playbook.score")


def free_text(playbook: Playbook, step: FreeText, raw: str, check_field: FieldCheck) -> str:
    """A free-text answer, trimmed, within its length and the card field it feeds."""
    text = raw.strip()
    if not text:
        raise InvalidInput("error.empty")
    if len(text) > step.max_length:
        raise InvalidInput("error.too_long", limit=step.max_length, length=len(text))
    for key in fields_fed_by(playbook, step.key):
        check_field(key, text)
    return text


def number(step: Number, raw: str) -> str:
    """A number within the step's bounds, as plain digits."""
    value = parse_number(raw, error="playbook.number")
    if step.min is not None and value < Decimal(str(step.min)):
        raise InvalidInput("playbook.number_min", limit=_plain(step.min))
    if step.max is not None and value > Decimal(str(step.max)):
        raise InvalidInput("playbook.number_max", limit=_plain(step.max))
    return _plain(value)


def _plain(value: float | Decimal) -> str:
    text = f"{Decimal(str(value)):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def date_answer(
    playbook: Playbook, step: DateAnswer, raw: str, today: date, check_field: FieldCheck
) -> dict[str, str]:
    """A typed date: the day it means (`on`) and the words as typed."""
    try:
        parsed = parse_date(raw, today=today, past=step.past)
    except DateParseError:
        raise InvalidInput("error.date") from None
    for key in fields_fed_by(playbook, step.key):
        check_field(key, raw)
    on = parsed.next_occurrence(today) if parsed.year is None else parsed.to_date()
    return {"on": on.isoformat(), "typed": raw.strip()}


def fields_fed_by(playbook: Playbook, key: str) -> list[str]:
    """The card fields a playbook writes from an answer (checked as soon as it is typed)."""
    return [s.field for s in playbook.steps if isinstance(s, SetField) and s.source == key and not s.map]
