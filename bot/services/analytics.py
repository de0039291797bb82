"""Customer analytics from the database: loyalty scores, a team's reference revenue, and the
card's insight (loyalty, usual interval, churn risk) about one customer.

The rules themselves (what loyalty and churn risk mean) are in `bot.domain.analytics`;
this module gathers the purchases and visits they look at. The digest's list of customers
at risk is `bot.services.digest.lists.at_risk`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from time import monotonic

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import analytics, grading
from bot.storage.models import Customer, Outcome, Purchase, Team

_REFERENCE_TTL = 600.0  # seconds; a team's top spend moves slowly
_references: dict[int, tuple[float, Decimal]] = {}


async def cached_reference(session: AsyncSession, team: Team) -> Decimal:
    """`reference_revenue`, remembered for ten minutes (a card should not scan the team)."""
    assert team.id is not None
    found = _references.get(team.id)
    if found is not None and monotonic() - found[0] < _REFERENCE_TTL:
        return found[1]
    value = await reference_revenue(session, team)
    _references[team.id] = (monotonic(), value)
    return value


@dataclass(frozen=True)
class Insight:
    """What the card's history shows about a customer: loyalty, usual interval, risk."""

    loyalty: analytics.Loyalty
    interval: float | None
    risk: analytics.ChurnRisk | None


async def insight(session: AsyncSession, customer: Customer, *, today: date) -> Insight:
    """Loyalty and churn risk of one customer, for their card."""
    team = await session.get(Team, customer.team_id)
    assert team is not None and customer.id is not None
    reference = await cached_reference(session, team)
    scores = await loyalty_of(session, team=team, ids=[customer.id], today=today, reference=reference)
    purchases = [
        (day, Decimal(amount), "")
        for day, amount in (
            await session.exec(
                select(col(Purchase.purchased_on), col(Purchase.amount)).where(
                    col(Purchase.customer_id) == customer.id
                )
            )
        ).all()
    ]
    facts = analytics.PurchaseFacts.of(purchases, today=today)
    risk = analytics.churn_risk(facts, today=today, factor=analytics.churn_factor(team.settings))
    return Insight(scores[customer.id], analytics.usual_interval(facts), risk)


async def reference_revenue(session: AsyncSession, team: Team) -> Decimal:
    """What a top customer of the team spends: the revenue at the A grade's cut-off."""
    where = col(Purchase.team_id) == team.id
    buyers = int(
        (await session.exec(select(func.count(func.distinct(Purchase.customer_id))).where(where))).one()
    )
    if not buyers:
        return Decimal(0)
    a_share, _ = grading.cutoffs_from(team.settings)
    index = max(0, min(buyers - 1, round(buyers * a_share) - 1))
    total = (
        await session.exec(
            select(func.sum(Purchase.amount))
            .where(where)
            .group_by(col(Purchase.customer_id))
            .order_by(func.sum(Purchase.amount).desc())
            .offset(index)
            .limit(1)
        )
    ).first()
    return Decimal(total or 0)


async def loyalty_of(
    session: AsyncSession, *, team: Team, ids: list[int], today: date, reference: Decimal | None = None
) -> dict[int, analytics.Loyalty]:
    """Loyalty scores of a few customers, from their purchases and after-sale visits."""
    if not ids:
        return {}
    if reference is None:
        reference = await reference_revenue(session, team)
    bought: dict[int, list[tuple[date, Decimal, str]]] = defaultdict(list)
    for customer_id, day, amount, items in (
        await session.exec(
            select(
                col(Purchase.customer_id),
                col(Purchase.purchased_on),
                col(Purchase.amount),
                col(Purchase.items),
            ).where(col(Purchase.customer_id).in_(ids))
        )
    ).all():
        bought[int(customer_id)].append((day, Decimal(amount), items or ""))
    satisfaction: dict[int, int] = {}
    for customer_id, score in (
        await session.exec(
            select(Outcome.customer_id, Outcome.score)
            .where(col(Outcome.customer_id).in_(ids), col(Outcome.score).is_not(None))
            .order_by(col(Outcome.created_at), col(Outcome.id))
        )
    ).all():
        satisfaction[int(customer_id)] = int(score or 0)
    return {
        customer_id: analytics.loyalty(
            analytics.PurchaseFacts.of(
                bought.get(customer_id, []), today=today, satisfaction=satisfaction.get(customer_id)
            ),
            today=today,
            reference_revenue=reference,
        )
        for customer_id in ids
    }
