"""A timeline note's photo, voice note or file, fetched from Telegram for the Mini App.

Notes keep only Telegram's `file_id`; the bytes stay with Telegram, which serves a bot files
up to 20 MB. Who may have a note's file is the card's own rule (`cards.visible_note_file`),
checked in one transaction before anything is asked of Telegram. The fetching itself goes
through a `FileSource` (bot.telegram.files with the real bot), so this module imports
nothing from telegram.

No copy is kept here: the Mini App asks for a file only when its entry comes into view,
and the browser keeps what it received (the response is privately cacheable), so the same
phone does not ask twice; a server-side cache would mostly hold bytes nobody asks for again.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Protocol

from bot.domain.access import Actor
from bot.domain.errors import SalesbotError
from bot.runtime import Runtime
from bot.services import cards


class FileTooBig(SalesbotError):
    """Telegram does not hand bots files over 20 MB."""

    key = "plain.web.file_too_big"


class FileGone(SalesbotError):
    """Telegram no longer knows the file (or it was sent to another bot)."""

    key = "plain.web.file_gone"


class FileUnreachable(SalesbotError):
    """Telegram could not be reached for the file; trying again later may work."""

    key = "plain.web.file_unreachable"


@dataclass(frozen=True)
class Fetched:
    """A file's bytes as Telegram served them, and its path there (which ends in its extension)."""

    content: bytes
    path: str | None


class FileSource(Protocol):
    """Where a file's bytes come from, by its Telegram file_id."""

    async def fetch(self, file_id: str) -> Fetched:
        """The file's bytes; FileTooBig, FileGone or FileUnreachable when they cannot be had."""
        ...


@dataclass(frozen=True)
class NoteFile:
    """A note's file as the Mini App receives it."""

    content: bytes
    content_type: str
    file_kind: str
    file_name: str  # what a download is saved as


AUDIO_FALLBACK = "audio/ogg"  # Telegram's voice notes are Ogg Opus
DOCUMENT_FALLBACK = "application/octet-stream"


def content_type(file_kind: str | None, path: str | None) -> str:
    """The type a file is served as: photos are JPEG (Telegram re-encodes them), voice notes Ogg
    (or the audio type their path tells, for music files kept as voice notes), documents what
    their extension tells, else plain bytes."""
    guessed = mimetypes.guess_type(path or "", strict=False)[0]
    if file_kind == "photo":
        return "image/jpeg"
    if file_kind == "voice":
        return guessed if guessed is not None and guessed.startswith("audio/") else AUDIO_FALLBACK
    return guessed or DOCUMENT_FALLBACK


async def note_file(services: Runtime, files: FileSource, actor: Actor, note_id: int) -> NoteFile:
    """The file of a note on a card the actor may see, fetched from Telegram."""
    note = await services.db(lambda s: cards.visible_note_file(s, actor, note_id), handles_update=False)
    assert note.file_id is not None  # visible_note_file answers only notes with a file
    fetched = await files.fetch(note.file_id)
    suffix = PurePosixPath(fetched.path or "").suffix
    if not re.fullmatch(r"\.[A-Za-z0-9]{1,10}", suffix):
        suffix = ""
    return NoteFile(
        content=fetched.content,
        content_type=content_type(note.file_kind, fetched.path),
        file_kind=note.file_kind or "document",
        file_name=f"note-{note_id}{suffix}",
    )
