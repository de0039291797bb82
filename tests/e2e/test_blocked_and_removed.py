"""People who leave mid-way: a customer who blocks the bot, a rep taken out of the team."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.console.driver import Driver, running_bot
from bot.scheduling.dispatcher import Dispatcher
from bot.scheduling.jobs import plan_now
from bot.storage.models import Customer, FlowState, Note, OutboxMessage
from tests.e2e.world import CUSTOMER, LEAD, OTHER_LEAD, REP, add_customer, build_world, payload, texts


async def _rows(bot: Driver, model: type, *where: Any) -> list[Any]:
    async def load(session):  # type: ignore[no-untyped-def]
        return list((await session.exec(select(model).where(*where))).all())

    return await bot.services.db(load)


async def _customer(bot: Driver, cid: int) -> Customer:
    return (await _rows(bot, Customer, col(Customer.id) == cid))[0]


async def _opted_in_with_a_greeting_due(bot: Driver, *, days_ahead: int = 0) -> int:
    """The rep's customer 张伟 opened their link, and a birthday greeting is planned."""
    await build_world(bot)
    cid = await add_customer(bot, REP, "张伟")
    await bot.send(REP, "张伟")
    replies = await bot.press(REP, "专属链接")
    await bot.send(CUSTOMER, f"/start {payload(replies)}")
    today = bot.services.today()

    async def birthday(session):  # type: ignore[no-untyped-def]
        customer = await session.get(Customer, cid)
        customer.birthday_month, customer.birthday_day = today.month, today.day + days_ahead
        session.add(customer)

    await bot.services.db(birthday)
    await plan_now(bot.services)

    async def only_greetings(session):  # type: ignore[no-untyped-def]
        await session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.occasion).in_(("agenda", "digest")))
            .values(status="skipped", reason="not in this test")
        )

    await bot.services.db(only_greetings)
    rows = await _rows(bot, OutboxMessage, col(OutboxMessage.customer_id) == cid)
    assert [r.status for r in rows] == ["planned"]
    return cid


async def _the_card_says_so(bot: Driver) -> None:
    """The rep's card: the personal link says opted out, the timeline says blocked, once."""
    await bot.send(REP, "张伟")
    link = texts(await bot.press(REP, "专属链接"))
    assert "⛔ 已退订" in link, link
    await bot.send(REP, "张伟")
    timeline = texts(await bot.press(REP, "时间线"))
    assert timeline.count("客户屏蔽了机器人") == 1, timeline


def _told(bot: Driver) -> list[str]:
    return [m.text or "" for m in bot.standin.messages(REP) if "屏蔽了机器人" in (m.text or "")]


@pytest.mark.parametrize("notice_first", [False, True], ids=["refused-first", "notice-first"])
async def test_a_customer_who_blocks_the_bot_while_a_greeting_is_sent_is_opted_out_once(
    bot: Driver, notice_first: bool
) -> None:
    cid = await _opted_in_with_a_greeting_due(bot)
    dispatcher = Dispatcher(bot.services, bot.app.bot, per_chat=0.0)
    held = bot.standin.hold("sendMessage", chat_id=CUSTOMER)
    sending = asyncio.ensure_future(dispatcher.drain())
    await asyncio.wait_for(held.caught.wait(), 10)
    blocked = bot.standin.block(CUSTOMER)  # while the greeting is on its way
    if notice_first:  # Telegram's my_chat_member comes in before the send is refused
        await bot.feed(blocked)
    held.release()
    assert await sending == 1
    forbidden = [r for r in bot.standin.requests if r.status == 403]
    assert [r.description for r in forbidden] == ["Forbidden: bot was blocked by the user"]
    row = (await _rows(bot, OutboxMessage, col(OutboxMessage.customer_id) == cid))[0]
    assert (row.status, row.reason, row.attempts) == ("failed", "blocked", 1)
    assert (await _customer(bot, cid)).optin_state == "out"
    assert len(_told(bot)) == 1 and "张伟" in _told(bot)[0]
    assert await dispatcher.drain() == 0, "not tried again"
    assert len([r for r in bot.standin.requests if r.status == 403]) == 1
    if not notice_first:
        await bot.feed(blocked)  # Telegram says so after the refusal: nothing more to do
    assert len(_told(bot)) == 1, "the rep is told once"
    await _the_card_says_so(bot)


