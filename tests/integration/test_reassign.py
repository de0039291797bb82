"""Handing a rep's customers over and taking a member out of the team, on a real database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.domain.access import Actor, Role
from bot.domain.errors import InvalidInput, NotAllowed, Stale
from bot.services import team as svc
from bot.storage.db import make_session_factory, transaction
from bot.storage.models import Customer, Membership, Note, PlaybookRun, Task, Team, User

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
TODAY = date(2026, 11, 23)
LEAD, AMY, BOB, CAT, LENA, STRANGER = 400, 401, 402, 403, 404, 405
OTHER_LEAD, OTTO, ADMIN = 410, 411, 499


@dataclass(frozen=True)
class World:
    """Team T (lead, second lead Lena, Amy, Bob, Cat who left) and team O (its lead, Otto)."""

    team: int
    other: int
    customers: dict[str, int]


async def _build(engine: AsyncEngine) -> World:
    async with transaction(make_session_factory(engine)) as session:
        team, other = Team(name="T"), Team(name="O")
        session.add_all([team, other])
        for uid, name in [
            (LEAD, "Lead"),
            (AMY, "Amy"),
            (BOB, "Bob"),
            (CAT, "Cat"),
            (LENA, "Lena"),
            (STRANGER, "Stranger"),
            (OTHER_LEAD, "Olga"),
            (OTTO, "Otto"),
        ]:
            session.add(User(telegram_id=uid, name=name))
        session.add(User(telegram_id=ADMIN, name="Admin", is_admin=True))
        await session.flush()
        assert team.id is not None and other.id is not None
        for uid, team_id, role in [
            (LEAD, team.id, "lead"),
            (LENA, team.id, "lead"),
            (AMY, team.id, "rep"),
            (BOB, team.id, "rep"),
            (OTHER_LEAD, other.id, "lead"),
            (OTTO, other.id, "rep"),
        ]:
            session.add(Membership(user_id=uid, team_id=team_id, role=role))
        session.add(Membership(user_id=CAT, team_id=team.id, role="rep", active=False, left_at=NOW))
        customers: dict[str, Customer] = {}
        for key, team_id, owner in [
            ("a1", team.id, AMY),
            ("a2", team.id, AMY),
            ("b1", team.id, BOB),
            ("o1", other.id, OTTO),
        ]:
            customers[key] = Customer(team_id=team_id, owner_id=owner, name=key, optin_code=f"code-{key}")
        session.add_all(customers.values())
        await session.flush()
        ids = {key: row.id for key, row in customers.items() if row.id is not None}
        session.add_all(
            [
                Note(
                    customer_id=ids["a1"], team_id=team.id, author_id=AMY, kind="call", text="liked the demo"
                ),
                Note(
                    customer_id=ids["a2"],
                    team_id=team.id,
                    author_id=AMY,
                    kind="visit",
                    text="met at the fair",
                ),
                Task(
                    team_id=team.id, owner_id=AMY, customer_id=ids["a1"], due_on=TODAY, text="send the quote"
                ),
                Task(
                    team_id=team.id,
                    owner_id=AMY,
                    customer_id=ids["a2"],
                    due_on=TODAY - timedelta(days=3),
                    text="call back",
                ),
                Task(
                    team_id=team.id,
                    owner_id=AMY,
                    customer_id=ids["a1"],
                    due_on=TODAY - timedelta(days=10),
                    text="first call",
                    done_at=NOW - timedelta(days=10),
                ),
                Task(team_id=team.id, owner_id=BOB, customer_id=ids["b1"], due_on=TODAY, text="Bob's own"),
                Task(team_id=other.id, owner_id=OTTO, customer_id=ids["o1"], due_on=TODAY, text="Otto's"),
                PlaybookRun(
                    team_id=team.id, customer_id=ids["a1"], user_id=AMY, playbook="objection", step="s"
                ),
            ]
        )
        return World(team.id, other.id, ids)


async def _owners(engine: AsyncEngine) -> dict[str, int]:
    async with transaction(make_session_factory(engine)) as session:
        return {c.name: c.owner_id for c in (await session.exec(select(Customer))).all()}


async def _tasks(engine: AsyncEngine) -> dict[str, int]:
    """Each task's owner, by its text."""
    async with transaction(make_session_factory(engine)) as session:
        return {t.text: t.owner_id for t in (await session.exec(select(Task))).all()}


BEFORE_OWNERS = {"a1": AMY, "a2": AMY, "b1": BOB, "o1": OTTO}


async def test_a_lead_moves_all_of_a_reps_customers_and_open_follow_ups_in_one_step(
    engine: AsyncEngine,
) -> None:
    world = await _build(engine)
    lead = Actor(LEAD, Role.LEAD, world.team)
    async with transaction(make_session_factory(engine)) as session:
        moved = await svc.reassign_customers(
            session, lead, team_id=world.team, from_user=AMY, to_user=BOB, now=NOW
        )
    assert (moved.count, moved.source, moved.target) == (2, "Amy", "Bob")
    assert await _owners(engine) == {"a1": BOB, "a2": BOB, "b1": BOB, "o1": OTTO}
    assert await _tasks(engine) == {
        "send the quote": BOB,
        "call back": BOB,
        "first call": AMY,  # done: it stays in Amy's history
        "Bob's own": BOB,
        "Otto's": OTTO,
    }
    async with transaction(make_session_factory(engine)) as session:
        notes = (await session.exec(select(Note).order_by(col(Note.id)))).all()
        (run,) = (await session.exec(select(PlaybookRun))).all()
    a1, a2 = world.customers["a1"], world.customers["a2"]
    history = [(n.customer_id, n.author_id, n.kind, n.text) for n in notes if n.kind != "system"]
    assert history == [(a1, AMY, "call", "liked the demo"), (a2, AMY, "visit", "met at the fair")]
    said = sorted((n.customer_id, n.author_id, n.meta) for n in notes if n.kind == "system")
    assert said == [
        (a1, LEAD, {"event": "reassign", "old": "Amy", "new": "Bob"}),
        (a2, LEAD, {"event": "reassign", "old": "Amy", "new": "Bob"}),
    ]
    assert (run.status, run.ended_at) == ("abandoned", NOW)  # Bob starts afresh


