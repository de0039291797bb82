"""The lead's dashboard: daily activity for a period and a rep, and the customers behind a bar,
counting exactly what the bar counts; on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.access import Actor, Role
from bot.domain.errors import InvalidInput, NotAllowed
from bot.services import dashboard as svc
from bot.storage.db import SessionFactory, make_session_factory, transaction
from bot.storage.models import Customer, Membership, Note, Purchase, Team, User

LEAD, AMY, BOB, OTHER_LEAD, OUTSIDER = 800, 801, 802, 810, 811
DAY1, DAY2, DAY3 = date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A moment of a Shanghai day (UTC+8), in UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


async def _build(engine: AsyncEngine) -> tuple[SessionFactory, int, int, dict[str, int]]:
    sessions = make_session_factory(engine)
    async with transaction(sessions) as session:
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
        people = {
            "Gao": Customer(team_id=team.id, owner_id=AMY, name="Gao", optin_code="d-gao"),
            "Hu": Customer(team_id=team.id, owner_id=AMY, name="Hu", optin_code="d-hu"),
            "Qi": Customer(team_id=team.id, owner_id=BOB, name="Qi", optin_code="d-qi"),
            "Zed": Customer(team_id=other.id, owner_id=OUTSIDER, name="Zed", optin_code="d-zed"),
        }
        session.add_all(people.values())
        await session.flush()
        ids = {name: c.id for name, c in people.items() if c.id is not None}

        def note(who: str, author: int, at: datetime, kind: str = "note") -> None:
            customer = people[who]
            session.add(
                Note(
                    customer_id=ids[who], team_id=customer.team_id, author_id=author, kind=kind, created_at=at
                )
            )

        note("Gao", AMY, local(DAY1, 9))
        note("Gao", AMY, local(DAY1, 23, 30))  # late on day 1 in Shanghai (day 1 15:30 UTC)
        note("Hu", AMY, local(DAY2, 0, 30))  # just after midnight: day 2 (day 1 16:30 UTC)
        note("Gao", AMY, local(DAY2, 10), kind="call")
        note("Gao", AMY, local(DAY2, 11), kind="system")  # not written by a rep: not counted
        note("Gao", LEAD, local(DAY2, 12))  # the lead's note on Amy's customer
        note("Qi", BOB, local(DAY2, 15), kind="visit")
        note("Zed", OUTSIDER, local(DAY2, 15))  # another team
        for who, day in [("Qi", DAY2), ("Gao", DAY2), ("Gao", DAY3), ("Zed", DAY2)]:
            session.add(
                Purchase(
                    customer_id=ids[who], team_id=people[who].team_id, purchased_on=day, amount=Decimal(10)
                )
            )
        return sessions, team.id, other.id, ids


async def test_daily_activity_of_the_team_and_of_one_rep(engine: AsyncEngine) -> None:
    sessions, team, _, _ = await _build(engine)
    lead = Actor(LEAD, Role.LEAD, team)
    async with transaction(sessions) as session:
        everyone = await svc.activity(session, lead, first=DAY1, last=DAY3)
        amy = await svc.activity(session, lead, first=DAY1, last=DAY3, owner_id=AMY)
        bob = await svc.activity(session, lead, first=DAY2, last=DAY2, owner_id=BOB)
    assert [(d.day, d.notes, d.purchases) for d in everyone] == [(DAY1, 2, 0), (DAY2, 4, 2), (DAY3, 0, 1)]
    assert [(d.day, d.notes, d.purchases) for d in amy] == [(DAY1, 2, 0), (DAY2, 2, 1), (DAY3, 0, 1)]
    assert [(d.day, d.notes, d.purchases) for d in bob] == [(DAY2, 1, 1)]


async def test_the_customers_behind_a_bar_add_up_to_the_bar(engine: AsyncEngine) -> None:
    sessions, team, _, ids = await _build(engine)
    lead = Actor(LEAD, Role.LEAD, team)
    async with transaction(sessions) as session:
        bars = {d.day: d for d in await svc.activity(session, lead, first=DAY1, last=DAY3)}
        behind = {day: await svc.behind_day(session, lead, day=day) for day in (DAY1, DAY2, DAY3)}
        amy_day2 = await svc.behind_day(session, lead, day=DAY2, owner_id=AMY)
    for day, customers in behind.items():
        assert sum(c.notes for c in customers) == bars[day].notes
        assert sum(c.purchases for c in customers) == bars[day].purchases
    assert [(c.name, c.notes, c.purchases) for c in behind[DAY2]] == [
        ("Gao", 2, 1),
        ("Qi", 1, 1),
        ("Hu", 1, 0),
    ]
    assert [(c.name, c.owner_id, c.notes, c.purchases) for c in amy_day2] == [
        ("Gao", AMY, 1, 1),
        ("Hu", AMY, 1, 0),
    ]
    assert behind[DAY2][0].customer_id == ids["Gao"]


async def test_only_the_lead_of_the_team_sees_it_and_only_its_reps(engine: AsyncEngine) -> None:
    sessions, team, other, _ = await _build(engine)
    async with transaction(sessions) as session:
        with pytest.raises(NotAllowed):
            await svc.activity(session, Actor(AMY, Role.REP, team), first=DAY1, last=DAY2)
        with pytest.raises(NotAllowed):
            await svc.behind_day(session, Actor(LEAD, Role.LEAD, team), day=DAY2, owner_id=OUTSIDER)
        with pytest.raises(InvalidInput):
            await svc.activity(session, Actor(LEAD, Role.LEAD, team), first=DAY2, last=DAY1)
        with pytest.raises(InvalidInput):
            await svc.activity(
                session, Actor(LEAD, Role.LEAD, team), first=DAY1, last=DAY1 + timedelta(days=92)
            )
        theirs = await svc.behind_day(session, Actor(OTHER_LEAD, Role.LEAD, other), day=DAY2)
    assert [c.name for c in theirs] == ["Zed"]
