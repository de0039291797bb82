"""Storage limits hold on both databases: the longest card still saves and is still found."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.access import Actor, Role
from bot.services import customer_search
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
    async with engine.connect() as connection:
        page = await customer_search.search(connection, actor, customer_search.Filters(query="龘龘"), now=NOW)
        assert page.total == 1 and page.items[0].name == "龘" * 100


async def test_search_is_literal_scoped_and_paged(engine: AsyncEngine) -> None:
    """What people type is matched as typed (% _ \\ are not wildcards), within the actor's reach."""
    sessions = make_session_factory(engine)
    async with transaction(sessions) as session:
        mine, other = Team(name="Mine"), Team(name="Other")
        session.add_all([mine, other])
        for uid in (5_000_000_011, 5_000_000_012, 5_000_000_013, 5_000_000_014):
            session.add(User(telegram_id=uid, name=str(uid)))
        await session.flush()
        assert mine.id is not None and other.id is not None
        session.add(Membership(user_id=5_000_000_011, team_id=mine.id, role="rep"))
        session.add(Membership(user_id=5_000_000_012, team_id=mine.id, role="rep"))
        session.add(Membership(user_id=5_000_000_013, team_id=mine.id, role="lead"))
        session.add(Membership(user_id=5_000_000_014, team_id=other.id, role="rep"))
    rep = Actor(5_000_000_011, Role.REP, mine.id)
    colleague = Actor(5_000_000_012, Role.REP, mine.id)
    lead = Actor(5_000_000_013, Role.LEAD, mine.id)
    stranger = Actor(5_000_000_014, Role.REP, other.id)
    async with transaction(sessions) as session:
        for name in ("100% 纯棉", "1000 纯棉", "a_b 贸易", "axb 贸易", "back\\slash"):
            await svc.create_customer(session, rep, values={"name": name}, now=NOW)
        for i in range(10):
            await svc.create_customer(
                session, colleague, values={"name": f"王{i}", "company": "纯棉厂"}, now=NOW
            )

    async def names(actor: Actor, query: str, offset: int = 0) -> tuple[list[str], int]:
        async with engine.connect() as connection:
            page = await customer_search.search(
                connection, actor, customer_search.Filters(query=query), offset=offset, limit=8, now=NOW
            )
        return [c.name for c in page.items], page.total

    assert await names(rep, "100%") == (["100% 纯棉"], 1)
    assert await names(rep, "a_b") == (["a_b 贸易"], 1)
    assert await names(rep, "k\\s") == (["back\\slash"], 1)
    assert (await names(rep, "纯棉"))[1] == 2  # not the colleague's cards
    assert (await names(lead, "纯棉"))[1] == 12  # the lead sees the whole team
    first, total = await names(lead, "纯棉")
    second, _ = await names(lead, "纯棉", offset=8)
    assert total == 12 and len(first) == 8 and len(second) == 4 and not set(first) & set(second)
    assert await names(lead, "纯棉", offset=16) == ([], 12)  # past the end: still the total
    assert await names(stranger, "纯棉") == ([], 0)
