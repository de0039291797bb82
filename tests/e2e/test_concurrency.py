"""Many people at once through the real Application: each person's updates in turn, others' alongside.

Overlap is proven with events, never with timing: a test-only handler (group -2, before
the access gate) holds a chosen update until the test releases it, and another user's
update is answered meanwhile. Updates meant to arrive "at the same moment" are all built
first (a tap carries the buttons as they were when it was built) and handed over
together, the first held until the processor has taken in all of them, so one that
went ahead of its turn is caught every time, not by luck. `within` only turns a hang
(what a missing or misplaced lock would cause) into a failure; no assertion depends on
how long anything took.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from telegram import Update
from telegram.ext import TypeHandler

from bot.config import Settings
from bot.console.driver import Driver, running_bot
from bot.domain.errors import Busy
from bot.playbooks.engine import RunState
from bot.storage.models import Customer, Note, PlaybookRun
from bot.telegram.ordering import OrderedUpdateProcessor
from botapi_standin import BotEvent
from tests.conftest import FakeClock
from tests.e2e.world import LEAD, REP, REP2, add_customer, build_world, invite_rep, texts

HANG_GUARD = 60.0  # seconds: only turns a hang into a failure
STALE = "此内容已失效"
ADDED = "客户已添加"
NOTED = "已记录到"
BUSY = "系统繁忙"
UNEXPECTED = "出了点问题"


async def within(*waits: Awaitable[Any]) -> list[Any]:
    """Wait for what must finish; a processor that wrongly holds it fails instead of hanging."""
    return await asyncio.wait_for(asyncio.gather(*waits), HANG_GUARD)


async def accepted(bot: Driver, count: int) -> None:
    """Until the update processor has taken in `count` updates (running or waiting their turn)."""
    while bot.app.update_processor.current_concurrent_updates < count:
        await asyncio.sleep(0)


async def rows(bot: Driver, model: type, *where: Any) -> list[Any]:
    """Rows of a table, read straight from the database."""

    async def load(session: Any) -> list[Any]:
        return list((await session.exec(select(model).where(*where))).all())

    return await bot.services.db(load)


def said(update: Update) -> str:
    """What an update says: a message's text or a button's data."""
    if update.callback_query is not None:
        return update.callback_query.data or ""
    return (update.message.text if update.message is not None else None) or ""


class Hold:
    """A test-only handler, in front of all others, that holds one update until released.

    It notes every update that reaches it, so an update not noted yet is one still
    waiting for its turn in the update processor.
    """

    def __init__(self, update_id: int) -> None:
        self.update_id = update_id
        self.entered, self.release = asyncio.Event(), asyncio.Event()
        self.seen: list[str] = []

    async def __call__(self, update: Update, context: Any) -> None:
        self.seen.append(said(update))
        if update.update_id == self.update_id:
            self.entered.set()
            await self.release.wait()


@contextlib.asynccontextmanager
async def holding(bot: Driver, payload: dict[str, Any]) -> AsyncIterator[Hold]:
    """Hold this update on its way in while the block runs (released even when it fails, or
    the held update would keep the bot from stopping)."""
    held = Hold(payload["update_id"])
    handler = TypeHandler(Update, held)
    bot.app.add_handler(handler, group=-2)
    try:
        yield held
    finally:
        held.release.set()
        bot.app.remove_handler(handler, group=-2)


async def at_once(bot: Driver, payloads: list[dict[str, Any]]) -> None:
    """Hand updates over as if they arrived together.

    The first is held on its way in until the processor has taken in all of them: none
    that must wait for it may have started meanwhile.
    """
    async with holding(bot, payloads[0]) as held:
        feeding = asyncio.gather(*(bot.feed(payload) for payload in payloads))
        await within(held.entered.wait(), accepted(bot, len(payloads)))
        assert held.seen == [said(Update.de_json(payloads[0], bot.app.bot))], "one went ahead of its turn"
    await within(feeding)


def told(bot: Driver, chat_id: int) -> str:
    """Everything the bot has sent to a chat so far."""
    return texts(bot.standin.messages(chat_id))


async def test_a_lead_held_up_does_not_keep_a_rep_waiting_and_keeps_their_own_order(bot: Driver) -> None:
    await build_world(bot)
    await add_customer(bot, REP, "张伟")
    help_, menu = bot.standin.text_update(LEAD, "/help"), bot.standin.text_update(LEAD, "/menu")
    async with holding(bot, help_) as held:
        first = asyncio.create_task(bot.feed(help_))
        await within(held.entered.wait())
        second = asyncio.create_task(bot.feed(menu))
        replies = (await within(bot.send(REP, "张伟")))[0]
        assert "📇 <b>张伟</b>" in texts(replies)  # answered while the lead's update is held
        assert not first.done()
        assert held.seen == ["/help", "张伟"]  # the lead's /menu waits for their /help
    await within(first, second)
    answers = bot.new_messages(LEAD)
    assert "组长可以做什么" in texts(answers[:1]) and "🏠 <b>菜单</b>" in texts(answers[1:])


async def test_a_form_answered_by_fast_messages_reads_them_in_order(bot: Driver) -> None:
    await build_world(bot)
    typed = ["/new", "刘洋", "13800138001", "华东建材"]
    await at_once(bot, [bot.standin.text_update(REP, text) for text in typed])
    card = texts(await bot.press(REP, "跳过"))
    assert ADDED in card and "刘洋" in card and "华东建材" in card and "+86 138 0013 8001" in card
    assert STALE not in told(bot, REP)


async def test_a_double_tap_on_a_forms_last_button_adds_the_customer_once(bot: Driver) -> None:
    await build_world(bot)
    await bot.send(REP, "/new")
    await bot.send(REP, "刘洋")
    await bot.press(REP, "跳过")
    await bot.press(REP, "跳过")
    await at_once(bot, [bot.standin.press(REP, "跳过"), bot.standin.press(REP, "跳过")])
    assert len(await rows(bot, Customer, col(Customer.name) == "刘洋")) == 1
    assert told(bot, REP).count(ADDED) == 1
    assert sum(STALE in str(a.get("text")) for a in bot.standin.callback_answers) == 1


async def test_fast_taps_on_a_playbook_step_move_the_run_once_by_the_first(bot: Driver) -> None:
    await build_world(bot)
    cid = await add_customer(bot, REP, "陈静")
    await bot.press(REP, "▶️ 剧本")
    assert "陈静是从哪里来的" in texts(await bot.press(REP, "评估新客户"))
    await at_once(
        bot, [bot.standin.press(REP, label) for label in ("互联网", "合作伙伴推荐", "合作伙伴推荐")]
    )
    (run,) = await rows(bot, PlaybookRun, col(PlaybookRun.customer_id) == cid)
    state = RunState.from_json(run.state)
    assert state.answers["source"] == "internet" and state.trail.count("source") == 1
    assert sum(STALE in str(a.get("text")) for a in bot.standin.callback_answers) == 2


async def test_twenty_reps_writing_at_once_lose_nothing(bot: Driver) -> None:
    await build_world(bot)
    reps = list(range(100, 120))
    for rep in reps:
        bot.user(rep, f"Rep {rep}")
        await invite_rep(bot, LEAD, rep)

    async def work(rep: int) -> None:
        await bot.send(rep, "/new")
        await bot.send(rep, f"客户{rep}")
        await bot.send(rep, f"1380013{rep:04d}")
        await bot.press(rep, "跳过")
        assert ADDED in texts(await bot.press(rep, "跳过"))
        await bot.press(rep, "记录")
        assert NOTED in texts(await bot.send(rep, f"第一次拜访，客户{rep}"))

    await within(*(work(rep) for rep in reps))
    for rep in reps:
        (customer,) = await rows(bot, Customer, col(Customer.owner_id) == rep)
        assert customer.name == f"客户{rep}"
        notes = await rows(bot, Note, col(Note.customer_id) == customer.id)
        assert f"第一次拜访，客户{rep}" in [n.text for n in notes]
        assert BUSY not in told(bot, rep) and UNEXPECTED not in told(bot, rep)


async def test_retry_replays_an_unsaved_message_without_waiting_for_itself(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    # One update at a time: the tightest setting for a replay started from inside a handler.
    settings = Settings(
        DATABASE_URL=engine.url.render_as_string(hide_password=False), SALESBOT_CONCURRENT_UPDATES=1
    )
    async with running_bot(engine=engine, clock=clock, settings=settings) as bot:
        await build_world(bot)
        await add_customer(bot, REP, "张伟")
        await bot.press(REP, "记录")
        services = bot.services
        real_db = services.db
        unavailable = True

        async def db(work: Callable[[Any], Awaitable[Any]], **options: Any) -> Any:
            if unavailable:
                raise Busy()
            return await real_db(work, **options)

        services.db = db  # type: ignore[method-assign]
        assert BUSY in texts(await bot.send(REP, "忙的时候写的记录"))
        unavailable = False
        replies = (await within(bot.press(REP, "重试")))[0]
        assert NOTED in texts(replies)
        notes = await rows(bot, Note, col(Note.text) == "忙的时候写的记录")
        assert len(notes) == 1


async def test_a_member_removed_while_their_update_reads_their_role_is_not_remembered(bot: Driver) -> None:
    await build_world(bot)
    bot.services.identities.forget(REP2)  # their next update reads their role from the database
    entered, release = asyncio.Event(), asyncio.Event()
    real_db = bot.services.db

    async def db(work: Callable[[Any], Awaitable[Any]], **options: Any) -> Any:
        result = await real_db(work, **options)
        task = asyncio.current_task()
        if task is not None and task.get_name() == "held" and not release.is_set():
            entered.set()  # their role is read, not yet remembered
            await release.wait()
        return result

    bot.services.db = db  # type: ignore[method-assign]
    held = asyncio.create_task(bot.send(REP2, "/help"), name="held")
    try:
        await within(entered.wait())
        await within(bot.send(LEAD, "/team"))
        await within(bot.press(LEAD, "Tom"))
        await within(bot.press(LEAD, "移出团队"))
        await within(bot.press(LEAD, "确认"))
    finally:
        release.set()
    await within(held)
    assert "邀请链接" in texts(await bot.send(REP2, "/new"))  # not a rep any more, at once


async def test_polled_updates_take_the_same_way(bot: Driver) -> None:
    await build_world(bot)
    await add_customer(bot, REP, "张伟")
    assert isinstance(bot.app.update_processor, OrderedUpdateProcessor)
    answered: dict[int, asyncio.Event] = {LEAD: asyncio.Event(), REP: asyncio.Event()}

    def record(event: BotEvent) -> None:
        if event.kind == "send" and event.chat_id in answered:
            answered[event.chat_id].set()

    bot.standin.subscribe(record)
    help_ = bot.standin.text_update(LEAD, "/help")
    assert bot.app.updater is not None
    await bot.app.updater.start_polling(poll_interval=0.0, timeout=1, allowed_updates=Update.ALL_TYPES)
    try:
        async with holding(bot, help_) as held:
            assert bot.standin.enqueue(help_)["update_id"] == held.update_id
            await within(held.entered.wait())
            bot.standin.enqueue(bot.standin.text_update(REP, "张伟"))
            await within(answered[REP].wait())
            assert "📇 <b>张伟</b>" in (bot.last(REP).text or "")
            assert not answered[LEAD].is_set()
        await within(answered[LEAD].wait())
    finally:
        await bot.app.updater.stop()
