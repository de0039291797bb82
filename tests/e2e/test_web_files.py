"""The Mini App's timeline files over real HTTP: a note's photo, voice note or document, fetched
from Telegram (the stand-in) through the bot, for exactly those the bot shows the card to."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.console.driver import Driver, running_bot
from bot.i18n import catalogue
from bot.storage.models import Note
from tests.conftest import FakeClock
from tests.e2e.test_web import init_data, web_settings
from tests.e2e.world import ADMIN, LEAD, OTHER_LEAD, OTHER_REP, REP, REP2, add_customer, build_world, texts

TEXTS = catalogue()


def jpeg(width: int = 40, height: int = 30) -> bytes:
    """A real (tiny) JPEG photo."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(out, format="JPEG")
    return out.getvalue()


PHOTO = jpeg()
VOICE = b"OggS\x00\x02voice note"


class Files:
    """Requests to the running Mini App server, answered as raw bytes."""

    def __init__(self, bot: Driver) -> None:
        self.bot = bot
        server = bot.app.bot_data.web
        assert server is not None
        self.base = f"http://127.0.0.1:{server.port}/"

    async def get(self, path: str, user_id: int | None) -> tuple[int, dict[str, str], bytes]:
        headers = {} if user_id is None else {"Authorization": "tma " + init_data(self.bot, user_id)}
        async with (
            aiohttp.ClientSession() as session,
            session.get(self.base + path, headers=headers) as response,
        ):
            return response.status, dict(response.headers), await response.read()

    async def json(self, path: str, user_id: int) -> tuple[int, Any]:
        status, _, body = await self.get(path, user_id)
        return status, json.loads(body)


@pytest.fixture
async def web_bot(engine: AsyncEngine, clock: FakeClock) -> AsyncIterator[Driver]:
    """The bot with its Mini App server on; Telegram calls are tried again at once."""
    settings = web_settings(engine)
    async with running_bot(
        engine=engine, clock=clock, settings=settings, retry_delays=(0.05, 0.1), telegram_retry_delays=(0.01,)
    ) as driver:
        yield driver


async def notes_of(bot: Driver, rep: int, name: str, *files: tuple[str, Any]) -> None:
    """The rep opens the card and writes one note per file, through the bot (as on a phone)."""
    await bot.send(rep, name)
    await bot.press(rep, "记录")
    for kind, content in files:
        if kind == "photo":
            await bot.send_photo(rep, content, caption="样品照片")
        elif kind == "voice":
            await bot.send_voice(rep, content)
        elif kind == "text":
            await bot.send(rep, content)
        else:
            file_name, data, mime = content
            await bot.send_file(rep, file_name, data, mime)
        await bot.press(rep, "再记一条")


async def timeline(files: Files, cid: int, user_id: int = REP) -> dict[str, dict[str, Any]]:
    """The card form's timeline entries by what they carry (file kind, or "text")."""
    status, form = await files.json(f"api/customers/{cid}/form", user_id)
    assert status == 200
    return {entry["file_kind"] or "text": entry for entry in form["timeline"]}


def error(body: bytes, key: str, lang: str = "zh") -> None:
    assert json.loads(body) == {"error": key, "message": TEXTS.text(lang, key)}


