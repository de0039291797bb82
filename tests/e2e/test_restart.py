"""A flow interrupted by a restart resumes where it was, with what was typed kept."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.console.driver import running_bot
from tests.conftest import FakeClock
from tests.e2e.world import REP, build_world, texts


async def test_form_resumes_after_restart(engine: AsyncEngine, clock: FakeClock) -> None:
    async with running_bot(engine=engine, clock=clock) as bot:
        await build_world(bot)
        await bot.send(REP, "/new")
        await bot.send(REP, "张伟")
        await bot.send(REP, "13800138001")
    async with running_bot(engine=engine, clock=clock) as bot:
        bot.user(REP, "王芳")
        replies = await bot.send(REP, "/start")
        assert "继续" in texts(replies) and "所在公司" in texts(replies)
        await bot.send(REP, "华东建材")
        replies = await bot.press(REP, "跳过")
        card = texts(replies)
        assert "张伟" in card and "+86 138 0013 8001" in card and "华东建材" in card
