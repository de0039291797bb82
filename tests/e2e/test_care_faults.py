"""Telegram failing while the outbox sends: a message Telegram may have delivered is never sent again.

A call Telegram certainly did not do (refused past the bounded retries) goes back to the
queue and is sent later, once. A call it may have done (the answer came too late) is
finished as "unconfirmed": not resent after any delay, counted apart in the lead's
digest, and shown on the customer's timeline for the rep.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.console.driver import Driver, running_bot
from bot.scheduling import outbox
from bot.scheduling.dispatcher import Dispatcher
from bot.scheduling.jobs import plan_now
from bot.storage.models import Customer, Note, OutboxMessage, Purchase
from tests.conftest import FakeClock
from tests.e2e.world import CUSTOMER, LEAD, REP, add_customer, build_world, payload, texts

RETRIES = (0.05, 0.1, 0.2)  # three more tries after the first, as in production (shorter pauses)
TRIES = 1 + len(RETRIES)
READ_TIMEOUT = 1.0  # how long the bot waits for an answer
LATE = 2.5  # an answer this late comes after the bot stopped waiting
AFTER_EVERY_RETRY = sum(outbox.RETRY_DELAYS) + 60  # seconds: past any retry the outbox could plan


@pytest.fixture
async def bot(engine: AsyncEngine, clock: FakeClock) -> AsyncIterator[Driver]:
    """The real bot with short pauses between tries and a short read timeout."""
    async with running_bot(
        engine=engine,
        clock=clock,
        retry_delays=(0.05, 0.1),
        telegram_retry_delays=RETRIES,
        telegram_read_timeout=READ_TIMEOUT,
    ) as driver:
        yield driver


async def _rows(bot: Driver, *where: object) -> list[OutboxMessage]:
    async def load(session):  # type: ignore[no-untyped-def]
        return list((await session.exec(select(OutboxMessage).where(*where))).all())

    return await bot.services.db(load)


def _dispatcher(bot: Driver) -> Dispatcher:
    return Dispatcher(bot.services, bot.app.bot, per_chat=0.0)


def _greetings(bot: Driver) -> list[str]:
    return [m.text or "" for m in bot.standin.messages(CUSTOMER) if "生日快乐" in (m.text or "")]


async def _birthday_due_now(bot: Driver, clock: FakeClock) -> int:
    """A customer who opted in has their birthday today; their greeting is due (nothing else is)."""
    await build_world(bot)
    cid = await add_customer(bot, REP, "张伟")
    await bot.send(REP, "张伟")
    await bot.send(CUSTOMER, f"/start {payload(await bot.press(REP, '专属链接'))}")
    today = bot.services.today()

    async def birthday(session):  # type: ignore[no-untyped-def]
        customer = await session.get(Customer, cid)
        customer.birthday_month, customer.birthday_day = today.month, today.day
        session.add(customer)

    await bot.services.db(birthday)
    clock.current = datetime(2026, 11, 23, 2, 0, 5, tzinfo=UTC)  # 10:00 in Shanghai, the send hour
    await plan_now(bot.services)

    async def care_only(session):  # type: ignore[no-untyped-def]
        await session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.occasion).in_(("agenda", "digest")))
            .values(status="skipped", reason="not in this test")
        )

    await bot.services.db(care_only)
    (row,) = await _rows(bot, col(OutboxMessage.customer_id) == cid)
    assert row.status == "planned" and row.due_at <= clock.current
    return cid


async def test_a_greeting_telegram_delivered_but_answered_late_arrives_once_and_is_never_resent(
    bot: Driver, clock: FakeClock
) -> None:
    cid = await _birthday_due_now(bot, clock)
    bot.standin.faults.add("sendMessage", "slow_after", delay=LATE)
    assert await _dispatcher(bot).drain() == 1
    assert len(_greetings(bot)) == 1  # Telegram delivered it; the bot did not hear back
    # Long after every retry delay of the outbox, it is still not sent again.
    for _ in range(3):
        clock.advance(seconds=AFTER_EVERY_RETRY)
        await plan_now(bot.services)
        assert await _dispatcher(bot).drain() == 0
    assert len(_greetings(bot)) == 1
    (row,) = await _rows(bot, col(OutboxMessage.customer_id) == cid)
    assert (row.status, row.reason) == ("failed", "unconfirmed")
    # The rep sees it on the customer's timeline, with the words that may have arrived.
    await bot.send(REP, "张伟")
    timeline = texts(await bot.press(REP, "时间线"))
    assert "Telegram 未确认送达" in timeline and "生日快乐" in timeline and "没有再发" in timeline
    # The lead's digest counts it among the failed, and says why it was not resent.
    clock.current = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # the next day: yesterday is the 23rd
    digest = texts(await bot.send(LEAD, "/digest"))
    assert "失败 1 条（其中 1 条 Telegram 未确认送达" in digest, digest


@pytest.mark.parametrize("fault", ["drop", "504"])
async def test_a_greeting_without_an_answer_either_way_is_not_resent(
    bot: Driver, clock: FakeClock, fault: str
) -> None:
    """A dropped connection, or a gateway that gave up waiting: Telegram may have sent it."""
    cid = await _birthday_due_now(bot, clock)
    if fault == "drop":
        bot.standin.faults.add("sendMessage", "drop")
    else:
        bot.standin.faults.add("sendMessage", "5xx", status=504)
    assert await _dispatcher(bot).drain() == 1
    (row,) = await _rows(bot, col(OutboxMessage.customer_id) == cid)
    assert (row.status, row.reason) == ("failed", "unconfirmed")
    clock.advance(seconds=AFTER_EVERY_RETRY)
    assert await _dispatcher(bot).drain() == 0
    assert _greetings(bot) == []  # the stand-in did not do it; Telegram might have
    assert [r.fault for r in bot.standin.requests if r.method == "sendMessage"][-1] is not None, "one try"


async def test_a_greeting_refused_past_the_bound_is_sent_later_once(bot: Driver, clock: FakeClock) -> None:
    cid = await _birthday_due_now(bot, clock)
    bot.standin.faults.add("sendMessage", "5xx", times=TRIES, status=502)
    assert await _dispatcher(bot).drain() == 1
    assert _greetings(bot) == []
    (row,) = await _rows(bot, col(OutboxMessage.customer_id) == cid)
    assert row.status == "planned" and row.due_at > clock.current, "back in the queue, for later"
    assert await _dispatcher(bot).drain() == 0, "not before its retry delay"
    clock.advance(seconds=outbox.RETRY_DELAYS[0] + 1)
    assert await _dispatcher(bot).drain() == 1
    assert len(_greetings(bot)) == 1
    (row,) = await _rows(bot, col(OutboxMessage.customer_id) == cid)
    assert row.status == "sent" and row.attempts == 2
    clock.advance(seconds=AFTER_EVERY_RETRY)
    assert await _dispatcher(bot).drain() == 0
    assert len(_greetings(bot)) == 1


async def test_a_message_to_pass_on_that_reached_the_rep_unconfirmed_can_still_be_marked_sent(
    bot: Driver, clock: FakeClock
) -> None:
    world = await build_world(bot)
    cid = await add_customer(bot, REP, "刘洋")  # not on Telegram: their rep passes messages on

    async def sold(session):  # type: ignore[no-untyped-def]
        session.add(
            Purchase(
                customer_id=cid,
                team_id=world.team,
                purchased_on=clock().date().replace(day=20),
                amount=12000,
                items="防水涂料 50 桶",
            )
        )

    await bot.services.db(sold)
    await plan_now(bot.services)
    before = len(bot.standin.messages(REP))
    bot.standin.faults.add("sendMessage", "slow_after", delay=LATE)
    await _dispatcher(bot).drain()
    handed = [m for m in bot.standin.messages(REP)[before:] if "刘洋不在 Telegram 上" in (m.text or "")]
    assert len(handed) == 1
    (row,) = await _rows(bot, col(OutboxMessage.customer_id) == cid)
    assert (row.status, row.reason, row.channel) == ("failed", "unconfirmed", "via_rep")
    clock.advance(seconds=AFTER_EVERY_RETRY)
    await _dispatcher(bot).drain()
    assert len([m for m in bot.standin.messages(REP) if "刘洋不在 Telegram 上" in (m.text or "")]) == 1
    # It did reach the rep, whose tap says so: the message counts as passed on after all.
    assert "已记为发送" in texts(await bot.press(REP, "已发送"))
    (row,) = await _rows(bot, col(OutboxMessage.customer_id) == cid)
    assert row.status == "sent"

    async def care_notes(session):  # type: ignore[no-untyped-def]
        return list((await session.exec(select(Note).where(col(Note.customer_id) == cid))).all())

    kinds = sorted(n.meta.get("event", n.kind) for n in await bot.services.db(care_notes))
    assert "care" in kinds and "care_unconfirmed" in kinds


async def test_a_morning_agenda_answered_late_is_not_resent(bot: Driver, clock: FakeClock) -> None:
    await build_world(bot)
    cid = await add_customer(bot, REP, "张伟")

    async def birthday_tomorrow(session):  # type: ignore[no-untyped-def]
        customer = await session.get(Customer, cid)
        customer.birthday_month, customer.birthday_day = 11, 24
        session.add(customer)

    await bot.services.db(birthday_tomorrow)
    clock.current = datetime(2026, 11, 24, 0, 0, 5, tzinfo=UTC)  # 08:00 in Shanghai on the 24th
    await plan_now(bot.services)
    key = col(OutboxMessage.key) == f"agenda:{REP}:2026-11-24"
    before = len(bot.standin.messages(REP))
    bot.standin.faults.add("sendMessage", "slow_after", delay=LATE)
    await _dispatcher(bot).drain()
    clock.advance(seconds=AFTER_EVERY_RETRY)
    await _dispatcher(bot).drain()
    agendas = [m for m in bot.standin.messages(REP)[before:] if "今天生日" in (m.text or "")]
    assert len(agendas) == 1
    (row,) = await _rows(bot, key)
    assert (row.status, row.reason) == ("failed", "unconfirmed")


async def test_a_digest_whose_chart_was_answered_late_still_brings_its_text_once(
    bot: Driver, clock: FakeClock
) -> None:
    await build_world(bot)
    clock.current = datetime(2026, 11, 23, 0, 0, 5, tzinfo=UTC)  # 08:00 in Shanghai
    await plan_now(bot.services)
    before = len(bot.standin.messages(LEAD))
    bot.standin.faults.add("sendPhoto", "slow_after", delay=LATE)
    await _dispatcher(bot).drain()
    clock.advance(seconds=AFTER_EVERY_RETRY)
    await _dispatcher(bot).drain()
    got = bot.standin.messages(LEAD)[before:]
    assert [m.kind for m in got if m.kind == "photo"] == ["photo"], "the chart arrived once"
    assert sum("客户关怀" in (m.text or "") for m in got) == 1, "and its text once"
    (row,) = await _rows(bot, col(OutboxMessage.key) == f"digest:{LEAD}:2026-11-23")
    assert row.status == "sent"
