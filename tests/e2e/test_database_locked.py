"""SQLite held by another process's write transaction for longer than the bot waits.

Another OS process takes the write lock (`BEGIN IMMEDIATE`) and keeps it until the test
lets go. The bot waits its busy timeout on every attempt, retries, then tells the user
it is busy, in their language; what they sent is applied at most once, whether they
press Retry after the lock is gone or type it again instead; a button pressed meanwhile
can be pressed again; and the bot goes on.

The waits are shortened for the test (busy timeout and retry delays), not patched.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, func, select

from bot.console.driver import Driver, running_bot
from bot.storage.db import make_engine
from bot.storage.models import Customer, FlowState, Note
from tests.conftest import PG_URL, FakeClock
from tests.e2e.world import LEAD, REP, REP2, add_customer, build_world, texts

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="a file lock held by another process is SQLite's case")

# What another process runs: take SQLite's write lock, say so, keep it until told to stop.
HOLDER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
db.execute("ROLLBACK")
"""

BUSY_ZH = "系统繁忙。您发送的内容已保留"
BUSY_EN = "I'm busy for a moment. What you sent is kept"
PRESS_AGAIN_ZH = "系统繁忙，刚才的操作没有生效。请稍后再按一次按钮。"
PRESS_AGAIN_EN = "I'm busy for a moment, so nothing was changed. Press the button again shortly."


@asynccontextmanager
async def write_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """Another OS process holds the database's write lock until the block ends."""
    path = engine.url.database
    assert path
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, path, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert (await holder.stdout.readline()).strip() == b"locked"
        yield
    finally:
        holder.stdin.write(b"\n")
        await holder.stdin.drain()
        assert await holder.wait() == 0


@pytest.fixture
async def bot(engine: AsyncEngine, clock: FakeClock) -> AsyncIterator[Driver]:
    """The bot on the test database, waiting 50 ms for a lock per attempt, three attempts."""
    impatient = make_engine(engine.url.render_as_string(hide_password=False), sqlite_busy_timeout_ms=50)
    try:
        async with running_bot(engine=impatient, clock=clock, retry_delays=(0.01, 0.02)) as driver:
            yield driver
    finally:
        await impatient.dispose()


STRANGER_EN = 9  # a newcomer whose Telegram speaks English: their first message writes


async def _count(bot: Driver, model: type, *where: object) -> int:
    async def count(session):  # type: ignore[no-untyped-def]
        return (await session.exec(select(func.count()).select_from(model).where(*where))).one()

    return int(await bot.services.db(count))


async def _notes(bot: Driver, text: str) -> int:
    return await _count(bot, Note, col(Note.text) == text)


async def _note_form(bot: Driver, user: int, customer: str, *, english: bool = False) -> None:
    """The user opens a customer's card by searching their name and starts a note."""
    await add_customer(bot, user, customer)
    if english:
        await bot.send(user, "/language")
        assert "Language: English" in texts(await bot.press(user, "English"))
    card = await bot.send(user, customer)
    assert customer in texts(card)
    assert "📝" in texts(await bot.press(user, "📝"))


