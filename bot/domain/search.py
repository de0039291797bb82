"""What a customer is found by: one normalised text per card, matched by substring."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from pypinyin import Style, lazy_pinyin

# Characters kept for search: 600 CJK characters are 1,800 bytes in UTF-8.
SEARCH_TEXT_MAX = 600


def normalise(text: str) -> str:
    """Lower-case, half-width, no spaces: what both the index and queries are reduced to."""
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def _pinyin_forms(name: str) -> list[str]:
    """张伟 → 'zhangwei' and 'zw', so reps can type either on a Latin keyboard."""
    if all(ord(ch) < 128 for ch in name):
        return []
    syllables = lazy_pinyin(name, errors="ignore")
    initials = lazy_pinyin(name, style=Style.FIRST_LETTER, errors="ignore")
    return ["".join(syllables), "".join(initials)]


def search_text(
    *,
    name: str,
    nickname: str | None,
    company: str | None,
    phone_digits: str | None,
    email: str | None,
    tags: Iterable[str],
    extra_values: Iterable[str],
) -> str:
    """The text a card is searched by (kept in `customers.search_text`)."""
    parts = [name, nickname or "", company or "", phone_digits or "", email or ""]
    parts += _pinyin_forms(name)
    if nickname:
        parts += _pinyin_forms(nickname)
    parts += ["#" + tag for tag in tags]
    parts += list(extra_values)
    text = "|".join(normalise(part) for part in parts if part)
    # The most useful parts come first, so the cap (see SEARCH_TEXT_MAX) cuts the long tail.
    return text[:SEARCH_TEXT_MAX]