async def test_a_customer_who_blocks_the_bot_is_opted_out_at_once(bot: Driver) -> None:
    cid = await _opted_in_with_a_greeting_due(bot, days_ahead=1)
    requests = len(bot.standin.requests)
    await bot.feed(bot.standin.block(CUSTOMER))
    assert (await _customer(bot, cid)).optin_state == "out"
    rows = await _rows(bot, OutboxMessage, col(OutboxMessage.customer_id) == cid)
    assert [(r.status, r.reason) for r in rows] == [("skipped", "opted_out")], "tomorrow's greeting is off"
    assert len(_told(bot)) == 1 and "张伟" in _told(bot)[0]
    sent = [r for r in bot.standin.requests[requests:] if r.method == "sendMessage"]
    assert [r.params["chat_id"] for r in sent] == [REP], "nothing to the customer who blocked the bot"
    # Unblocking is not opting in again: that takes their link.
    await bot.feed(bot.standin.unblock(CUSTOMER))
    assert (await _customer(bot, cid)).optin_state == "out"
    assert len(_told(bot)) == 1
    await _the_card_says_so(bot)


REFUSED = {"zh": "如果组长给了您邀请链接", "en": "If your team lead sent you an invite link"}
STALE = {"zh": "此内容已失效。", "en": "This is no longer available."}


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_a_rep_removed_with_a_form_open_is_refused_politely_and_their_form_is_dropped(
    engine: AsyncEngine, lang: str
) -> None:
    async with running_bot(engine=engine) as bot:
        await build_world(bot)
        await add_customer(bot, REP, "刘洋", "13900139000")
        card = bot.last(REP)
        if lang == "en":
            await bot.send(REP, "/language")
            await bot.press(REP, "English")
        await bot.send(REP, "/new")
        await bot.send(REP, "陈静")  # the form now waits for a phone number
        # The lead hands the rep's customers to a colleague and takes the rep out of the team.
        await bot.send(LEAD, "/team")
        await bot.press(LEAD, "王芳")
        await bot.press(LEAD, "移交")
        await bot.press(LEAD, "Tom")
        await bot.press(LEAD, "确认")
        await bot.press(LEAD, "移出")
        await bot.press(LEAD, "确认")
        bot.new_messages(REP)

        answer = texts(await bot.send(REP, "13800138001"))  # their answer to the open form
        assert REFUSED[lang] in answer, answer
        pressed = await bot.callback(REP, card.message_id, card.buttons()[1]["callback_data"])
        assert pressed == [] and bot.standin.callback_answers[-1]["text"] == STALE[lang]
        skip = await bot.callback(REP, card.message_id, "f:000000:skip")
        assert skip == [] and bot.standin.callback_answers[-1]["text"] == STALE[lang]
        shown = answer + texts(await bot.send(REP, "/start")) + texts(await bot.send(REP, "刘洋"))
        assert "刘洋" not in shown and "139" not in shown and "陈静" not in shown, shown
        assert await _rows(bot, Customer, col(Customer.name) == "陈静") == []
        assert await _rows(bot, FlowState, col(FlowState.user_id) == REP) == [], "the form is gone"

        # Later they join another team.
        await bot.send(OTHER_LEAD, "/team")
        invite = await bot.press(OTHER_LEAD, "邀请销售")
        await bot.send(REP, f"/start {payload(invite)}")
    async with running_bot(engine=engine) as bot:  # and the bot restarts
        bot.user(REP, "王芳", language="en" if lang == "en" else "zh-hans")
        menu = texts(await bot.send(REP, "/start"))
        assert "陈静" not in menu, "the other team's half-filled form does not come back"
        notes = await _rows(bot, Note, col(Note.text).contains("13800138001"))
        assert notes == []
