"""Which customers a line of text names: `明天给刘洋打电话` names 刘洋, `call Anna Li` names Anna Li."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

# A one-character name (王) would match half the reminders a rep writes.
NAME_MIN = 2


@dataclass(frozen=True)
class Named:
    """A customer and the names they go by (name, nickname)."""

    customer_id: int
    names: tuple[str, ...]


def fold(text: str) -> str:
    """Half-width, lower case, single spaces: how both the text and the names are compared."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _spans(text: str, name: str) -> list[tuple[int, int]]:
    """Where a folded name occurs in the folded text; Latin names only as whole words."""
    if len(name) < NAME_MIN:
        return []
    pattern = re.escape(name)
    if name.isascii():
        pattern = rf"(?<![\w]){pattern}(?![\w])"
    return [(m.start(), m.end()) for m in re.finditer(pattern, text)]


def mentioned(text: str, customers: Iterable[Named]) -> list[int]:
    """The customers the text names, in the order they appear.

    A name inside a longer name that also matches does not count: in `给张伟明打电话`
    张伟明 is meant, not 张伟. Two customers with the same name are both returned.
    """
    folded = fold(text)
    found: list[tuple[int, int, int]] = []  # (start, end, customer)
    for customer in customers:
        for name in customer.names:
            found += [(start, end, customer.customer_id) for start, end in _spans(folded, fold(name))]
    kept = [
        (start, cid)
        for start, end, cid in found
        if not any(s <= start and end <= e and (e - s) > (end - start) for s, e, _ in found)
    ]
    order: list[int] = []
    for _, cid in sorted(kept):
        if cid not in order:
            order.append(cid)
    return order
