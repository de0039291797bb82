"""Who may close a complaint, and that closing it twice changes nothing (issue 16, item 14)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.domain.access import Actor, Role
from bot.domain.errors import NotAllowed, NotFound, Stale
from bot.services import complaints as svc
from bot.storage.db import make_session_factory, transaction
from bot.storage.models import Note, Outcome
from tests.integration.test_digest import AMY, BOB, LEAD, NOW, OTHER, _build


async def _open(engine: AsyncEngine, team_id: int) -> list[Outcome]:
    async with transaction(make_session_factory(engine)) as session:
        rows = await session.exec(
            select(Outcome)
            .where(col(Outcome.team_id) == team_id, col(Outcome.kind) == "complaint")
            .where(col(Outcome.resolved_at).is_(None))
            .order_by(col(Outcome.id))
        )
        return list(rows.all())


async def test_a_rep_closes_their_own_customers_a_lead_their_teams(engine: AsyncEngine) -> None:
    team_id, other_team, _ = await _build(engine)
    first, second = await _open(engine, team_id)
    sessions = make_session_factory(engine)
    for actor in (Actor(AMY, Role.REP, team_id), Actor(OTHER, Role.REP, other_team)):
        with pytest.raises(NotAllowed):
            async with transaction(sessions) as session:
                await svc.resolve(session, actor, first.id or 0, now=NOW)
    async with transaction(sessions) as session:
        done = await svc.resolve(session, Actor(BOB, Role.REP, team_id), first.id or 0, now=NOW)
    assert done.outcome_id == first.id
    with pytest.raises(Stale) as twice:
        async with transaction(sessions) as session:
            await svc.resolve(session, Actor(LEAD, Role.LEAD, team_id), first.id or 0, now=NOW)
    assert twice.value.key == "complaint.already_resolved"
    later = NOW + timedelta(hours=1)
    async with transaction(sessions) as session:
        await svc.resolve(session, Actor(LEAD, Role.LEAD, team_id), second.id or 0, now=later)
        notes = (await session.exec(select(Note).where(col(Note.kind) == "system"))).all()
    assert await _open(engine, team_id) == []
    assert sorted(n.meta["outcome"] for n in notes if n.meta.get("event") == "complaint_resolved") == sorted(
        [first.id, second.id]
    )
    with pytest.raises(NotFound):
        async with transaction(sessions) as session:
            await svc.resolve(session, Actor(LEAD, Role.LEAD, team_id), 999_999, now=NOW)
