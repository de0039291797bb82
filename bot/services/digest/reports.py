"""The report's CSV export: each member's activity, and every customer's figures (purchases,
usual interval, churn risk, loyalty, contact rhythm), as plain tables the handler writes out.

The customers' figures are worked out in a worker thread from what was read: for a team of
100,000 customers that is over a second of CPU the event loop does not wait for.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select as sql_select  # more columns than sqlmodel's select types
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
    customers = (
        await session.exec(  # type: ignore[call-overload]  # sqlmodel types at most 4 columns
            sql_select(
                col(Customer.id),
                col(Customer.name),
                col(Customer.owner_id),
                col(Customer.stage),
                col(Customer.grade),
                col(Customer.contact_every_days),
                col(Customer.last_contact_at),
                col(Customer.created_at),
            )
            .where(col(Customer.team_id) == team.id, col(Customer.archived_at).is_(None))
            .order_by(col(Customer.id))
        )
    ).all()
    facts = _Facts(list(customers), bought, satisfaction, names, today, now, rhythm, factor, reference)
    # Every customer's rules, for a big team thousands of them: CPU work, off the event loop.
    customer_rows = await asyncio.to_thread(_customer_rows, facts)
    return rep_columns, rep_rows, customer_columns, customer_rows


@dataclass(frozen=True)
class _Facts:
    """What the customers' rows are worked out from, read from the database."""

    customers: list[Any]  # (id, name, owner, stage, grade, own rhythm, last contact, created)
    bought: dict[int, list[tuple[date, Decimal, str]]]
    satisfaction: dict[int, int]
    names: dict[int, str]
    today: date
    now: datetime
    rhythm: dict[str, int]
    factor: float
    reference: Decimal


def _customer_rows(facts: _Facts) -> list[list[Any]]:
    """Each customer's figures (purchases, interval, churn, loyalty, rhythm): no database."""
    today, now = facts.today, facts.now
    rows: list[list[Any]] = []
    for cid, name, owner, stage, grade, own, contacted, created in facts.customers:
        bought = analytics.PurchaseFacts.of(
            facts.bought.get(cid, []), today=today, satisfaction=facts.satisfaction.get(cid)
        )
        interval = analytics.usual_interval(bought)
        risk = analytics.churn_risk(bought, today=today, factor=facts.factor)
        every = analytics.contact_every(grade, own, facts.rhythm)
        behind = analytics.rhythm_breach(
            last_contact=contacted, created=created, every=every, stage=stage, now=now
        )
        rows.append(
            [
                cid,
                name,
                facts.names.get(owner, ""),
                stage,
                grade or "",
                bought.count,
                bought.revenue,
                bought.first.isoformat() if bought.first else "",
                bought.last.isoformat() if bought.last else "",
                round(interval) if interval is not None else "",
                (today - bought.last).days if bought.last else "",
                risk is not None,
                analytics.loyalty(bought, today=today, reference_revenue=facts.reference).score
                if bought.count
                else "",
                (now - contacted).days if contacted else "",
                every,
                behind is not None,
            ]
        )
    return rows


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
