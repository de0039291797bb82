"""Odd, forged and unlucky input: answered clearly, never a crash, nothing leaked."""

from __future__ import annotations

from bot.console.driver import Driver
from tests.e2e.world import LEAD, REP, REP2, add_customer, build_world, customer_id_of, texts

STALE = "此内容已失效"


def refused(bot: Driver, replies: list) -> bool:  # type: ignore[type-arg]
    """Told "no longer available", as a pop-up or (when the press was answered already) a message."""
    return STALE in str(bot.standin.callback_answers[-1].get("text")) or STALE in texts(replies)


async def test_malformed_ids_in_buttons_read_as_stale(bot: Driver) -> None:
    world = await build_world(bot)
    cid = await add_customer(bot, REP, "张伟")
    huge = "9" * 19
    forged = [
        f"cv:{chr(178)}:basic",
        f"cv:{'9' * 20}:basic",
        f"cl:{cid}:{huge}",
        f"my:{huge}",
        f"nf:{cid}:{huge}",
        f"nk:{cid}:{chr(178)}:call",
        f"cv:{2**40}:basic",
    ]
    for data in forged:
        replies = await bot.callback(REP, bot.last(REP).message_id, data)
        assert refused(bot, replies), data
    replies = await bot.callback(LEAD, bot.last(LEAD).message_id, f"ty:{world.team}:{REP}:{huge}9")
    assert refused(bot, replies)


async def test_a_lone_slash_and_html_like_names(bot: Driver) -> None:
    await build_world(bot)
    replies = await bot.send(REP, "/")
    assert len(replies) == 1
    await bot.send(REP, "/new")
    await bot.send(REP, "<b>Tom & Jerry</b>")
    await bot.press(REP, "跳过")
    await bot.press(REP, "跳过")
    card = texts(await bot.press(REP, "跳过"))
    assert "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;" in card
    assert "Tom &amp; Jerry" in texts(await bot.send(REP, "jerry"))


async def test_long_emoji_and_escaped_notes_still_page_through_the_timeline(bot: Driver) -> None:
    await build_world(bot)
    await add_customer(bot, REP, "张伟")
    for index in range(6):
        await bot.press(REP, "记录" if index == 0 else "再记一条")
        body = f"N{index} " + ("😀" * 800 if index % 2 else "&" * 700)
        await bot.send(REP, body)
    await bot.press(REP, "打开资料卡")
    seen: set[str] = set()
    replies = await bot.press(REP, "时间线")
    for _ in range(10):
        page = replies[-1]
        assert len((page.plain_text or "").encode("utf-16-le")) // 2 <= 4096
        seen |= {f"N{i}" for i in range(6) if f"N{i} " in (page.text or "")}
        if "下一页" not in str(page.reply_markup):
            break
        replies = await bot.press(REP, "下一页")
    assert seen == {f"N{i}" for i in range(6)}


async def test_a_form_about_a_customer_handed_away_ends_cleanly(bot: Driver) -> None:
    world = await build_world(bot)
    await add_customer(bot, REP, "张伟")
    await bot.press(REP, "记录")
    await bot.callback(LEAD, bot.last(LEAD).message_id, f"ty:{world.team}:{REP}:{REP2}")
    replies = await bot.send(REP, "打了电话")
    assert "不在您名下" in texts(replies)
    assert "没有找到" in texts(await bot.send(REP, "张伟"))


async def test_edited_messages_are_not_new_input(bot: Driver) -> None:
    await build_world(bot)
    await add_customer(bot, REP, "张伟")
    await bot.press(REP, "记录")
    update = bot.standin.text_update(REP, "第一版")
    edited = {"update_id": update["update_id"] + 1000, "edited_message": update["message"]}
    edited["edited_message"]["edit_date"] = edited["edited_message"]["date"]
    bot.inbox.pop(REP, None)
    await bot.feed(edited)
    assert bot.new_messages(REP) == []
    assert "已记录到" in texts(await bot.send(REP, "第二版"))


async def test_another_reps_customer_is_not_named_by_phone(bot: Driver) -> None:
    await build_world(bot)
    await add_customer(bot, REP, "秘密客户", "13800138000")
    await bot.send(REP2, "/new")
    await bot.send(REP2, "新客户")
    replies = await bot.send(REP2, "13800138000")
    assert "其他同事" in texts(replies) and "秘密客户" not in texts(replies)
    replies = await bot.share_contact(REP2, "+8613800138000", "某")
    assert "其他同事的客户" in texts(replies) and "秘密客户" not in texts(replies)


async def test_purchase_entries_cannot_be_retagged(bot: Driver) -> None:
    await build_world(bot)
    cid = await add_customer(bot, REP, "郑浩")
    await bot.press(REP, "成交")
    await bot.send(REP, "1000")
    await bot.press(REP, "跳过")
    replies = await bot.press(REP, "跳过")
    assert customer_id_of(replies[-1]) == cid
    replies = await bot.callback(REP, bot.last(REP).message_id, f"nk:{cid}:1:call")
    assert refused(bot, replies)
