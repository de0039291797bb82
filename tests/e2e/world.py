"""Build a small company through the bot itself: an admin, two teams, their leads and reps."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.console.driver import Driver
from botapi_standin import SentMessage

ADMIN, LEAD, REP, REP2, OTHER_LEAD, OTHER_REP, CUSTOMER, STRANGER = 1, 2, 3, 4, 5, 6, 7, 8


def payload(messages: list[SentMessage]) -> str:
    """The deep-link payload in the last message that has one."""
    for message in reversed(messages):
        found = re.search(r"start=([A-Za-z0-9_-]+)", message.text or "")
        if found:
            return found.group(1)
    raise AssertionError(f"no deep link in {[m.text for m in messages]}")


def texts(messages: list[SentMessage]) -> str:
    """All text of some messages, for assertions."""
    return "\n".join(m.text or "" for m in messages)


@dataclass
class World:
    """User ids of everyone, and the two team ids."""

    team: int
    other_team: int


async def create_team(bot: Driver, name: str, lead: int) -> int:
    """The admin creates a team and its lead joins through the invite."""
    await bot.send(ADMIN, "/admin")
    await bot.press(ADMIN, "新建团队")
    replies = await bot.send(ADMIN, name)
    code = payload(replies)
    replies = await bot.send(lead, f"/start {code}")
    assert name in texts(replies)
    team = await bot.services.db(_team_id(name))
    return team


def _team_id(name: str):  # type: ignore[no-untyped-def]
    from sqlmodel import col, select

    from bot.storage.models import Team

    async def find(session):  # type: ignore[no-untyped-def]
        team = (await session.exec(select(Team).where(col(Team.name) == name))).one()
        return team.id

    return find


async def invite_rep(bot: Driver, lead: int, rep: int) -> None:
    """A lead invites a rep, who opens the link."""
    await bot.send(lead, "/team")
    replies = await bot.press(lead, "邀请销售")
    replies = await bot.send(rep, f"/start {payload(replies)}")
    assert "欢迎加入" in texts(replies)


async def build_world(bot: Driver) -> World:
    """Everyone onboarded through the real flows."""
    for uid, name in [
        (ADMIN, "Ada Admin"),
        (LEAD, "李娜"),
        (REP, "王芳"),
        (REP2, "Tom"),
        (OTHER_LEAD, "Olga"),
        (OTHER_REP, "Oscar"),
        (CUSTOMER, "张伟"),
        (STRANGER, "Eve"),
    ]:
        bot.user(uid, name)
    claim = bot.app.bot_data.claim_link
    assert claim is not None
    replies = await bot.send(ADMIN, f"/start {claim.rsplit('=', 1)[-1]}")
    assert "管理员" in texts(replies)
    team = await create_team(bot, "Alpha", LEAD)
    other = await create_team(bot, "Beta", OTHER_LEAD)
    await invite_rep(bot, LEAD, REP)
    await invite_rep(bot, LEAD, REP2)
    await invite_rep(bot, OTHER_LEAD, OTHER_REP)
    return World(team, other)


async def add_customer(bot: Driver, rep: int, name: str, phone: str | None = None) -> int:
    """A rep adds a customer through the guided form; returns its id."""
    await bot.send(rep, "/new")
    await bot.send(rep, name)
    if phone:
        await bot.send(rep, phone)
    else:
        await bot.press(rep, "跳过")
    await bot.press(rep, "跳过")
    replies = await bot.press(rep, "跳过")
    assert "客户已添加" in texts(replies), texts(replies)
    return customer_id_of(replies[-1])


def customer_id_of(message: SentMessage) -> int:
    """The customer id behind a card message's buttons."""
    for row in (message.reply_markup or {}).get("inline_keyboard", []):
        for button in row:
            found = re.match(r"cv:(\d+):", button.get("callback_data", ""))
            if found:
                return int(found.group(1))
    raise AssertionError("not a card")
