"""Importing contacts (a vCard file or a shared Telegram contact): which files are taken,
and what a duplicate may say about its owner."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.domain.access import Actor, CustomerRef, can_view_customer
from bot.domain.errors import InvalidInput

VCF_MAX_BYTES = 2 * 1024 * 1024
SHOWN_MAX = 8  # created cards offered as buttons after an import


def check_vcard_file(actor: Actor, *, file_name: str | None, mime_type: str | None, size: int | None) -> None:
    """Refuse a file that is not a vCard, a user without a team, or a file too big to read."""
    name, mime = (file_name or "").lower(), (mime_type or "").lower()
    if not (name.endswith((".vcf", ".vcard")) or "vcard" in mime):
        raise InvalidInput("import.wrong_type", name=file_name or mime or "?")
    if actor.team_id is None:
        raise InvalidInput("error.need_team")
    if (size or 0) > VCF_MAX_BYTES:
        raise InvalidInput("import.too_big")


def duplicate_name(actor: Actor, owner: CustomerRef, name: str) -> str | None:
    """The existing card's name, or None when it is another rep's customer (not named to this rep)."""
    return name if can_view_customer(actor, owner) else None


def contact_name(first_name: str | None, last_name: str | None) -> str:
    """A shared contact's full name."""
    return " ".join(x for x in (first_name, last_name) if x)


@dataclass(frozen=True)
class Imported:
    """What an import did: cards created (id, name), duplicates (None: someone else's), rejected names."""

    found: int
    created: list[tuple[int, str]] = field(default_factory=list)
    duplicates: list[str | None] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    @property
    def single(self) -> int | None:
        """The one card created when nothing else happened (it is shown at once), else None."""
        if len(self.created) == 1 and not self.duplicates and not self.rejected:
            return self.created[0][0]
        return None
