"""Each role arrives the way PRODUCT.md says: admin claim, lead and rep invites, customer link."""

from __future__ import annotations

from bot.console.driver import Driver
from tests.conftest import FakeClock
from tests.e2e.world import (
    ADMIN,
    CUSTOMER,
    LEAD,
    REP,
    STRANGER,
    add_customer,
    build_world,
    payload,
    texts,
)


async def test_everyone_onboards_through_deep_links(bot: Driver) -> None:
    world = await build_world(bot)
    assert world.team != world.other_team
    replies = await bot.send(LEAD, "/team")
    assert "王芳" in texts(replies) and "Tom" in texts(replies)
    commands = bot.standin.commands_for(REP)
    assert "new" in [c["command"] for c in commands]


async def test_a_stranger_gets_an_explanation_and_no_data(bot: Driver) -> None:
    await build_world(bot)
    await add_customer(bot, REP, "张伟", "13800138001")
    for text in ("/start", "张伟", "/find 张伟", "/new", "/team", "/export", "/admin"):
        replies = await bot.send(STRANGER, text)
        assert "13800138001" not in texts(replies)
        assert "张伟" not in texts(replies) or text == "张伟"
        assert "邀请链接" in texts(replies), texts(replies)


async def test_invites_are_single_use_and_expire(bot: Driver, clock: FakeClock) -> None:
    await build_world(bot)
    await bot.send(LEAD, "/team")
    code = payload(await bot.press(LEAD, "邀请销售"))
    bot.user(50, "First")
    bot.user(51, "Second")
    assert "欢迎加入" in texts(await bot.send(50, f"/start {code}"))
    assert "已被使用" in texts(await bot.send(51, f"/start {code}"))
    await bot.send(LEAD, "/team")
    late = payload(await bot.press(LEAD, "邀请销售"))
    clock.advance(hours=73)
    assert "过期" in texts(await bot.send(51, f"/start {late}"))
    assert "已被使用" in texts(await bot.send(51, "/start r_forgedcode123"))


async def test_admin_claim_link_works_once(bot: Driver) -> None:
    bot.user(ADMIN, "Ada")
    bot.user(99, "Mallory")
    claim = bot.app.bot_data.claim_link
    assert claim is not None
    code = claim.rsplit("=", 1)[-1]
    assert "管理员" in texts(await bot.send(ADMIN, f"/start {code}"))
    assert "已被使用" in texts(await bot.send(99, f"/start {code}"))
    assert "邀请链接" in texts(await bot.send(99, "/admin"))


async def test_customer_opts_in_replies_reach_the_rep_and_stop_works(bot: Driver) -> None:
    await build_world(bot)
    customer = await add_customer(bot, REP, "张伟")
    await bot.send(REP, "张伟")
    replies = await bot.press(REP, "专属链接")
    code = payload(replies)
    assert code.startswith("c_")
    replies = await bot.send(CUSTOMER, f"/start {code}")
    assert "王芳" in texts(replies)
    assert "已打开您的链接" in texts(bot.new_messages(REP))
    await bot.send(CUSTOMER, "谢谢，产品很好用！")
    relayed = bot.last(REP)
    assert "谢谢，产品很好用" in (relayed.text or "") and "张伟" in (relayed.text or "")
    assert "不再收到" in texts(await bot.send(CUSTOMER, "/stop"))
    assert customer > 0


async def test_language_switch(bot: Driver) -> None:
    await build_world(bot)
    await bot.send(REP, "/language")
    replies = await bot.press(REP, "English")
    assert "Language: English" in texts(replies)
    menu = (await bot.send(REP, "/menu"))[-1]
    assert "Menu" in (menu.text or "") and "New customer" in str(menu.reply_markup)
    assert "Add a customer" in [c["description"] for c in bot.standin.commands_for(REP)]


async def test_an_admin_finds_customers_of_every_team(bot: Driver) -> None:
    await build_world(bot)
    await add_customer(bot, REP, "张伟")
    replies = await bot.send(ADMIN, "张伟")
    assert "📇 <b>张伟</b>" in texts(replies) and "王芳" in texts(replies)


async def test_an_admin_pages_through_many_teams(bot: Driver) -> None:
    await build_world(bot)
    for index in range(12):
        await bot.send(ADMIN, "/admin")
        await bot.press(ADMIN, "新建团队")
        await bot.send(ADMIN, f"Team {index:02d}")
    replies = await bot.send(ADMIN, "/admin")
    assert "共 14 个" in texts(replies)
    first_page = str(replies[-1].reply_markup)
    replies = await bot.press(ADMIN, "下一页")
    second_page = str(replies[-1].reply_markup)
    shown = {
        name
        for name in ["Alpha", "Beta"] + [f"Team {i:02d}" for i in range(12)]
        if name in first_page or name in second_page
    }
    assert len(shown) == 14