async def test_a_notes_photo_and_voice_are_served_to_exactly_those_who_see_the_card(web_bot: Driver) -> None:
    await build_world(web_bot)
    cid = await add_customer(web_bot, REP, "陈静")
    await notes_of(web_bot, REP, "陈静", ("photo", PHOTO), ("voice", VOICE), ("text", "只是文字"))
    files = Files(web_bot)
    entries = await timeline(files, cid)
    photo, voice, plain = entries["photo"], entries["voice"], entries["text"]
    assert photo["file_url"] == f"api/notes/{photo['id']}/file"  # relative: the page may live under a path
    assert voice["file_url"] == f"api/notes/{voice['id']}/file"
    assert plain["file_url"] is None

    status, headers, body = await files.get(photo["file_url"], REP)
    assert (status, body) == (200, PHOTO)
    assert headers["Content-Type"] == "image/jpeg"
    assert headers["Cache-Control"].startswith("private")
    status, headers, body = await files.get(voice["file_url"], REP)
    assert (status, body, headers["Content-Type"]) == (200, VOICE, "audio/ogg")

    # Whoever the bot shows the timeline's files to gets them; the others are told "not found".
    await web_bot.send(REP2, "/start")
    served: dict[int, int] = {}
    for uid in (ADMIN, LEAD, REP, REP2, OTHER_LEAD, OTHER_REP):
        replies = await web_bot.callback(uid, web_bot.last(uid).message_id, f"nf:{cid}:{photo['id']}")
        sent_by_bot = any(m.kind == "photo" for m in replies)
        status, _, body = await files.get(photo["file_url"], uid)
        served[uid] = status
        assert (status == 200) == sent_by_bot, (uid, status, texts(replies))
        if status != 200:
            error(body, "plain.web.not_found")
    assert served == {ADMIN: 200, LEAD: 200, REP: 200, REP2: 404, OTHER_LEAD: 404, OTHER_REP: 404}

    # A note without a file, a note that does not exist, no sign-in: nothing.
    status, _, body = await files.get(f"api/notes/{plain['id']}/file", REP)
    assert status == 404
    error(body, "plain.web.not_found")
    status, _, _ = await files.get(f"api/notes/{voice['id'] + 1000}/file", REP)
    assert status == 404
    status, _, body = await files.get(photo["file_url"], None)
    assert status == 401
    error(body, "plain.web.missing")


async def test_documents_are_downloads_with_their_type(web_bot: Driver) -> None:
    await build_world(web_bot)
    cid = await add_customer(web_bot, REP, "陈静")
    pdf = b"%PDF-1.7 quote"
    await notes_of(
        web_bot,
        REP,
        "陈静",
        ("document", ("报价单.pdf", pdf, "application/pdf")),
        ("document", ("data.unknownext", b"\x00\x01", "")),
    )
    files = Files(web_bot)
    status, form = await files.json(f"api/customers/{cid}/form", REP)
    assert status == 200
    unknown, quote = form["timeline"][:2]  # newest first
    status, headers, body = await files.get(quote["file_url"], REP)
    assert (status, body, headers["Content-Type"]) == (200, pdf, "application/pdf")
    assert headers["Content-Disposition"] == f'attachment; filename="note-{quote["id"]}.pdf"'
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, headers, body = await files.get(unknown["file_url"], REP)
    assert (status, body, headers["Content-Type"]) == (200, b"\x00\x01", "application/octet-stream")


async def test_a_file_telegram_will_not_hand_over_gets_a_clear_message(web_bot: Driver) -> None:
    await build_world(web_bot)
    cid = await add_customer(web_bot, REP, "陈静")
    big = b"\x00" * (20 * 1024 * 1024 + 1)  # over getFile's 20 MB
    await notes_of(web_bot, REP, "陈静", ("document", ("video.mp4", big, "video/mp4")), ("photo", PHOTO))
    files = Files(web_bot)
    entries = await timeline(files, cid)
    status, _, body = await files.get(entries["document"]["file_url"], REP)
    assert status == 413
    error(body, "plain.web.file_too_big")

    # Telegram unreachable for a while: said so, and the next try works.
    photo_url = entries["photo"]["file_url"]
    web_bot.standin.faults.add("getFile", "5xx", times=2, status=502)
    status, _, body = await files.get(photo_url, REP)
    assert status == 503
    error(body, "plain.web.file_unreachable")
    status, _, body = await files.get(photo_url, REP)
    assert (status, body) == (200, PHOTO)

    # A file_id Telegram does not know (a note kept from another bot's chats).
    photo_id = entries["photo"]["id"]

    async def forget(session: Any) -> None:
        note = await session.get(Note, photo_id)
        note.file_id = "AgACnot-this-bots-file"
        session.add(note)

    await web_bot.services.db(forget)
    status, _, body = await files.get(photo_url, REP)
    assert status == 404
    error(body, "plain.web.file_gone")
