"""Grades are recomputed for a team with more paying customers than one statement takes parameters."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import func, insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.services.customers import recompute_grades
from bot.storage.db import make_session_factory, transaction
from bot.storage.models import Customer, Purchase, Team, User

PAYING = 33_000  # over PostgreSQL's 32,767 parameters in one statement
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


async def test_a_team_with_more_paying_customers_than_a_statement_takes_is_graded(
    engine: AsyncEngine,
) -> None:
    sessions = make_session_factory(engine)
    async with transaction(sessions) as session:
        team = Team(name="Big")
        session.add_all([team, User(telegram_id=1, name="Rep")])
        await session.flush()
        assert team.id is not None
        team_id = team.id
        connection = await session.connection()
        await connection.execute(
            insert(Customer),
            [
                {
                    "team_id": team_id,
                    "owner_id": 1,
                    "name": f"c{i}",
                    "optin_code": f"big-{i}",
                    "tags": [],
                    "extra": {},
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for i in range(PAYING)
            ],
        )
        ids = (await session.exec(select(Customer.id).order_by(col(Customer.id)))).all()
        await connection.execute(
            insert(Purchase),
            [
                {
                    "customer_id": cid,
                    "team_id": team_id,
                    "purchased_on": date(2026, 11, 1),
                    "amount": Decimal(rank + 1),
                    "items": "",
                    "created_at": NOW,
                }
                for rank, cid in enumerate(ids)
            ],
        )
    async with transaction(sessions) as session:
        await recompute_grades(session, team_id)
    async with transaction(sessions) as session:
        counts = dict(
            (await session.exec(select(Customer.grade, func.count()).group_by(col(Customer.grade)))).all()
        )
    # The top 20% by revenue are A, the next 30% B, the rest C.
    assert counts == {"A": PAYING // 5, "B": PAYING * 3 // 10, "C": PAYING - PAYING // 5 - PAYING * 3 // 10}