async def test_an_admin_may_reassign_but_not_a_rep_or_the_lead_of_another_team(engine: AsyncEngine) -> None:
    world = await _build(engine)
    for actor in (Actor(AMY, Role.REP, world.team), Actor(OTHER_LEAD, Role.LEAD, world.other)):
        with pytest.raises(NotAllowed):
            async with transaction(make_session_factory(engine)) as session:
                await svc.reassign_customers(
                    session, actor, team_id=world.team, from_user=AMY, to_user=BOB, now=NOW
                )
    assert await _owners(engine) == BEFORE_OWNERS
    admin = Actor(ADMIN, Role.ADMIN, None, is_admin=True)
    async with transaction(make_session_factory(engine)) as session:
        moved = await svc.reassign_customers(
            session, admin, team_id=world.team, from_user=BOB, to_user=AMY, now=NOW
        )
    assert moved.count == 1
    assert (await _owners(engine))["b1"] == AMY


async def test_customers_only_move_between_active_members_of_the_same_team(engine: AsyncEngine) -> None:
    world = await _build(engine)
    lead = Actor(LEAD, Role.LEAD, world.team)
    refused: list[tuple[int, int, type[Exception]]] = [
        (AMY, OTTO, Stale),  # a rep of another team
        (AMY, CAT, Stale),  # someone who left
        (AMY, STRANGER, Stale),  # someone who never joined
        (OTTO, AMY, Stale),  # another team's rep's customers
        (AMY, AMY, InvalidInput),
    ]
    for source, target, error in refused:
        with pytest.raises(error):
            async with transaction(make_session_factory(engine)) as session:
                await svc.reassign_customers(
                    session, lead, team_id=world.team, from_user=source, to_user=target, now=NOW
                )
    assert await _owners(engine) == BEFORE_OWNERS
    assert (await _tasks(engine))["send the quote"] == AMY
    async with transaction(make_session_factory(engine)) as session:
        assert [n for n in (await session.exec(select(Note))).all() if n.kind == "system"] == []


async def _remove(engine: AsyncEngine, actor: Actor, team_id: int, user_id: int) -> User:
    async with transaction(make_session_factory(engine)) as session:
        return await svc.remove_member(session, actor, team_id=team_id, user_id=user_id, now=NOW)


async def _active(engine: AsyncEngine, team_id: int) -> set[int]:
    async with transaction(make_session_factory(engine)) as session:
        rows = await session.exec(
            select(Membership).where(col(Membership.team_id) == team_id, col(Membership.active))
        )
        return {m.user_id for m in rows.all()}


async def test_a_member_is_removed_once_their_customers_have_a_new_owner(engine: AsyncEngine) -> None:
    world = await _build(engine)
    lead = Actor(LEAD, Role.LEAD, world.team)
    with pytest.raises(InvalidInput) as first:
        await _remove(engine, lead, world.team, AMY)
    assert (first.value.key, first.value.params) == ("error.reassign_first", {"count": 2})
    async with transaction(make_session_factory(engine)) as session:
        await svc.reassign_customers(session, lead, team_id=world.team, from_user=AMY, to_user=BOB, now=NOW)
    removed = await _remove(engine, lead, world.team, AMY)
    assert removed.name == "Amy"
    assert AMY not in await _active(engine, world.team)
    async with transaction(make_session_factory(engine)) as session:
        members = await svc.team_members(session, lead, team_id=world.team)
    assert {m.name: m.customers for m in members} == {"Lead": 0, "Lena": 0, "Bob": 3}
    with pytest.raises(Stale):  # a second tap on the same button
        await _remove(engine, lead, world.team, AMY)
    with pytest.raises(Stale):  # nothing can be handed to her any more
        async with transaction(make_session_factory(engine)) as session:
            await svc.reassign_customers(
                session, lead, team_id=world.team, from_user=BOB, to_user=AMY, now=NOW
            )


async def test_only_an_admin_removes_a_lead_and_nobody_removes_themselves(engine: AsyncEngine) -> None:
    world = await _build(engine)
    lead = Actor(LEAD, Role.LEAD, world.team)
    with pytest.raises(NotAllowed):
        await _remove(engine, lead, world.team, LENA)
    with pytest.raises(InvalidInput) as itself:
        await _remove(engine, lead, world.team, LEAD)
    assert itself.value.key == "error.cannot_remove_self"
    for outsider in (Actor(BOB, Role.REP, world.team), Actor(OTHER_LEAD, Role.LEAD, world.other)):
        with pytest.raises(NotAllowed):
            await _remove(engine, outsider, world.team, LENA)
    with pytest.raises(Stale):  # Otto is not in this team
        await _remove(engine, lead, world.team, OTTO)
    assert await _active(engine, world.team) == {LEAD, LENA, AMY, BOB}
    await _remove(engine, Actor(ADMIN, Role.ADMIN, None, is_admin=True), world.team, LENA)
    assert await _active(engine, world.team) == {LEAD, AMY, BOB}
