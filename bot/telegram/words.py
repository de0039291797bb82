"""Tokens the tables store (stages, roles, note and file kinds, choices, yes/no) in the reader's words.

The timeline, the exports and the digest's lists and CSV all show stored values; they
read them through here, so a Chinese reader never meets `voice`, `call` or `find`.
"""

from __future__ import annotations

from typing import Any

from bot.domain import card
from bot.runtime import Runtime

# Which catalogue section names the values of a column.
SECTIONS = {
    "stage": "stage",
    "role": "role",
    "kind": "note_kind",
    "file_kind": "plain.file_kind",
    "optin_state": "plain.optin_state",
    **{spec.key: f"choice.{spec.key}" for spec in card.FIELDS if spec.kind is card.Kind.CHOICE},
}


def stored(services: Runtime, lang: str, column: str, value: Any) -> Any:
    """A stored value of a column as the reader reads it; other values as they are."""
    if isinstance(value, bool):
        return services.text(lang, "plain.yes") if value else ""
    section = SECTIONS.get(column)
    if section is None or not isinstance(value, str) or not value:
        return value
    key = f"{section}.{value}"
    return services.text(lang, key) if services.catalogue.has(key) else value


def tokens(services: Runtime, lang: str) -> dict[str, dict[str, str]]:
    """Every column's stored tokens in the reader's words, as `stored` words them, for work
    done where the catalogue is not (an export in a worker process)."""
    table: dict[str, dict[str, str]] = {}
    known = services.catalogue.keys()
    for column, section in SECTIONS.items():
        prefix = f"{section}."
        table[column] = {
            key[len(prefix) :]: services.text(lang, key)
            for key in known
            if key.startswith(prefix) and "." not in key[len(prefix) :]
        }
    return table


def file_kind(services: Runtime, lang: str, kind: str | None) -> str | None:
    """A note's attachment kind in the reader's words ("语音", "voice note"), None without one."""
    return stored(services, lang, "file_kind", kind) if kind else None
