"""The bot as Telegram sees it: English users, rate limits, polling, blocked users."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update

from bot.console.driver import Driver, running_bot
from botapi_standin import Limits
from tests.conftest import FakeClock
from tests.e2e.world import CUSTOMER, LEAD, REP, add_customer, build_world, payload, texts

ENGLISH_REP = 30


async def test_an_english_speaking_rep_gets_english(bot: Driver) -> None:
    await build_world(bot)
    bot.user(ENGLISH_REP, "Tom", language="en-US")
    await bot.send(LEAD, "/team")
    code = payload(await bot.press(LEAD, "邀请销售"))
    assert "Welcome to <b>Alpha</b>" in texts(await bot.send(ENGLISH_REP, f"/start {code}"))
    assert "What is the customer's name?" in texts(await bot.send(ENGLISH_REP, "/new"))
    await bot.send(ENGLISH_REP, "Anna Müller")
    replies = await bot.send(ENGLISH_REP, "oops")
    assert "doesn't look like a phone number" in texts(replies) and "oops" in texts(replies)
    await bot.send(ENGLISH_REP, "+49 170 1234567")
    await bot.send(ENGLISH_REP, "Müller Bau")
    card = texts(await bot.press(ENGLISH_REP, "Referral"))
    assert "Customer added" in card and "Came from: Referral" in card and "Prospect" in card
    await bot.press(ENGLISH_REP, "Personal")
    await bot.press(ENGLISH_REP, "Edit")
    await bot.press(ENGLISH_REP, "Birthday")
    assert "Birthday: 17 May" in texts(await bot.send(ENGLISH_REP, "17.05"))


async def test_bursts_over_telegrams_per_chat_limit_are_retried_not_lost(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    async with running_bot(engine=engine, clock=clock) as bot:
        await build_world(bot)
        bot.standin.limits = Limits(per_chat_per_second=1.0, per_chat_burst=2)
        await add_customer(bot, REP, "张伟")
        statuses = [r.status for r in bot.standin.requests]
        assert 429 in statuses
        assert "客户已添加" in (bot.last(REP).text or "")


async def test_real_long_polling_against_the_stand_in(engine: AsyncEngine, clock: FakeClock) -> None:
    async with running_bot(engine=engine, clock=clock) as bot:
        await build_world(bot)
        assert bot.app.updater is not None
        await bot.app.updater.start_polling(poll_interval=0.0, timeout=1, allowed_updates=Update.ALL_TYPES)
        try:
            bot.standin.enqueue(bot.standin.text_update(REP, "/new"))
            for _ in range(100):
                if "客户怎么称呼" in (bot.last(REP).text or ""):
                    break
                await asyncio.sleep(0.05)
            assert "客户怎么称呼" in (bot.last(REP).text or "")
        finally:
            await bot.app.updater.stop()


async def test_a_rep_who_blocked_the_bot_does_not_break_the_customer(bot: Driver) -> None:
    await build_world(bot)
    await add_customer(bot, REP, "张伟")
    code = payload(await bot.press(REP, "专属链接"))
    await bot.send(CUSTOMER, f"/start {code}")
    bot.standin.block(REP)
    replies = await bot.send(CUSTOMER, "你好，请回电")
    assert "已转达" in texts(replies)
