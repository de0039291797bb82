"""The digest's lists, a page at a time: overdue follow-ups, late complaints, customers at risk
of leaving, A-grade customers nobody has called; and how many customers each owner has behind
their contact rhythm.

What counts as at risk or behind is decided in `bot.domain.analytics`; the queries here
pre-select (and page) the rows those rules look at. Loyalty scores come from
`bot.services.analytics`.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, and_, case, func, literal
from sqlalchemy import select as sql_select  # more columns than sqlmodel's select types
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import analytics
from bot.services.analytics import cached_reference, loyalty_of
from bot.services.digest.model import PAGE, Item, Listing
from bot.storage.models import Customer, Outcome, Purchase, Task, Team, User

log = logging.getLogger(__name__)


async def _names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = (
        await session.exec(select(User.telegram_id, User.name).where(col(User.telegram_id).in_(ids)))
    ).all()
    return {int(user_id): str(name) for user_id, name in rows}


async def overdue_by_owner(session: AsyncSession, *, team_id: int, today: date) -> dict[int, int]:
    """How many follow-ups past their day each owner has."""
    rows = (
        await session.exec(
            select(Task.owner_id, func.count())
            .where(col(Task.team_id) == team_id, col(Task.done_at).is_(None), col(Task.due_on) < today)
            .group_by(col(Task.owner_id))
        )
    ).all()
    return {int(owner): int(count) for owner, count in rows}


async def overdue(
    session: AsyncSession,
    *,
    team_id: int,
    today: date,
    offset: int = 0,
    limit: int = PAGE,
    owner_id: int | None = None,
) -> Listing:
    """Follow-ups past their day and not done, the oldest first (only `owner_id`'s when given)."""
    where: tuple[Any, ...] = (
        col(Task.team_id) == team_id,
        col(Task.done_at).is_(None),
        col(Task.due_on) < today,
    )
    if owner_id is not None:
        where = (*where, col(Task.owner_id) == owner_id)
    total = (await session.exec(select(func.count()).select_from(Task).where(*where))).one()
    tasks = (
        await session.exec(
            select(Task).where(*where).order_by(col(Task.due_on), col(Task.id)).offset(offset).limit(limit)
        )
    ).all()
    customer_ids = [task.customer_id for task in tasks if task.customer_id is not None]
    customer_names = dict(
        (
            await session.exec(
                select(col(Customer.id), Customer.name).where(col(Customer.id).in_(customer_ids))
            )
        ).all()
    )
    rows = [(task, customer_names.get(task.customer_id) if task.customer_id else None) for task in tasks]
    names = await _names(session, {task.owner_id for task, _ in rows})
    items = [
        Item(
            task.customer_id,
            name or "",
            names.get(task.owner_id, ""),
            {"due": task.due_on.isoformat(), "days": (today - task.due_on).days, "text": task.text},
        )
        for task, name in rows
    ]
    return Listing(items, int(total))


async def complaints(
    session: AsyncSession,
    *,
    team_id: int,
    today: date,
    offset: int = 0,
    limit: int = PAGE,
    owner_id: int | None = None,
) -> Listing:
    """Complaints still open after the day promised to the customer, the oldest first (only
    those of `owner_id`'s customers when given)."""
    where: tuple[Any, ...] = (
        col(Outcome.team_id) == team_id,
        col(Outcome.kind) == "complaint",
        col(Outcome.resolved_at).is_(None),
        col(Outcome.due_on) < today,
    )
    counted = select(func.count()).select_from(Outcome)
    if owner_id is not None:
        where = (*where, col(Customer.owner_id) == owner_id)
        counted = counted.join(Customer, col(Customer.id) == col(Outcome.customer_id))
    total = (await session.exec(counted.where(*where))).one()
    rows = (
        await session.exec(
            select(Outcome, Customer.name, Customer.owner_id)
            .join(Customer, col(Customer.id) == col(Outcome.customer_id))
            .where(*where)
            .order_by(col(Outcome.due_on), col(Outcome.id))
            .offset(offset)
            .limit(limit)
        )
    ).all()
    names = await _names(session, {owner for _, _, owner in rows})
    items = [
        Item(
            outcome.customer_id,
            name,
            names.get(owner, ""),
            {
                "due": outcome.due_on.isoformat() if outcome.due_on else "",
                "days": (today - outcome.due_on).days if outcome.due_on else 0,
                "type": outcome.type or "",
                "words": outcome.words or "",
            },
            outcome.id,
        )
        for outcome, name, owner in rows
    ]
    return Listing(items, int(total))


def _days_between(later: Any, earlier: Any, dialect: str) -> ColumnElement[Any]:
    """Whole days from `earlier` to `later` (two dates) in SQL."""
    if dialect == "postgresql":
        return later - earlier  # type: ignore[no-any-return]  # date - date is an integer there
    return func.julianday(later) - func.julianday(earlier)


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


async def at_risk(
    session: AsyncSession,
    *,
    team: Team,
    today: date,
    offset: int = 0,
    limit: int = PAGE,
    owner_id: int | None = None,
) -> Listing:
    """Customers who have not bought for well over their usual interval, the most valuable first
    (only `owner_id`'s when given).

    The HAVING clause is `analytics.churn_risk` written in SQL (days since the last
    purchase × (purchases − 1) > factor × days from the first to the last), so the
    database counts and pages; the rule itself then describes each listed customer.
    """
    factor = analytics.churn_factor(team.settings)
    dialect = _dialect(session)
    count = func.count()
    revenue = func.sum(Purchase.amount)
    first, last = func.min(Purchase.purchased_on), func.max(Purchase.purchased_on)
    since_last = _days_between(literal(today, Date), last, dialect)
    grouped = (
        sql_select(
            col(Purchase.customer_id).label("customer_id"),
            count.label("n"),
            revenue.label("revenue"),
            first.label("first"),
            last.label("last"),
        )
        .where(col(Purchase.team_id) == team.id)
        .group_by(col(Purchase.customer_id))
        .having(
            and_(
                count >= 2,
                last > first,
                since_last >= analytics.CHURN_MIN_DAYS,
                since_last * (count - 1) > factor * _days_between(last, first, dialect),
            )
        )
        .subquery("grouped")
    )
    rows = (
        await session.exec(  # type: ignore[call-overload]  # sqlmodel types at most 4 columns
            sql_select(
                grouped.c.customer_id,
                grouped.c.n,
                grouped.c.revenue,
                grouped.c.first,
                grouped.c.last,
                col(Customer.name),
                col(Customer.owner_id),
                func.count().over(),  # how many groups there are in all, before the page
            )
            .join(Customer, col(Customer.id) == grouped.c.customer_id)
            .where(
                col(Customer.archived_at).is_(None),
                col(Customer.stage).not_in(analytics.RESTING_STAGES),
                *(() if owner_id is None else (col(Customer.owner_id) == owner_id,)),
            )
            .order_by(grouped.c.revenue.desc(), col(Customer.name), grouped.c.customer_id)
            .offset(offset)
            .limit(limit)
        )
    ).all()
    total = int(rows[0][7]) if rows else 0
    if not rows and offset:
        total = (await at_risk(session, team=team, today=today, offset=0, limit=1, owner_id=owner_id)).total
    names = await _names(session, {int(row[6]) for row in rows})
    reference = await cached_reference(session, team)
    details = await loyalty_of(
        session, team=team, ids=[int(row[0]) for row in rows], today=today, reference=reference
    )
    items = []
    for customer_id, n, spent, first_day, last_day, name, owner, _ in rows:
        facts = analytics.PurchaseFacts(int(n), Decimal(spent or 0), _date(first_day), _date(last_day))
        risk = analytics.churn_risk(facts, today=today, factor=factor)
        if risk is None:  # the SQL and the rule disagree: trust the rule, and say so
            log.warning("churn rule and query disagree on customer %s", customer_id)
            continue
        items.append(
            Item(
                int(customer_id),
                str(name),
                names.get(int(owner), ""),
                {
                    "days": risk.days_since,
                    "interval": round(risk.interval),
                    "revenue": facts.revenue,
                    "loyalty": details[int(customer_id)].score,
                },
            )
        )
    return Listing(items, total)


def _date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


async def quiet_a(
    session: AsyncSession,
    *,
    team: Team,
    now: datetime,
    offset: int = 0,
    limit: int = PAGE,
    owner_id: int | None = None,
) -> Listing:
    """A-grade customers nobody has been in touch with for longer than their rhythm, the longest
    first (only `owner_id`'s when given)."""
    rhythm = analytics.rhythm_of(team.settings)
    last = func.coalesce(col(Customer.last_contact_at), col(Customer.created_at))
    base: tuple[Any, ...] = (
        col(Customer.team_id) == team.id,
        col(Customer.grade) == "A",
        col(Customer.archived_at).is_(None),
        col(Customer.stage).not_in(analytics.RESTING_STAGES),
    )
    if owner_id is not None:
        base = (*base, col(Customer.owner_id) == owner_id)
    # `rhythm_breach` counts whole days: behind once a full day past the rhythm.
    usual = (*base, col(Customer.contact_every_days).is_(None), last <= now - timedelta(days=rhythm["A"] + 1))
    total = int((await session.exec(select(func.count()).select_from(Customer).where(*usual))).one())
    found: list[Any] = list(
        (
            await session.exec(  # type: ignore[call-overload]  # sqlmodel types at most 4 columns
                sql_select(
                    col(Customer.id),
                    col(Customer.name),
                    col(Customer.owner_id),
                    last,
                    col(Customer.last_contact_at),
                )
                .where(*usual)
                .order_by(last, col(Customer.id))
                .limit(offset + limit)
            )
        ).all()
    )
    for row in await _own_rhythm_breaches(session, base, rhythm=rhythm, now=now):
        total += 1
        found.append(row)
    found.sort(key=lambda row: (_aware(row[3]), row[0]))
    page = found[offset : offset + limit]
    names = await _names(session, {int(row[2]) for row in page})
    items = [
        Item(
            int(cid),
            str(name),
            names.get(int(owner), ""),
            {"days": (now - _aware(seen)).days, "never": contacted is None},
        )
        for cid, name, owner, seen, contacted in page
    ]
    return Listing(items, total)


async def _own_rhythm_breaches(
    session: AsyncSession, base: tuple[Any, ...], *, rhythm: dict[str, int], now: datetime
) -> list[tuple[int, str, int, datetime, datetime | None]]:
    """Customers with a rhythm of their own who are behind it: (id, name, owner, last seen, last contact).

    They are few, so the rule itself decides each one rather than a query.
    """
    out = []
    for cid, name, owner, grade, own, contacted, created, stage in (
        await session.exec(  # type: ignore[call-overload]  # sqlmodel types at most 4 columns
            sql_select(
                col(Customer.id),
                col(Customer.name),
                col(Customer.owner_id),
                col(Customer.grade),
                col(Customer.contact_every_days),
                col(Customer.last_contact_at),
                col(Customer.created_at),
                col(Customer.stage),
            ).where(*base, col(Customer.contact_every_days).is_not(None))
        )
    ).all():
        every = analytics.contact_every(grade, own, rhythm)
        breach = analytics.rhythm_breach(
            last_contact=contacted, created=created, every=every, stage=stage, now=now
        )
        if breach is not None:
            out.append((int(cid), str(name), int(owner), contacted or created, contacted))
    return out


async def behind_by_owner(
    session: AsyncSession, *, team_id: int, now: datetime, rhythm: dict[str, int]
) -> dict[int, int]:
    """How many of each owner's customers are behind their contact rhythm."""
    last = func.coalesce(col(Customer.last_contact_at), col(Customer.created_at))
    cutoff = case(
        # `rhythm_breach` counts whole days: behind once a full day past the rhythm.
        *(
            (col(Customer.grade) == grade, literal(now - timedelta(days=days + 1)))
            for grade, days in rhythm.items()
        ),
        else_=literal(now - timedelta(days=analytics.UNGRADED_RHYTHM + 1)),
    )
    base = (
        col(Customer.team_id) == team_id,
        col(Customer.archived_at).is_(None),
        col(Customer.stage).not_in(analytics.RESTING_STAGES),
    )
    out: Counter[int] = Counter()
    for _, owner, count in (
        await session.exec(
            select(Customer.grade, Customer.owner_id, func.count())
            .where(*base, col(Customer.contact_every_days).is_(None), last <= cutoff)
            .group_by(col(Customer.grade), col(Customer.owner_id))
        )
    ).all():
        out[int(owner)] += int(count)
    for _, _, owner, _, _ in await _own_rhythm_breaches(session, base, rhythm=rhythm, now=now):
        out[int(owner)] += 1
    return dict(out)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def next_crossing(session: AsyncSession, *, team: Team, now: datetime) -> datetime | None:
    """The next moment a customer of the team falls behind their contact rhythm by time alone.

    `behind_by_owner` and `quiet_a` count customers whose last contact is older than their
    rhythm as of `now`; this is when the first one not counted yet would be, if nobody wrote
    anything meanwhile. None when no customer would ever be.
    """
    rhythm = analytics.rhythm_of(team.settings)
    last = func.coalesce(col(Customer.last_contact_at), col(Customer.created_at))
    cutoff = case(
        *(
            (col(Customer.grade) == grade, literal(now - timedelta(days=days + 1)))
            for grade, days in rhythm.items()
        ),
        else_=literal(now - timedelta(days=analytics.UNGRADED_RHYTHM + 1)),
    )
    base = (
        col(Customer.team_id) == team.id,
        col(Customer.archived_at).is_(None),
        col(Customer.stage).not_in(analytics.RESTING_STAGES),
    )
    moments: list[datetime] = []
    for grade, first in (
        await session.exec(
            select(Customer.grade, func.min(last))
            .where(*base, col(Customer.contact_every_days).is_(None), last > cutoff)
            .group_by(col(Customer.grade))
        )
    ).all():
        if first is not None:
            every = analytics.contact_every(grade, None, rhythm)
            moments.append(_aware(first) + timedelta(days=every + 1))
    for grade, own, contacted, created in (
        await session.exec(
            select(
                Customer.grade, Customer.contact_every_days, Customer.last_contact_at, Customer.created_at
            ).where(*base, col(Customer.contact_every_days).is_not(None))
        )
    ).all():
        every = analytics.contact_every(grade, own, rhythm)
        moment = _aware(contacted or created) + timedelta(days=every + 1)
        if moment > now:
            moments.append(moment)
    return min(moments, default=None)


async def days_change(session: AsyncSession, *, listing: Listing, now: datetime) -> datetime | None:
    """When the "days without contact" beside a customer of a `quiet_a` page next changes."""
    ids = [item.customer_id for item in listing.items if item.customer_id is not None]
    if not ids:
        return None
    last = func.coalesce(col(Customer.last_contact_at), col(Customer.created_at))
    moments = []
    for (seen,) in (
        await session.exec(sql_select(last).where(col(Customer.id).in_(ids)))  # type: ignore[call-overload]
    ).all():
        seen = _aware(seen)
        moments.append(seen + timedelta(days=(now - seen).days + 1))
    return min(moments, default=None)
