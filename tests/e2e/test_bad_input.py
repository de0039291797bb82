"""Bad input gets a clear answer, loses nothing typed, and the conversation keeps working."""

from __future__ import annotations

import asyncio
import sqlite3

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.console.driver import Driver
from tests.e2e.world import REP, add_customer, build_world, texts


async def test_five_thousand_characters(bot: Driver) -> None:
    await build_world(bot)
    await bot.send(REP, "/new")
    replies = await bot.send(REP, "长" * 5000)
    assert "内容太长：5000 个字符，最多 100 个" in texts(replies)
    assert all(len(m.text or "") <= 4096 for m in replies)
    assert "客户怎么称呼" in texts(replies)
    await bot.send(REP, "张伟")
    await bot.press(REP, "跳过")
    await bot.press(REP, "跳过")
    await bot.press(REP, "跳过")
    await bot.press(REP, "记录")
    long_note = "跟进记录" * 1250
    replies = await bot.send(REP, long_note)
    assert "已记录到" in texts(replies)
    await bot.press(REP, "打开资料卡")
    replies = await bot.press(REP, "时间线")
    assert all(len(m.text or "") <= 4096 for m in replies)
    exported = await bot.send(REP, "/export")
    assert "权限" in texts(exported)


async def test_empty_and_emoji_only_names_keep_the_form(bot: Driver) -> None:
    await build_world(bot)
    await bot.send(REP, "/new")
    replies = await bot.send(REP, "😀🎉")
    assert "不能只有表情" in texts(replies) and "😀🎉" in texts(replies)
    replies = await bot.send(REP, "   ")
    assert "客户怎么称呼" in texts(replies)
    await bot.send(REP, "张伟")
    replies = await bot.send(REP, "not a phone")
    assert "不像电话号码" in texts(replies) and "not a phone" in texts(replies)
    await bot.send(REP, "13800138001")
    await bot.send(REP, "华东建材")
    replies = await bot.press(REP, "跳过")
    assert "张伟" in texts(replies) and "华东建材" in texts(replies) and "+86 138 0013 8001" in texts(replies)


async def test_wrong_dates_are_explained(bot: Driver) -> None:
    await build_world(bot)
    await add_customer(bot, REP, "刘洋")
    await bot.send(REP, "刘洋")
    await bot.press(REP, "个人")
    await bot.press(REP, "编辑")
    await bot.press(REP, "生日")
    for bad in ("32.13", "2023-02-29", "明天", "banana"):
        replies = await bot.send(REP, bad)
        assert "生日" in texts(replies), bad
        assert "例如" in texts(replies) or "试试" in texts(replies), bad
    replies = await bot.send(REP, "5月17日")
    assert "生日：5月17日" in texts(replies)


async def test_stale_button_and_double_tap(bot: Driver) -> None:
    await build_world(bot)
    await bot.send(REP, "/new")
    await bot.send(REP, "张伟")
    prompt = bot.last(REP)
    # Read before the first tap: the bot then removes the keyboard, and a second tap is one
    # the user's app sent before the removal reached it.
    skip = next(
        b["callback_data"]
        for row in prompt.reply_markup["inline_keyboard"]
        for b in row
        if "跳过" in b["text"]
    )
    await bot.press(REP, "跳过")
    assert prompt.reply_markup is None, "the answered question's keyboard is removed"
    replies = await bot.callback(REP, prompt.message_id, skip)
    assert "此内容已失效" in str(bot.standin.callback_answers[-1].get("text"))
    assert "公司" in (bot.last(REP).text or "")
    await bot.press(REP, "跳过")
    await bot.press(REP, "跳过")
    assert "客户已添加" in (bot.last(REP).text or "")
    assert not replies or "客户已添加" not in texts(replies)


async def test_unknown_command_and_wrong_file_type(bot: Driver) -> None:
    await build_world(bot)
    assert "不认识这个命令" in texts(await bot.send(REP, "/frobnicate"))
    replies = await bot.send_file(REP, "report.pdf", b"%PDF-1.4", "application/pdf")
    assert ".vcf" in texts(replies) and "report.pdf" in texts(replies)
    replies = await bot.send_file(REP, "broken.vcf", b"\xff\xfe garbage", "text/vcard")
    assert "没有找到" in texts(replies)
    assert "客户怎么称呼" in texts(await bot.send(REP, "/new"))


async def test_database_briefly_locked(bot: Driver, engine: AsyncEngine) -> None:
    await build_world(bot)
    await add_customer(bot, REP, "张伟")
    await bot.send(REP, "张伟")
    await bot.press(REP, "记录")
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        assert path is not None
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")

        async def release() -> None:
            await asyncio.sleep(1.0)
            blocker.execute("COMMIT")
            blocker.close()

        releasing = asyncio.create_task(release())
        replies = await bot.send(REP, "锁住期间写的记录")
        await releasing
    else:
        async with engine.connect() as connection:
            from sqlalchemy import text

            transaction = await connection.begin()
            await connection.execute(text("LOCK TABLE notes IN ACCESS EXCLUSIVE MODE"))

            async def release_pg() -> None:
                await asyncio.sleep(1.0)
                await transaction.commit()

            releasing = asyncio.create_task(release_pg())
            replies = await bot.send(REP, "锁住期间写的记录")
            await releasing
    assert "已记录到" in texts(replies)
    await bot.press(REP, "打开资料卡")
    assert "锁住期间写的记录" in texts(await bot.press(REP, "时间线"))


async def test_tapping_elsewhere_leaves_a_half_filled_form(bot: Driver) -> None:
    await build_world(bot)
    await add_customer(bot, REP, "张伟")
    await bot.send(REP, "/new")
    await bot.send(REP, "刘洋")
    await bot.send(REP, "/menu")
    await bot.press(REP, "我的客户")
    replies = await bot.send(REP, "张伟")
    assert "📇 <b>张伟</b>" in texts(replies)


async def test_a_command_elsewhere_also_leaves_the_form(bot: Driver) -> None:
    await build_world(bot)
    await add_customer(bot, REP, "张伟")
    await bot.press(REP, "记录")
    await bot.send(REP, "/help")
    replies = await bot.send(REP, "张伟")
    assert "📇 <b>张伟</b>" in texts(replies)
