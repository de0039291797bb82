"""The pipeline board (the Mini App's first screen) on a real database: whose customers, in
which column and order, with which rhythm and follow-up, and the filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.access import Actor, Role
from bot.domain.card import Stage
from bot.domain.errors import InvalidInput, NotAllowed
from bot.services import board as svc
from bot.services import customers as customer_service
from bot.storage.db import make_session_factory, transaction
from bot.storage.models import Customer, Membership, Task, Team, User

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
TODAY = date(2026, 11, 23)
LEAD, AMY, BOB, OTHER_LEAD, OUTSIDER = 600, 601, 602, 610, 611


def ago(days: int) -> datetime:
    return NOW - timedelta(days=days)


@dataclass(frozen=True)
class World:
    team: int
    other_team: int
    customers: dict[str, int]

    def actor(self, user_id: int) -> Actor:
        if user_id == OTHER_LEAD:
            return Actor(user_id, Role.LEAD, self.other_team)
        return Actor(user_id, Role.LEAD if user_id == LEAD else Role.REP, self.team)


async def _build(engine: AsyncEngine) -> World:
    async with transaction(make_session_factory(engine)) as session:
        team, other = Team(name="T", timezone="Asia/Shanghai"), Team(name="O", timezone="Asia/Shanghai")
        session.add_all([team, other])
        for uid in (LEAD, AMY, BOB, OTHER_LEAD, OUTSIDER):
            session.add(User(telegram_id=uid, name=f"u{uid}"))
        await session.flush()
        assert team.id is not None and other.id is not None
        for uid, role, team_id in [
            (LEAD, "lead", team.id),
            (AMY, "rep", team.id),
            (BOB, "rep", team.id),
            (OTHER_LEAD, "lead", other.id),
            (OUTSIDER, "rep", other.id),
        ]:
            session.add(Membership(user_id=uid, team_id=team_id, role=role))
        rows: dict[str, Customer] = {}

        def customer(name: str, owner: int, team_id: int = team.id, **fields: Any) -> None:  # type: ignore[assignment]
            values: dict[str, Any] = {"created_at": ago(400), "last_contact_at": ago(1), **fields}
            rows[name] = Customer(
                team_id=team_id, owner_id=owner, name=name, optin_code=f"b-{name}", **values
            )

        customer("Gao", AMY, grade="A", last_contact_at=ago(20), tags=["vip", "tea"])  # A: every 14 days
        customer("Hu", AMY, grade="B", last_contact_at=ago(45), stage="present")  # B: 30 days, 15 behind
        customer("Ke", AMY, grade="C", last_contact_at=ago(10), stage="present", tags=["tea"])
        customer("Lin", AMY, last_contact_at=None, created_at=ago(100))  # ungraded, 60 days: 40 behind
        customer("Jin", AMY, stage="lost", last_contact_at=ago(300))  # resting: never behind
        customer("Old", AMY, archived_at=ago(5))
        customer("Qi", BOB, grade="A", last_contact_at=ago(2), stage="closing")
        customer("Zed", OUTSIDER, team_id=other.id, grade="A")
        session.add_all(rows.values())
        await session.flush()
        ids = {name: row.id for name, row in rows.items() if row.id is not None}
        for text, owner, due, customer_name, done in [
            ("call Gao", AMY, TODAY + timedelta(days=3), "Gao", None),
            ("quote for Gao", AMY, TODAY + timedelta(days=1), "Gao", None),
            ("old one", AMY, TODAY - timedelta(days=9), "Gao", ago(8)),  # done: not next
            ("visit Hu", AMY, TODAY - timedelta(days=2), "Hu", None),  # overdue is still next
            ("samples", AMY, TODAY, None, None),  # about no customer
            ("Bob's", BOB, TODAY, "Qi", None),
        ]:
            session.add(
                Task(
                    team_id=team.id,
                    owner_id=owner,
                    due_on=due,
                    text=text,
                    customer_id=ids[customer_name] if customer_name else None,
                    done_at=done,
                )
            )
        return World(team.id, other.id, ids)


async def _board(engine: AsyncEngine, actor: Actor, **filters: Any) -> svc.Board:
    async with transaction(make_session_factory(engine)) as session:
        return await svc.board(session, actor, svc.Filters(**filters), now=NOW)


def _names(found: svc.Board) -> dict[str, list[str]]:
    return {stage: [card.name for card in cards] for stage, cards in found.columns if cards}


async def test_a_reps_board_has_every_stage_in_order_and_only_their_live_customers(
    engine: AsyncEngine,
) -> None:
    world = await _build(engine)
    found = await _board(engine, world.actor(AMY))
    assert [stage for stage, _ in found.columns] == [stage.value for stage in Stage]
    assert _names(found) == {"find": ["Lin", "Gao"], "present": ["Hu", "Ke"], "lost": ["Jin"]}
    assert found.total == 5 and found.tags == ["tea", "vip"]
    cards = {card.name: card for _, column in found.columns for card in column}
    assert {name: card.behind_days for name, card in cards.items()} == {
        "Lin": 100,
        "Gao": 20,
        "Hu": 45,
        "Ke": None,
        "Jin": None,
    }
    assert (cards["Gao"].next_due_on, cards["Gao"].next_text) == (TODAY + timedelta(days=1), "quote for Gao")
    assert (cards["Hu"].next_due_on, cards["Hu"].next_text) == (TODAY - timedelta(days=2), "visit Hu")
    assert cards["Ke"].next_due_on is None and cards["Gao"].tags == ("vip", "tea")


async def test_filters_by_grade_tag_and_behind(engine: AsyncEngine) -> None:
    world = await _build(engine)
    amy = world.actor(AMY)
    assert _names(await _board(engine, amy, grade="A")) == {"find": ["Gao"]}
    assert _names(await _board(engine, amy, grade=svc.NO_GRADE)) == {"find": ["Lin"], "lost": ["Jin"]}
    tagged = await _board(engine, amy, tag="tea")
    assert _names(tagged) == {"find": ["Gao"], "present": ["Ke"]} and tagged.tags == ["tea", "vip"]
    assert _names(await _board(engine, amy, behind=True)) == {"find": ["Lin", "Gao"], "present": ["Hu"]}
    assert _names(await _board(engine, amy, behind=True, tag="tea")) == {"find": ["Gao"]}
    with pytest.raises(InvalidInput):
        await _board(engine, amy, grade="Z")


async def test_a_lead_sees_the_team_or_one_rep_and_never_another_team(engine: AsyncEngine) -> None:
    world = await _build(engine)
    lead = world.actor(LEAD)
    everyone = await _board(engine, lead)
    assert everyone.total == 6 and _names(everyone)["closing"] == ["Qi"]
    assert _names(await _board(engine, lead, owner_id=BOB)) == {"closing": ["Qi"]}
    with pytest.raises(NotAllowed):
        await _board(engine, lead, owner_id=OUTSIDER)  # a rep of another team
    assert _names(await _board(engine, world.actor(OTHER_LEAD))) == {"find": ["Zed"]}
    with pytest.raises(NotAllowed):
        await _board(engine, world.actor(AMY), owner_id=BOB)  # a rep may not look at a colleague's
    with pytest.raises(NotAllowed):
        await _board(engine, Actor(999, Role.STRANGER, None))


async def test_moving_a_card_is_the_bots_stage_change(engine: AsyncEngine) -> None:
    world = await _build(engine)
    async with transaction(make_session_factory(engine)) as session:
        await customer_service.set_stage(
            session, world.actor(AMY), world.customers["Ke"], stage="closing", now=NOW
        )
    assert _names(await _board(engine, world.actor(AMY)))["closing"] == ["Ke"]
    async with transaction(make_session_factory(engine)) as session:
        with pytest.raises(NotAllowed):  # Bob's card, moved by Amy: refused as in the bot
            await customer_service.set_stage(
                session, world.actor(AMY), world.customers["Qi"], stage="won", now=NOW
            )
