"""PostgreSQL restarted while the bot runs: the bot recovers without a restart of its own.

The test server is really stopped and started (the commands scripts/test.sh gives), in
the middle of a conversation. What arrives meanwhile is answered once the server is
back within the retry window, or the user is told, in their language, to try again,
and Retry applies it once; a form in progress survives; a transaction cut between its
statements leaves nothing behind; the scheduled jobs and the care worker skip the
outage with a warning and go on after it. No ERROR is logged (the autouse check in
tests/conftest.py), and the engines are disposed, so the tests after these find the
server up with nothing held.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, func, select

from bot.console.driver import Driver, running_bot
from bot.scheduling import jobs
from bot.scheduling.dispatcher import Dispatcher
from bot.storage.db import make_session_factory, transaction
from bot.storage.models import Customer, FlowState, Note, OutboxMessage, Team, User
from tests.conftest import FakeClock, PgServer
from tests.e2e.world import REP, REP2, add_customer, build_world, texts

STRANGER_EN = 9  # a newcomer whose Telegram speaks English: the bot must read the database first
QUICK = (0.05, 0.1)  # retry delays for the outages meant to outlast them


async def _count(bot: Driver, model: type, *where: object) -> int:
    async def count(session):  # type: ignore[no-untyped-def]
        return (await session.exec(select(func.count()).select_from(model).where(*where))).one()

    return int(await bot.services.db(count))


async def _note_form(bot: Driver, user: int, customer: str, *, english: bool = False) -> int:
    """The user adds a customer, opens the card by searching and starts a note; its id."""
    cid = await add_customer(bot, user, customer)
    if english:
        await bot.send(user, "/language")
        assert "Language: English" in texts(await bot.press(user, "English"))
    assert customer in texts(await bot.send(user, customer))
    assert "📝" in texts(await bot.press(user, "📝"))
    return cid


def _retried(caplog: pytest.LogCaptureFixture) -> bool:
    return any(r.getMessage().startswith("database busy") for r in caplog.records)


async def _until(done: Callable[[], bool], *, still: asyncio.Task[Any] | None = None) -> None:
    """Wait until `done()`, while `still` (if given) is running; give up after a long while."""
    for _ in range(6000):
        if done():
            return
        assert still is None or not still.done(), f"{still.get_name()} ended: {still}"
        await asyncio.sleep(0.01)
    raise AssertionError("waited too long")


async def test_a_message_sent_while_the_server_restarts_is_answered_when_it_is_back(
    engine: AsyncEngine, clock: FakeClock, pg_server: PgServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.runtime")
    async with running_bot(engine=engine, clock=clock) as bot:  # the production retry delays
        await build_world(bot)
        cid = await _note_form(bot, REP, "张伟")

        await pg_server.stop()
        sending = asyncio.create_task(bot.send(REP, "电话沟通，下周报价"), name="the rep's note")
        await _until(lambda: _retried(caplog), still=sending)  # it arrived while the server was down
        await pg_server.start()
        replies = await sending

        assert "✅ 已记录到 <b>张伟</b>" in texts(replies)
        assert await _count(bot, Note, col(Note.customer_id) == cid) == 1
        # The pooled connections that died were replaced: nothing waits any more.
        caplog.clear()
        assert "张伟" in texts(await bot.press(REP, "打开资料卡"))
        await bot.press(REP, "📝")
        assert "✅ 已记录到" in texts(await bot.send(REP, "又打了一次"))
        assert not _retried(caplog)
        assert await _count(bot, Note, col(Note.customer_id) == cid) == 2


async def test_a_longer_outage_tells_the_user_to_try_again_and_retry_saves_once(
    engine: AsyncEngine, clock: FakeClock, pg_server: PgServer
) -> None:
    async with running_bot(engine=engine, clock=clock, retry_delays=QUICK) as bot:
        await build_world(bot)
        await _note_form(bot, REP, "张伟")
        await _note_form(bot, REP2, "Anna", english=True)
        bot.user(STRANGER_EN, "Jane", language="en")

        await pg_server.stop()
        zh = await bot.send(REP, "电话沟通，下周报价")
        en = await bot.send(REP2, "Called, quote next week")
        newcomer = await bot.send(STRANGER_EN, "hello")
        await pg_server.start()

        assert "系统繁忙。您发送的内容已保留" in texts(zh)
        assert [b["text"] for b in zh[-1].buttons()] == ["🔁 重试"]
        assert "I'm busy for a moment. What you sent is kept" in texts(en)
        assert [b["text"] for b in en[-1].buttons()] == ["🔁 Try again"]
        assert "I'm busy for a moment" in texts(newcomer), "unknown yet: their Telegram's language"
        assert await _count(bot, Note) == 0
        assert await _count(bot, FlowState, col(FlowState.flow) == "note") == 2, "the forms survived"

        assert "✅ 已记录到 <b>张伟</b>" in texts(await bot.press(REP, "重试"))
        assert "✅ Note saved for <b>Anna</b>" in texts(await bot.press(REP2, "Try again"))
        assert "I am a sales assistant" in texts(await bot.press(STRANGER_EN, "Try again"))
        # An old Retry pressed again replays nothing.
        assert await bot.callback(REP, zh[-1].message_id, "rt") == []
        assert await _count(bot, Note, col(Note.text) == "电话沟通，下周报价") == 1
        assert await _count(bot, Note, col(Note.text) == "Called, quote next week") == 1


@pytest.mark.parametrize("outage", ["restarted", "stopped"])
async def test_a_transaction_cut_between_its_statements_leaves_nothing_half_written(
    engine: AsyncEngine, clock: FakeClock, pg_server: PgServer, outage: str
) -> None:
    """A note is two statements: the card's update (its last-touched time) and the note.

    The server goes down after the first, before the second. Restarted at once, the
    whole transaction is run again; left down, nothing of it remains, the form is still
    open, and Retry saves both, once.
    """
    async with running_bot(engine=engine, clock=clock, retry_delays=QUICK) as bot:
        await build_world(bot)
        cid = await _note_form(bot, REP, "张伟")
        created = (await bot.services.db(lambda s: s.get(Customer, cid))).updated_at
        clock.advance(hours=1)

        inserts: list[str] = []

        def cut(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if not statement.lstrip().upper().startswith("INSERT INTO NOTES"):
                return
            inserts.append(statement)
            if len(inserts) == 1:
                pg_server.stop_now()  # the card's UPDATE has run in this transaction
                if outage == "restarted":
                    pg_server.start_now()

        event.listen(engine.sync_engine, "before_cursor_execute", cut)
        try:
            replies = await bot.send(REP, "电话沟通，下周报价")
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", cut)

        if outage == "restarted":
            assert len(inserts) == 2, "the transaction was run again from its start"
        else:
            assert "系统繁忙" in texts(replies)
            await pg_server.start()
            card = await bot.services.db(lambda s: s.get(Customer, cid))
            assert card.updated_at == created, "the card's update was kept without its note"
            assert await _count(bot, Note, col(Note.customer_id) == cid) == 0
            assert await _count(bot, FlowState, col(FlowState.user_id) == REP) == 1
            replies = await bot.press(REP, "重试")
        assert "✅ 已记录到 <b>张伟</b>" in texts(replies)
        card = await bot.services.db(lambda s: s.get(Customer, cid))
        assert card.updated_at == clock.current
        assert await _count(bot, Note, col(Note.customer_id) == cid) == 1
        assert await _count(bot, FlowState, col(FlowState.user_id) == REP) == 0


async def test_the_scheduled_jobs_skip_the_outage_with_a_warning_and_go_on_after(
    engine: AsyncEngine, clock: FakeClock, pg_server: PgServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(engine=engine, clock=clock, retry_delays=QUICK) as bot:
        await build_world(bot)
        cid = await add_customer(bot, REP, "张伟")

        async def birthday_tomorrow(session):  # type: ignore[no-untyped-def]
            customer = await session.get(Customer, cid)
            customer.birthday_month, customer.birthday_day = 11, 24
            session.add(customer)

        await bot.services.db(birthday_tomorrow)
        clock.current = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)  # 07:00 in Shanghai on the 24th
        # The bot's own jobs, taken off their timers and run by hand.
        queue = bot.app.job_queue
        assert queue is not None
        jobs.schedule(queue)
        scheduled = {job.name: job for job in queue.jobs()}
        assert set(scheduled) == {"_plan_care", "_build_digests", "_dispatch_care", "_tidy_runs"}
        for job in scheduled.values():
            job.schedule_removal()

        async def run_all() -> None:
            for job in scheduled.values():
                await job.run(bot.app)
            for task in [t for t in asyncio.all_tasks() if t.get_name() in ("care-dispatch", "digest-build")]:
                await task

        await pg_server.stop()
        await run_all()
        warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        for what in ("care planning", "care dispatch", "tidying playbook runs"):
            assert f"{what} skipped: the database is unavailable; the next run tries again" in warned
        await pg_server.start()

        await run_all()  # plans the morning agenda
        clock.current = datetime(2026, 11, 24, 0, 0, 5, tzinfo=UTC)  # 08:00 in Shanghai
        await run_all()  # sends it
        assert "今天生日" in texts(bot.standin.messages(REP)[-1:])


async def test_the_care_worker_waits_out_the_outage_and_sends_after_it(
    engine: AsyncEngine, clock: FakeClock, pg_server: PgServer, caplog: pytest.LogCaptureFixture
) -> None:
    chat = 10_001
    async with transaction(make_session_factory(engine)) as session:
        session.add(User(telegram_id=REP, name="王芳"))
        team = Team(name="Alpha")
        session.add(team)
        await session.flush()
        assert team.id is not None
        customer = Customer(team_id=team.id, owner_id=REP, name="张伟", optin_code="c0")
        session.add(customer)
        await session.flush()
        session.add(
            OutboxMessage(
                key="outage:1",
                team_id=team.id,
                customer_id=customer.id,
                rep_id=REP,
                occasion="birthday",
                day=clock.current.date(),
                channel="telegram",
                chat_id=chat,
                text="生日快乐！",
                status="planned",
                due_at=clock.current - timedelta(seconds=1),
            )
        )
    async with running_bot(engine=engine, clock=clock, retry_delays=QUICK) as bot:
        bot.standin.add_user(chat, "张伟", started=True)
        services = bot.services
        await pg_server.stop()
        worker = asyncio.create_task(
            jobs.run_worker(services, Dispatcher(services, bot.app.bot, per_chat=0.0)), name="care worker"
        )
        try:
            await _until(
                lambda: any(
                    "care worker: the database is unavailable" in r.getMessage() for r in caplog.records
                ),
                still=worker,
            )
            await pg_server.start()
            await _until(lambda: bool(bot.standin.messages(chat)), still=worker)
        finally:
            worker.cancel()
        assert [m.text for m in bot.standin.messages(chat)] == ["生日快乐！"]
