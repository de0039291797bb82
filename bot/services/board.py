"""A pipeline board: customers in a column per stage, for the Mini App (PRODUCT.md, The Mini App).

A rep's board holds their own customers; a lead's, their team's (or one rep's). Each card
carries what a rep decides on at a glance: the grade, the last contact, whether the
customer is behind the team's contact rhythm (and by how many days), and the next open
follow-up. Moving a card to another column is `customers.set_stage`, as in the bot.

Two queries, whatever the size: the customers (one index range), then their open
follow-ups (the owner's or the team's open ones). Filters by grade and "behind" are cheap
in SQL or Python alike; tags are a JSON list, so they are filtered here, where the
board's own tag list (for the filter menu) is gathered anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select as sql_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import analytics
from bot.domain.access import Actor, Role
from bot.domain.card import GRADES, Stage
from bot.domain.errors import InvalidInput, NotAllowed
from bot.storage.models import Customer, Membership, Task, Team

NO_GRADE = "none"  # the grade filter's value for customers not graded yet


@dataclass(frozen=True)
class Filters:
    """What a board shows: a grade (A, B, C or `NO_GRADE`), a tag, only the customers behind
    their contact rhythm, and (for a lead) one rep's customers."""

    grade: str | None = None
    tag: str | None = None
    behind: bool = False
    owner_id: int | None = None


@dataclass(frozen=True)
class Card:
    """One customer on the board."""

    id: int
    name: str
    company: str | None
    owner_id: int
    stage: str
    grade: str | None
    tags: tuple[str, ...]
    last_contact_at: datetime | None
    behind_days: int | None  # days since the last contact, when more than the rhythm allows
    next_due_on: date | None  # the earliest open follow-up about this customer
    next_text: str | None


@dataclass(frozen=True)
class Board:
    """Every stage in pipeline order with its cards (most behind, then longest unseen, first),
    the tags of the customers in view (for the filter), and how many cards are shown."""

    columns: list[tuple[str, list[Card]]]
    tags: list[str]
    total: int


_COLUMNS = (
    col(Customer.id),
    col(Customer.name),
    col(Customer.company),
    col(Customer.owner_id),
    col(Customer.stage),
    col(Customer.grade),
    col(Customer.tags),
    col(Customer.last_contact_at),
    col(Customer.created_at),
    col(Customer.contact_every_days),
)


async def board(session: AsyncSession, actor: Actor, filters: Filters, *, now: datetime) -> Board:
    """The actor's board: a rep's own customers, a lead's team's (or one rep's of it)."""
    team_id = actor.team_id
    if team_id is None or actor.role not in (Role.LEAD, Role.REP):
        raise NotAllowed()
    if filters.grade is not None and filters.grade not in (*GRADES, NO_GRADE):
        raise InvalidInput("error.unknown_choice")
    owner = actor.user_id if actor.role is Role.REP else filters.owner_id
    if actor.role is Role.REP and filters.owner_id not in (None, actor.user_id):
        raise NotAllowed()
    if owner is not None and actor.role is Role.LEAD and not await _member(session, team_id, owner):
        raise NotAllowed()
    team = await session.get(Team, team_id)
    rhythm = analytics.rhythm_of(team.settings if team else {})

    query = sql_select(*_COLUMNS).where(col(Customer.team_id) == team_id, col(Customer.archived_at).is_(None))
    if owner is not None:
        query = query.where(col(Customer.owner_id) == owner)
    if filters.grade == NO_GRADE:
        query = query.where(col(Customer.grade).is_(None))
    elif filters.grade is not None:
        query = query.where(col(Customer.grade) == filters.grade)
    rows = (await session.exec(query)).all()  # type: ignore[call-overload]

    seen_tags: set[str] = set()
    chosen = []
    for row in rows:
        tags = tuple(str(tag) for tag in (row.tags or []))
        seen_tags.update(tags)
        if filters.tag is not None and filters.tag not in tags:
            continue
        every = analytics.contact_every(row.grade, row.contact_every_days, rhythm)
        behind = analytics.rhythm_breach(
            last_contact=row.last_contact_at, created=row.created_at, every=every, stage=row.stage, now=now
        )
        if filters.behind and behind is None:
            continue
        chosen.append((row, tags, behind))

    follow_ups = await _next_follow_ups(session, team_id, owner, {row.id for row, _, _ in chosen})
    by_stage: dict[str, list[Card]] = {stage.value: [] for stage in Stage}
    for row, tags, behind in chosen:
        due = follow_ups.get(row.id)
        by_stage.setdefault(row.stage, []).append(
            Card(
                id=row.id,
                name=row.name,
                company=row.company,
                owner_id=row.owner_id,
                stage=row.stage,
                grade=row.grade,
                tags=tags,
                last_contact_at=row.last_contact_at,
                behind_days=behind,
                next_due_on=due[0] if due else None,
                next_text=due[1] if due else None,
            )
        )
    for cards in by_stage.values():
        cards.sort(key=_order)
    return Board(list(by_stage.items()), sorted(seen_tags), len(chosen))


def _order(card: Card) -> tuple[int, float, int]:
    """Most days behind first, then the longest since a contact (never contacted first)."""
    last = card.last_contact_at.timestamp() if card.last_contact_at else float("-inf")
    return (-(card.behind_days or 0), last, card.id)


async def _member(session: AsyncSession, team_id: int, user_id: int) -> bool:
    found = await session.exec(
        select(Membership.id).where(
            col(Membership.team_id) == team_id,
            col(Membership.user_id) == user_id,
            col(Membership.active).is_(True),
        )
    )
    return found.first() is not None


async def _next_follow_ups(
    session: AsyncSession, team_id: int, owner: int | None, customers: set[int]
) -> dict[int, tuple[date, str]]:
    """The earliest open follow-up (its day and text) of each of these customers."""
    if not customers:
        return {}
    query = select(col(Task.customer_id), col(Task.due_on), col(Task.text)).where(
        col(Task.team_id) == team_id, col(Task.done_at).is_(None), col(Task.customer_id).is_not(None)
    )
    if owner is not None:
        query = query.where(col(Task.owner_id) == owner)
    out: dict[int, tuple[date, str]] = {}
    for customer_id, due_on, text in (await session.exec(query)).all():
        if customer_id in customers and (customer_id not in out or due_on < out[customer_id][0]):
            out[customer_id] = (due_on, text)
    return out
