"""The report's CSV export: each member's activity, and every customer's figures (purchases,
usual interval, churn risk, loyalty, contact rhythm), as plain tables the handler writes out."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import analytics
from bot.domain.access import Actor
from bot.services.analytics import reference_revenue
from bot.services.digest.model import Digest
from bot.services.digest.views import team_digest
from bot.storage.models import Customer, Outcome, Purchase, Team, User


async def report_tables(
    session: AsyncSession, digest: Digest, *, now: datetime
) -> tuple[list[str], list[list[Any]], list[str], list[list[Any]]]:
    """The report as two tables: each member's activity, and every customer's figures."""
    rep_columns = [
        "member",
        "role",
        "notes",
        "contacts",
        "playbooks",
        "new_customers",
        "stage_moves",
        "wins",
        "amount",
        "behind",
        "overdue",
    ]
    rep_rows: list[list[Any]] = [
        [r.name, r.role, *(getattr(r, c) for c in rep_columns[2:])] for r in digest.reps
    ]
    team = await session.get(Team, digest.team_id)
    assert team is not None
    customer_columns = [
        "customer_id",
        "customer",
        "owner",
        "stage",
        "grade",
        "purchases",
        "revenue",
        "first_purchase",
        "last_purchase",
        "usual_interval",
        "days_since_purchase",
        "churn_risk",
        "loyalty",
        "days_since_contact",
        "contact_every",
        "behind_rhythm",
    ]
    today = digest.today
    rhythm = analytics.rhythm_of(team.settings)
    factor = analytics.churn_factor(team.settings)
    reference = await reference_revenue(session, team)
    bought: dict[int, list[tuple[date, Decimal, str]]] = defaultdict(list)
    for customer_id, day, amount, items in (
        await session.exec(
            select(
                col(Purchase.customer_id),
                col(Purchase.purchased_on),
                col(Purchase.amount),
                col(Purchase.items),
            ).where(col(Purchase.team_id) == team.id)
        )
    ).all():
        bought[int(customer_id)].append((day, Decimal(amount), items or ""))
    satisfaction: dict[int, int] = {}
    for customer_id, score in (
        await session.exec(
            select(Outcome.customer_id, Outcome.score)
            .where(col(Outcome.team_id) == team.id, col(Outcome.score).is_not(None))
            .order_by(col(Outcome.created_at), col(Outcome.id))
        )
    ).all():
        satisfaction[int(customer_id)] = int(score or 0)
    names = dict((await session.exec(select(User.telegram_id, User.name))).all())
    customer_rows: list[list[Any]] = []
    for customer in (
        await session.exec(
            select(Customer)
            .where(col(Customer.team_id) == team.id, col(Customer.archived_at).is_(None))
            .order_by(col(Customer.id))
        )
    ).all():
        assert customer.id is not None
        facts = analytics.PurchaseFacts.of(
            bought.get(customer.id, []), today=today, satisfaction=satisfaction.get(customer.id)
        )
        interval = analytics.usual_interval(facts)
        risk = analytics.churn_risk(facts, today=today, factor=factor)
        every = analytics.contact_every(customer.grade, customer.contact_every_days, rhythm)
        behind = analytics.rhythm_breach(
            last_contact=customer.last_contact_at,
            created=customer.created_at,
            every=every,
            stage=customer.stage,
            now=now,
        )
        customer_rows.append(
            [
                customer.id,
                customer.name,
                names.get(customer.owner_id, ""),
                customer.stage,
                customer.grade or "",
                facts.count,
                facts.revenue,
                facts.first.isoformat() if facts.first else "",
                facts.last.isoformat() if facts.last else "",
                round(interval) if interval is not None else "",
                (today - facts.last).days if facts.last else "",
                risk is not None,
                analytics.loyalty(facts, today=today, reference_revenue=reference).score
                if facts.count
                else "",
                (now - customer.last_contact_at).days if customer.last_contact_at else "",
                every,
                behind is not None,
            ]
        )
    return rep_columns, rep_rows, customer_columns, customer_rows


@dataclass(frozen=True)
class Export:
    """A report and its two tables (columns, rows): the members' activity and the customers."""

    digest: Digest
    rep_columns: list[str]
    rep_rows: list[list[Any]]
    customer_columns: list[str]
    customer_rows: list[list[Any]]


async def report_export(
    session: AsyncSession, actor: Actor, *, team_id: int, kind: str, now: datetime
) -> Export:
    """The report of a team the actor may see, with its tables for the CSV files."""
    digest = await team_digest(session, actor, team_id=team_id, kind=kind, now=now)
    return Export(digest, *await report_tables(session, digest, now=now))
