"""Storage limits hold on both databases: the longest card still saves and is still found."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.access import Actor, Role
from bot.services import customers as svc
from bot.storage.db import make_session_factory, transaction
from bot.storage.models import Membership, Team, User

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


async def test_the_longest_possible_card_saves_and_is_found(engine: AsyncEngine) -> None:
    sessions = make_session_factory(engine)
    async with transaction(sessions) as session:
        team = Team(name="T")
        session.add(team)
        session.add(User(telegram_id=5_000_000_001, name="Rep"))
        await session.flush()
        assert team.id is not None
        session.add(Membership(user_id=5_000_000_001, team_id=team.id, role="rep"))
    actor = Actor(5_000_000_001, Role.REP, team.id)
    values = {"name": "龘" * 100, "company": "齉" * 200, "tags": " ".join(f"标签{i:02d}" for i in range(20))}
    async with transaction(sessions) as session:
        customer = await svc.create_customer(session, actor, values=values, now=NOW)
        for key in ("hobbies", "family", "taboos", "company_plans", "products_used"):
            svc.apply_field(customer, svc.card.field(key), "爱" * 1000, today=NOW.date())
        svc.reindex(customer)
        session.add(customer)
    async with transaction(sessions) as session:
        page = await svc.search(session, actor, svc.Filters(query="龘龘"), now=NOW)
        assert page.total == 1 and page.items[0].name == "龘" * 100
