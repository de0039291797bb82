"""The access matrix: every role against every kind of action; each forbidden cell is refused."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.console.driver import Driver
from bot.storage.models import Customer
from tests.e2e.world import (
    ADMIN,
    CUSTOMER,
    LEAD,
    OTHER_LEAD,
    OTHER_REP,
    REP,
    REP2,
    STRANGER,
    add_customer,
    build_world,
    texts,
)

STALE = "此内容已失效"


async def _phone(bot: Driver, cid: int) -> str | None:
    async def read(session: AsyncSession) -> str | None:
        customer = await session.get(Customer, cid)
        assert customer is not None
        return customer.phone

    return await bot.services.db(read)


async def _last_answer(bot: Driver) -> str:
    return str(bot.standin.callback_answers[-1].get("text", ""))


async def test_access_matrix(bot: Driver) -> None:
    world = await build_world(bot)
    cid = await add_customer(bot, REP, "秘密客户", "13800138009")
    for uid in (CUSTOMER, STRANGER):
        await bot.send(uid, "/start")
    allowed_view = {ADMIN, LEAD, REP}
    allowed_team = {ADMIN, LEAD}
    problems: list[str] = []
    everyone = (ADMIN, LEAD, REP, REP2, OTHER_LEAD, OTHER_REP, CUSTOMER, STRANGER)
    for uid in everyone:
        anchor = bot.last(uid).message_id
        # view
        replies = await bot.callback(uid, anchor, f"cv:{cid}:basic")
        saw = "秘密客户" in texts(replies)
        if saw != (uid in allowed_view):
            problems.append(f"view by {uid}: saw={saw}")
        if uid not in allowed_view and STALE not in await _last_answer(bot):
            problems.append(f"view by {uid} not answered as stale")
        # edit
        replies = await bot.callback(uid, anchor, f"cf:{cid}:phone")
        asked = "电话" in texts(replies)
        if asked != (uid in allowed_view):
            problems.append(f"edit by {uid}: asked={asked}")
        if asked:
            await bot.send(uid, "/cancel")
        # export
        replies = await bot.callback(uid, anchor, f"tx:{world.team}:csv")
        exported = any(m.kind == "document" for m in replies)
        if exported != (uid in allowed_team):
            problems.append(f"export by {uid}: exported={exported}")
        # reassign (to REP2 and back, so the next actor meets the same world)
        replies = await bot.callback(uid, anchor, f"ty:{world.team}:{REP}:{REP2}")
        moved = "已将 1 位客户" in texts(replies)
        if moved != (uid in allowed_team):
            problems.append(f"reassign by {uid}: moved={moved}")
        if moved:
            await bot.callback(LEAD, bot.last(LEAD).message_id, f"ty:{world.team}:{REP2}:{REP}")
        # forged data: unknown prefix, non-numeric id, someone else's team
        for forged in ("zz:1", "cv:abc:basic", f"tm:{world.other_team}", "cv", "f:000000:skip"):
            if uid in (ADMIN, OTHER_LEAD) and forged.startswith("tm:"):
                continue  # their own (or any, for the admin) team: allowed
            replies = await bot.callback(uid, anchor, forged)
            if replies and any("Beta" in (m.text or "") for m in replies):
                problems.append(f"forged {forged} by {uid} showed data")
            if STALE not in await _last_answer(bot):
                problems.append(f"forged {forged} by {uid} not refused")
    assert await _phone(bot, cid) == "+86 138 0013 8009"
    assert not problems, "\n".join(problems)


async def test_stale_button_after_reassignment(bot: Driver) -> None:
    world = await build_world(bot)
    cid = await add_customer(bot, REP, "张伟")
    card_message = bot.last(REP)
    await bot.callback(LEAD, bot.last(LEAD).message_id, f"ty:{world.team}:{REP}:{REP2}")
    replies = await bot.callback(REP, card_message.message_id, f"cv:{cid}:personal")
    assert not replies or "张伟" not in texts(replies)
    assert STALE in await _last_answer(bot)


async def test_every_card_action_is_refused_to_outsiders(bot: Driver) -> None:
    await build_world(bot)
    cid = await add_customer(bot, REP, "秘密客户", "13800138009")
    for uid in (CUSTOMER, STRANGER):
        await bot.send(uid, "/start")
    actions = {
        f"cn:{cid}": "记一条",
        f"cp:{cid}": "金额",
        f"cs:{cid}": "哪个阶段",
        f"ss:{cid}:won": "已成交",
        f"cg:{cid}": "定级",
        f"sg:{cid}:A": "⭐ A",
        f"co:{cid}": "专属链接",
        f"cl:{cid}:0": "时间线",
        f"ce:{cid}:personal": "哪一项",
    }
    problems: list[str] = []
    for uid in (ADMIN, LEAD, REP, REP2, OTHER_LEAD, OTHER_REP, CUSTOMER, STRANGER):
        allowed = uid in (ADMIN, LEAD, REP)
        for data, sign in actions.items():
            replies = await bot.callback(uid, bot.last(uid).message_id, data)
            worked = sign in texts(replies)
            if worked != allowed:
                problems.append(f"{data} by {uid}: worked={worked}")
            if not allowed and ("秘密客户" in texts(replies) or STALE not in await _last_answer(bot)):
                problems.append(f"{data} by {uid} not refused cleanly")
            if worked:
                await bot.send(uid, "/cancel")
    assert not problems, "\n".join(problems)


async def test_commands_per_role(bot: Driver) -> None:
    await build_world(bot)
    for uid in (CUSTOMER, STRANGER):
        await bot.send(uid, "/start")
    expected = {
        "/admin": {ADMIN},
        "/team": {LEAD, OTHER_LEAD, ADMIN},
        "/export": {LEAD, OTHER_LEAD, ADMIN},
        "/new": {LEAD, REP, REP2, OTHER_LEAD, OTHER_REP},
    }
    # An admin outside any team gets the list of all teams for /team.
    signs = {"/admin": "团队</b>", "/team": "团队</b>", "/export": "📤", "/new": "客户怎么称呼"}
    problems = []
    for command, allowed in expected.items():
        for uid in (ADMIN, LEAD, REP, REP2, OTHER_LEAD, OTHER_REP, CUSTOMER, STRANGER):
            replies = await bot.send(uid, command)
            shown = texts(replies)
            worked = (
                signs[command] in shown or "点成员" in shown or any(m.kind == "document" for m in replies)
            )
            if worked != (uid in allowed):
                problems.append(f"{command} by {uid}: worked={worked}: {texts(replies)[:80]}")
            await bot.send(uid, "/cancel")
    assert not problems, "\n".join(problems)
