"""Stored tokens (file kinds, note kinds, stages, states) in the reader's words (issue 16, item 11)."""

from __future__ import annotations

import csv
import io

from bot.console.driver import Driver
from bot.storage.models import Customer, Note
from tests.conftest import FakeClock
from tests.e2e.world import LEAD, REP, add_customer, build_world, texts

ENGLISH_TOKENS = ("voice", "photo", "document", "call", "find", "none", "system", "False", "True")


async def _notes(bot: Driver, name: str) -> int:
    cid = await add_customer(bot, REP, name)
    await bot.send(REP, name)
    await bot.press(REP, "记录")
    await bot.send(REP, "电话沟通了报价")
    await bot.press(REP, "电话")
    await bot.press(REP, "再记一条")
    await bot.send_voice(REP, b"OggS voice")
    await bot.press(REP, "再记一条")
    await bot.send_photo(REP, b"\x89PNG fake")

    async def blocked(session):  # type: ignore[no-untyped-def]
        customer = await session.get(Customer, cid)
        session.add(
            Note(
                customer_id=cid,
                team_id=customer.team_id,
                kind="system",
                meta={"event": "blocked"},
                created_at=bot.services.now(),
            )
        )

    await bot.services.db(blocked)
    return cid


async def test_the_timeline_names_files_in_the_readers_language(bot: Driver) -> None:
    await build_world(bot)
    await _notes(bot, "陈静")
    await bot.send(REP, "陈静")
    timeline = texts(await bot.press(REP, "时间线"))
    assert "[语音]" in timeline and "[照片]" in timeline and "屏蔽" in timeline, timeline
    assert not any(f"[{token}]" in timeline for token in ENGLISH_TOKENS), timeline
    await bot.send(REP, "/language")
    await bot.press(REP, "English")
    await bot.send(REP, "陈静")
    timeline = texts(await bot.press(REP, "Timeline"))
    assert "[voice note]" in timeline and "[photo]" in timeline and "blocked" in timeline, timeline


async def test_exports_and_a_members_day_speak_the_readers_language(bot: Driver, clock: FakeClock) -> None:
    await build_world(bot)
    await _notes(bot, "陈静")
    await bot.send(LEAD, "/team")
    await bot.press(LEAD, "CSV")
    files = [m for m in bot.standin.messages(LEAD) if m.kind == "document"][-2:]
    customers, notes = (
        list(csv.reader(io.StringIO((f.file_bytes or b"").decode("utf-8-sig")))) for f in files
    )
    row = dict(zip(customers[0], customers[1], strict=True))
    assert row["阶段"] == "寻找客户" and row["消息接收"] == "尚未打开" and row["农历生日"] == "", row
    kinds = {r[notes[0].index("类型")] for r in notes[1:]}
    files_kinds = {r[notes[0].index("附件")] for r in notes[1:]}
    assert "📞 电话" in kinds and "call" not in kinds and "system" not in kinds, kinds
    assert {"语音", "照片"} <= files_kinds and "voice" not in files_kinds, files_kinds
    clock.advance(days=1)
    await bot.send(LEAD, "/digest")
    await bot.press(LEAD, "看某位成员的记录")
    day = texts(await bot.press(LEAD, "王芳"))
    assert "[语音]" in day and "[照片]" in day, day