async def test_a_note_typed_while_locked_is_kept_and_saved_once_by_retry(
    bot: Driver, engine: AsyncEngine
) -> None:
    await build_world(bot)
    await _note_form(bot, REP, "张伟")
    await _note_form(bot, REP2, "Anna", english=True)
    bot.user(STRANGER_EN, "Jane", language="en")

    async with write_lock(engine):
        zh = await bot.send(REP, "电话沟通，下周报价")
        en = await bot.send(REP2, "Called, quote next week")
        newcomer = await bot.send(STRANGER_EN, "hello")
        # Reading is not blocked: a lead still finds the card meanwhile.
        assert "张伟" in texts(await bot.send(LEAD, "张伟"))

    assert BUSY_ZH in texts(zh) and [b["text"] for b in zh[-1].buttons()] == ["🔁 重试"]
    assert BUSY_EN in texts(en) and [b["text"] for b in en[-1].buttons()] == ["🔁 Try again"]
    # Unknown to the database yet: told in their Telegram's language.
    assert BUSY_EN in texts(newcomer)
    assert await _notes(bot, "电话沟通，下周报价") == 0
    assert await _count(bot, FlowState, col(FlowState.flow) == "note") == 2, "the forms are still open"

    replies = await bot.press(REP, "重试")
    assert "✅ 已记录到 <b>张伟</b>" in texts(replies)
    replies = await bot.press(REP2, "Try again")
    assert "✅ Note saved for <b>Anna</b>" in texts(replies)
    replies = await bot.press(STRANGER_EN, "Try again")
    assert "I am a sales assistant" in texts(replies)
    assert await _notes(bot, "电话沟通，下周报价") == 1
    assert await _notes(bot, "Called, quote next week") == 1

    # The same Retry pressed again has nothing left to replay.
    assert await bot.callback(REP, zh[-1].message_id, "rt") == []
    assert bot.standin.callback_answers[-1]["text"] == "没有需要重试的内容。"
    assert await bot.callback(REP2, en[-1].message_id, "rt") == []
    assert bot.standin.callback_answers[-1]["text"] == "Nothing is waiting to be retried."
    assert await _notes(bot, "电话沟通，下周报价") == 1
    assert await _notes(bot, "Called, quote next week") == 1


async def test_typing_it_again_instead_of_retry_saves_it_once(bot: Driver, engine: AsyncEngine) -> None:
    await build_world(bot)
    await _note_form(bot, REP, "张伟")
    async with write_lock(engine):
        busy = await bot.send(REP, "寄了样品")
    assert BUSY_ZH in texts(busy)
    # The lock is gone; the rep types it again rather than pressing Retry, starts the
    # next note, and only then presses the old Retry: it must not land in the new form.
    assert "✅ 已记录到" in texts(await bot.send(REP, "寄了样品"))
    assert "📝" in texts(await bot.press(REP, "再记一条"))
    replies = await bot.callback(REP, busy[-1].message_id, "rt")
    assert await _notes(bot, "寄了样品") == 1, "the old message was saved again, into the new form"
    assert replies == [] and bot.standin.callback_answers[-1]["text"] == "没有需要重试的内容。"

    # Typed twice while still locked, then Retry: the form takes the first, once; the
    # second, with no form open any more, is only a search.
    async with write_lock(engine):
        assert BUSY_ZH in texts(await bot.send(REP, "约了周五拜访"))
        assert BUSY_ZH in texts(await bot.send(REP, "约了周五拜访"))
    replies = await bot.press(REP, "重试")
    assert "✅ 已记录到" in texts(replies)
    assert await _notes(bot, "约了周五拜访") == 1
    # And the bot goes on.
    assert "张伟" in texts(await bot.send(REP, "张伟"))


async def test_a_button_pressed_while_locked_can_be_pressed_again(bot: Driver, engine: AsyncEngine) -> None:
    await build_world(bot)
    await bot.send(REP, "/new")
    await bot.send(REP, "刘洋")
    await bot.press(REP, "跳过")
    await bot.press(REP, "跳过")  # the last step is next: its Skip saves the card
    async with write_lock(engine):
        replies = await bot.press(REP, "跳过")
    assert PRESS_AGAIN_ZH in texts(replies) and "重试" not in texts(replies)
    assert await _count(bot, Customer, col(Customer.name) == "刘洋") == 0
    replies = await bot.press(REP, "跳过")  # the form's buttons are back
    assert "客户已添加" in texts(replies)
    assert await _count(bot, Customer, col(Customer.name) == "刘洋") == 1

    # A button that answers only after saving: its pop-up says so, in the user's language.
    await _note_form(bot, REP2, "Anna", english=True)
    await bot.send(REP2, "Talked about the quote")
    async with write_lock(engine):
        await bot.press(REP2, "Call")
    answer = bot.standin.callback_answers[-1]
    assert answer["text"] == PRESS_AGAIN_EN and answer["show_alert"] is True
    assert "✅ Saved as" in texts(await bot.press(REP2, "Call"))
    assert await _count(bot, Note, col(Note.text) == "Talked about the quote", col(Note.kind) == "call") == 1
