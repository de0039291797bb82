"""`salesbot run` killed with SIGKILL in the middle of a form or a playbook run, then started again.

Each test runs real `salesbot run` processes, one after the other, on one database and
against one stand-in, which plays Telegram and outlives them: updates the dead process
never confirmed are delivered again to the next one (getUpdates offset), as Telegram
does. A rep goes on where they were, with their answers kept; an update the kill cut
off is applied exactly once: by the new process if the old one had not applied it, and
not again if it had.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.console.driver import SPEC, running_bot
from bot.storage.models import Customer, FlowState, Note, Outcome, Task
from botapi_standin import BotApiStandIn, BotEvent, Held
from tests.e2e.world import REP, add_customer, build_world

TOKEN = "6161616161:AAE-kill-nine-test-token_aaaaaaaaaa"
NOTE = "客户要样品，下周三前寄到"
ROOT = Path(__file__).resolve().parents[2]  # run this checkout's code, not an installed one


@dataclass
class Phone:
    """People typing and tapping in Telegram, whichever `salesbot run` process is polling."""

    standin: BotApiStandIn
    seen: list[BotEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.standin.subscribe(self.seen.append)

    async def send(self, uid: int, text: str, *, expect: str) -> str:
        """Type a message; wait for a reply containing `expect`; everything the bot said since."""
        return await self.after(self.standin.text_update(uid, text), uid, expect)

    async def press(self, uid: int, label: str | int, *, expect: str) -> str:
        """Tap a button on the latest message with buttons; wait as `send` does."""
        return await self.after(self.tap(uid, label), uid, expect)

    def tap(self, uid: int, label: str | int) -> dict[str, Any]:
        """The update for tapping a button, on the latest message that has it (a message the
        bot's own jobs may send meanwhile does not get in the way)."""
        if isinstance(label, int):
            return self.standin.press(uid, label)
        for message in reversed(self.standin.messages(uid, include_deleted=False)):
            for button in message.buttons():
                if label in button["text"] and "callback_data" in button:
                    return self.standin.callback_update(uid, message.message_id, button["callback_data"])
        raise AssertionError(f"no button {label!r} in chat {uid}")

    async def after(self, update: dict[str, Any], uid: int, expect: str) -> str:
        """Queue an update, then wait for the bot to say `expect` in the user's chat."""
        since = len(self.seen)
        self.standin.enqueue(update)
        return await self.reply(uid, expect, since=since)

    async def reply(self, uid: int, expect: str, *, since: int) -> str:
        """Wait until the bot said `expect` to the user after event `since`; all it said since."""
        for _ in range(400):  # 20 s at most: a process starting up on a busy machine
            said = self.said(uid, since=since)
            if expect in said:
                return said
            await asyncio.sleep(0.05)
        raise AssertionError(f"the bot never said {expect!r}; it said: {self.said(uid, since=since)!r}")

    def said(self, uid: int, *, since: int = 0) -> str:
        """Texts, captions and button alerts the bot showed the user after event `since`."""
        parts = []
        for event in self.seen[since:]:
            if event.chat_id != uid:
                continue
            if event.kind in ("send", "edit") and event.message is not None:
                parts.append(event.message.text or event.message.caption or "")
            elif event.kind == "answer" and event.answer is not None:
                parts.append(str(event.answer.get("text") or ""))
        return "\n".join(parts)


@asynccontextmanager
async def salesbot_run(standin: BotApiStandIn, database_url: str, log: Path) -> AsyncIterator[Any]:
    """A real `salesbot run` process polling the stand-in; terminated when the block ends if alive."""
    env = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": standin.base_url,
        "TELEGRAM_FILE_BASE_URL": standin.base_file_url,
        "DATABASE_URL": database_url,
        "SALESBOT_LOG_LEVEL": "INFO",
    }
    with log.open("ab") as out:  # a file, not a pipe: nobody reads it while the process runs
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            'from bot.cli import main; main(["run"])',
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), timeout=20)


async def kill_nine(process: Any) -> None:
    """SIGKILL: no shutdown, no last getUpdates, nothing flushed."""
    os.kill(process.pid, signal.SIGKILL)
    assert await asyncio.wait_for(process.wait(), timeout=10) == -signal.SIGKILL


