"""The lead's dashboard in the Mini App: the digest's daily activity for a chosen period and rep,
and the customers behind each bar (PRODUCT.md, The Mini App).

A bar and its drill-down count the same rows: notes a rep wrote (the kinds the digest
counts) in the local day, and purchases made that day. With one rep chosen, notes are
theirs as author and purchases those of their customers. The stage bars' drill-down is
the board (`bot.services.board`) filtered to that rep.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func
from sqlalchemy import select as sql_select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.access import Actor, can_manage_team
from bot.domain.errors import InvalidInput, NotAllowed
from bot.services.digest import figures
from bot.services.digest.model import NOTE_KINDS, Period
from bot.storage.models import Customer, Membership, Note, Purchase, Team

MAX_DAYS = 92  # the longest period a dashboard shows (a quarter)


@dataclass(frozen=True)
class Day:
    """One bar of the activity chart: notes written and purchases made in a local day."""

    day: date
    notes: int
    purchases: int


@dataclass(frozen=True)
class Behind:
    """A customer behind a bar: their notes and purchases that day."""

    customer_id: int
    name: str
    owner_id: int
    notes: int
    purchases: int


async def _checked_team(session: AsyncSession, actor: Actor, owner_id: int | None) -> Team:
    """The actor's team, if they lead it; and the chosen rep, if any, must be its member."""
    team_id = actor.team_id
    if team_id is None or not can_manage_team(actor, team_id):
        raise NotAllowed()
    team = await session.get(Team, team_id)
    if team is None:
        raise NotAllowed()
    if owner_id is not None:
        member = (
            await session.exec(
                sql_select(col(Membership.id)).where(  # type: ignore[call-overload]
                    col(Membership.team_id) == team_id, col(Membership.user_id) == owner_id
                )
            )
        ).first()
        if member is None:
            raise NotAllowed()
    return team


def _period(team: Team, first: date, last: date) -> Period:
    if last < first or (last - first).days + 1 > MAX_DAYS:
        raise InvalidInput("error.invalid")
    return Period(first, last, team.timezone)


async def activity(
    session: AsyncSession, actor: Actor, *, first: date, last: date, owner_id: int | None = None
) -> list[Day]:
    """Notes and purchases per local day from `first` to `last`, the team's or one rep's."""
    team = await _checked_team(session, actor, owner_id)
    assert team.id is not None
    period = _period(team, first, last)
    rows = await figures.daily_activity(session, team_id=team.id, period=period, owner_id=owner_id)
    return [Day(day, notes, purchases) for day, notes, purchases in rows]


async def behind_day(
    session: AsyncSession, actor: Actor, *, day: date, owner_id: int | None = None
) -> list[Behind]:
    """The customers behind one day's bar, most active first."""
    team = await _checked_team(session, actor, owner_id)
    period = _period(team, day, day)
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    notes_query = sql_select(col(Note.customer_id), func.count()).where(
        col(Note.team_id) == team.id,
        col(Note.created_at) >= period.start,
        col(Note.created_at) < period.end,
        col(Note.kind).in_(NOTE_KINDS),
    )
    if owner_id is not None:
        notes_query = notes_query.where(col(Note.author_id) == owner_id)
    for customer_id, count in (await session.exec(notes_query.group_by(col(Note.customer_id)))).all():  # type: ignore[call-overload]
        counts[int(customer_id)][0] += int(count)
    purchases_query = sql_select(col(Purchase.customer_id), func.count()).where(
        col(Purchase.team_id) == team.id, col(Purchase.purchased_on) == day
    )
    if owner_id is not None:
        purchases_query = purchases_query.join(Customer, col(Customer.id) == col(Purchase.customer_id)).where(
            col(Customer.owner_id) == owner_id
        )
    for customer_id, count in (
        await session.exec(purchases_query.group_by(col(Purchase.customer_id)))  # type: ignore[call-overload]
    ).all():
        counts[int(customer_id)][1] += int(count)
    if not counts:
        return []
    names = {
        int(row.id): (str(row.name), int(row.owner_id))
        for row in (
            await session.exec(
                sql_select(col(Customer.id), col(Customer.name), col(Customer.owner_id)).where(  # type: ignore[call-overload]
                    col(Customer.team_id) == team.id, col(Customer.id).in_(list(counts))
                )
            )
        ).all()
    }
    found = [
        Behind(customer_id, *names[customer_id], notes, purchases)
        for customer_id, (notes, purchases) in counts.items()
        if customer_id in names
    ]
    return sorted(found, key=lambda b: (-(b.notes + b.purchases), b.name, b.customer_id))


@dataclass(frozen=True)
class RepRow:
    """A rep's line in the dashboard's table: notes they wrote and their customers' purchases."""

    user_id: int
    name: str
    notes: int
    purchases: int


async def per_rep(session: AsyncSession, actor: Actor, *, first: date, last: date) -> list[RepRow]:
    """Each active rep of the team with their notes and purchases in the period, most active first."""
    team = await _checked_team(session, actor, None)
    assert team.id is not None
    period = _period(team, first, last)
    reps = [(uid, name) for uid, name, role in await figures.members(session, team.id) if role == "rep"]
    notes = dict(
        (
            await session.exec(
                sql_select(col(Note.author_id), func.count())  # type: ignore[call-overload]
                .where(
                    col(Note.team_id) == team.id,
                    col(Note.created_at) >= period.start,
                    col(Note.created_at) < period.end,
                    col(Note.kind).in_(NOTE_KINDS),
                )
                .group_by(col(Note.author_id))
            )
        ).all()
    )
    purchases = dict(
        (
            await session.exec(
                sql_select(col(Customer.owner_id), func.count())  # type: ignore[call-overload]
                .select_from(Purchase)
                .join(Customer, col(Customer.id) == col(Purchase.customer_id))
                .where(
                    col(Purchase.team_id) == team.id,
                    col(Purchase.purchased_on) >= period.first,
                    col(Purchase.purchased_on) <= period.last,
                )
                .group_by(col(Customer.owner_id))
            )
        ).all()
    )
    rows = [RepRow(uid, name, int(notes.get(uid, 0)), int(purchases.get(uid, 0))) for uid, name in reps]
    return sorted(rows, key=lambda r: (-(r.notes + r.purchases), r.name))