async def caught(held: Held) -> None:
    """Wait until the bot's request reached the hold."""
    await asyncio.wait_for(held.caught.wait(), timeout=20)


def clean(log: Path) -> None:
    """No process logged an error or a traceback."""
    text = log.read_text(errors="replace")
    assert " ERROR " not in text and "Traceback" not in text, text[-4000:]


async def _company(engine: AsyncEngine, *customers: str) -> None:
    """An admin, two teams with their leads and reps, through the bot; customers of the rep's."""
    async with running_bot(engine=engine) as bot:
        await build_world(bot)
        for name in customers:
            await add_customer(bot, REP, name)


async def _rows(engine: AsyncEngine, model: type, *where: Any) -> list[Any]:
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from sqlmodel.ext.asyncio.session import AsyncSession

    async with async_sessionmaker(engine, class_=AsyncSession)() as session:
        return list((await session.exec(select(model).where(*where))).all())


@asynccontextmanager
async def _telegram() -> AsyncIterator[Phone]:
    async with BotApiStandIn(SPEC, token=TOKEN, bot_username="salesbot_kill_bot") as standin:
        standin.add_user(REP, "王芳")
        yield Phone(standin)


async def test_a_form_killed_after_an_answer_goes_on_in_the_next_process(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    await _company(engine)
    log = tmp_path / "bot.log"
    async with _telegram() as phone:
        async with salesbot_run(phone.standin, database_url, log) as first:
            await phone.send(REP, "/new", expect="客户怎么称呼")
            await phone.send(REP, "张伟", expect="电话号码")
            await phone.send(REP, "13800138001", expect="所在公司")  # acknowledged: the next question
            await kill_nine(first)
        async with salesbot_run(phone.standin, database_url, log):
            # The resume note and the question are two messages: wait for the second.
            said = await phone.send(REP, "/start", expect="所在公司")
            assert "继续" in said and "所在公司" in said and "张伟" in said, said
            await phone.send(REP, "华东建材", expect="从哪里来")
            card = await phone.press(REP, "跳过", expect="客户已添加")
    assert "张伟" in card and "+86 138 0013 8001" in card and "华东建材" in card, card
    added = await _rows(engine, Customer, col(Customer.name) == "张伟")
    assert [(c.phone, c.company) for c in added] == [("+86 138 0013 8001", "华东建材")]
    assert await _rows(engine, FlowState, col(FlowState.user_id) == REP) == []
    clean(log)


async def test_a_playbook_run_killed_midway_goes_on_with_its_typed_answer(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    await _company(engine, "刘洋")
    words = "担心放在云上数据不安全"
    log = tmp_path / "bot.log"
    async with _telegram() as phone:
        async with salesbot_run(phone.standin, database_url, log) as first:
            await phone.send(REP, "刘洋", expect="📇")
            await phone.press(REP, "▶️", expect="刘洋的剧本")
            await phone.press(REP, "处理异议", expect="第 1 步")
            await phone.press(REP, "下一步", expect="第 2 步")
            await phone.press(REP, "下一步", expect="第 3 步")
            await phone.send(REP, words, expect="第 4 步")
            await phone.press(REP, "产品：", expect="第 5 步")
            await kill_nine(first)
        async with salesbot_run(phone.standin, database_url, log):
            said = await phone.send(REP, "/start", expect="第 5 步")
            assert "继续" in said and "处理异议" in said, said
            await phone.press(REP, "下一步", expect="第 6 步")
            await phone.press(REP, 1, expect="第 7 步")
            await phone.press(REP, "下一步", expect="第 8 步")
            said = await phone.press(REP, "化解了", expect="已完成")
    customer = (await _rows(engine, Customer, col(Customer.name) == "刘洋"))[0]
    assert customer.extra["products_used"].endswith(words), customer.extra
    assert customer.extra["products_used"].count(words) == 1
    outcomes = await _rows(engine, Outcome, col(Outcome.customer_id) == customer.id)
    assert [(o.type, o.result) for o in outcomes] == [("product", "resolved")]
    summary = await _rows(engine, Note, col(Note.customer_id) == customer.id, col(Note.kind) == "playbook")
    assert len(summary) == 1 and words in (summary[0].text or "")
    clean(log)


async def test_a_press_the_kill_cut_off_before_it_was_applied_is_applied_by_the_next_process(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    await _company(engine)
    log = tmp_path / "bot.log"
    async with _telegram() as phone:
        async with salesbot_run(phone.standin, database_url, log) as first:
            await phone.send(REP, "/new", expect="客户怎么称呼")
            await phone.send(REP, "张伟", expect="电话号码")
            await phone.send(REP, "13800138001", expect="所在公司")
            # The rep taps Skip; the bot's answer to the tap is still on its way when it dies.
            held = phone.standin.hold("answerCallbackQuery")
            since = len(phone.seen)
            phone.standin.enqueue(phone.tap(REP, "跳过"))
            await caught(held)
            await kill_nine(first)
        async with salesbot_run(phone.standin, database_url, log):
            # Nobody taps again: Telegram hands the unconfirmed tap to the new process.
            said = await phone.reply(REP, "从哪里来", since=since)
            assert said.count("从哪里来") == 1, said
            card = await phone.press(REP, "跳过", expect="客户已添加")
    assert "张伟" in card and "+86 138 0013 8001" in card, card
    added = await _rows(engine, Customer, col(Customer.name) == "张伟")
    assert [(c.phone, c.company) for c in added] == [("+86 138 0013 8001", None)]
    clean(log)


async def test_a_note_and_a_reminder_applied_just_before_the_kill_are_not_applied_again(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    await _company(engine, "刘洋")
    log = tmp_path / "bot.log"
    async with _telegram() as phone:
        async with salesbot_run(phone.standin, database_url, log) as first:
            await phone.send(REP, "刘洋", expect="📇")
            await phone.press(REP, "记录", expect="记一条")
            # The note is saved; the bot dies before "saved" reaches the rep.
            held = phone.standin.hold("sendMessage", chat_id=REP)
            phone.standin.enqueue(phone.standin.text_update(REP, NOTE))
            await caught(held)
            await kill_nine(first)
        async with salesbot_run(phone.standin, database_url, log) as second:
            since = len(phone.seen)
            await phone.send(REP, "/start", expect="菜单")
            # The note came again before /start: it was neither saved again nor taken as a search.
            assert "菜单" in phone.said(REP, since=since).split("\n")[0], phone.said(REP, since=since)
            held = phone.standin.hold("sendMessage", chat_id=REP)
            phone.standin.enqueue(phone.standin.text_update(REP, "/remind 明天给刘洋打电话"))
            await caught(held)
            await kill_nine(second)
        async with salesbot_run(phone.standin, database_url, log):
            since = len(phone.seen)
            await phone.send(REP, "/start", expect="菜单")
            assert "菜单" in phone.said(REP, since=since).split("\n")[0], phone.said(REP, since=since)
    cid = (await _rows(engine, Customer, col(Customer.name) == "刘洋"))[0].id
    notes = await _rows(engine, Note, col(Note.customer_id) == cid, col(Note.text) == NOTE)
    assert len(notes) == 1
    tasks = await _rows(engine, Task, col(Task.owner_id) == REP)
    assert [t.text for t in tasks] == ["给刘洋打电话"]
    clean(log)


async def test_a_tap_answered_just_before_the_kill_comes_again_without_an_error(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    await _company(engine)
    log = tmp_path / "bot.log"
    async with _telegram() as phone:
        async with salesbot_run(phone.standin, database_url, log) as first:
            await phone.send(REP, "/menu", expect="菜单")
            # The tap is answered (the phone stops spinning); the language picker is still on
            # its way. Nothing was written, so nothing says the tap was handled.
            held = phone.standin.hold("editMessageText", chat_id=REP)
            phone.standin.enqueue(phone.tap(REP, "English"))
            await caught(held)
            await kill_nine(first)
        async with salesbot_run(phone.standin, database_url, log):
            since = len(phone.seen)
            # Telegram hands the tap to the new process, which can no longer answer it: no
            # apology for that, and the bot goes on.
            await phone.send(REP, "/menu", expect="菜单")
            assert "出了点问题" not in phone.said(REP, since=since), phone.said(REP, since=since)
    clean(log)
