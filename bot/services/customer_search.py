"""Finding customers: by name, pinyin, company, phone digits or tag, by stage, grade or
time since the last contact, within what the actor may see; and a team's card by phone.

Searches run on a pooled connection without an ORM session (the hottest read of the
bot); each shape of statement is built once and takes its values as parameters.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, bindparam, func, or_
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import card
from bot.domain.access import Actor, Role
from bot.domain.errors import NotAllowed
from bot.domain.search import normalise
from bot.storage.models import Customer
from bot.storage.sql import Contains


@dataclass(frozen=True)
class Page:
    """One page of a list."""

    items: list[Any]
    total: int
    offset: int
    limit: int

    @property
    def has_prev(self) -> bool:
        """Whether there is a page before this one."""
        return self.offset > 0

    @property
    def has_next(self) -> bool:
        """Whether there is a page after this one."""
        return self.offset + self.limit < self.total


@dataclass(frozen=True)
class Filters:
    """Search filters: text, stage, grade, not contacted for N days."""

    query: str = ""
    stage: str | None = None
    grade: str | None = None
    idle_days: int | None = None


@functools.cache
def _search_conditions(scope: str, text: bool, stage: bool, grade: bool, idle: bool) -> tuple[Any, ...]:
    """The WHERE of a search of one shape, its values left as named parameters."""
    conditions: list[Any] = [col(Customer.archived_at).is_(None)]
    if scope != "all":
        conditions.append(col(Customer.team_id) == bindparam("team_id"))
    if scope == "own":
        conditions.append(col(Customer.owner_id) == bindparam("owner_id"))
    if text:
        conditions.append(Contains(col(Customer.search_text), bindparam("text", type_=String())))
    if stage:
        conditions.append(col(Customer.stage) == bindparam("stage"))
    if grade:
        conditions.append(col(Customer.grade) == bindparam("grade"))
    if idle:
        last = col(Customer.last_contact_at)
        conditions.append(or_(last.is_(None), last < bindparam("since")))
    return tuple(conditions)


@functools.cache
def _search_statement(scope: str, text: bool, stage: bool, grade: bool, idle: bool) -> Any:
    """A page of a search of one shape, built once (a search is the commonest update).

    The page's ids and the total come from the search indexes alone (a window count);
    only the page's rows are then read, in the same statement.
    """
    hits = (
        select(col(Customer.id).label("hit"), func.count().over().label("total"), col(Customer.updated_at))
        .where(*_search_conditions(scope, text, stage, grade, idle))
        .order_by(col(Customer.updated_at).desc(), col(Customer.id).desc())
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer))
        .subquery()
    )
    return (
        select(Customer, hits.c.total)
        .join(hits, col(Customer.id) == hits.c.hit)
        .order_by(hits.c.updated_at.desc(), col(Customer.id).desc())
    )


async def search(
    connection: AsyncConnection,
    actor: Actor,
    filters: Filters,
    *,
    offset: int = 0,
    limit: int = 8,
    now: datetime,
) -> Page:
    """Find customers the actor may see, by name, pinyin, company, phone, tag or note field."""
    params: dict[str, Any] = {"offset": offset, "limit": limit}
    if actor.is_admin and actor.team_id is None:
        scope = "all"
    elif actor.role is Role.LEAD or actor.is_admin:
        scope, params["team_id"] = "team", actor.team_id
    elif actor.role is Role.REP:
        scope, params["team_id"], params["owner_id"] = "own", actor.team_id, actor.user_id
    else:
        raise NotAllowed()
    query = normalise(filters.query)
    digits = card.phone_digits(query)
    if len(digits) >= 4 and len(digits) >= len(query) - 2:
        # A phone number however typed (+86 138-0013…): its digits are in the search text.
        query = digits
    if query:
        params["text"] = query
    if filters.stage:
        params["stage"] = filters.stage
    if filters.grade:
        params["grade"] = filters.grade
    if filters.idle_days is not None:
        params["since"] = now - timedelta(days=filters.idle_days)
    shape = (scope, bool(query), bool(filters.stage), bool(filters.grade), filters.idle_days is not None)
    # Read as plain rows, on a connection: a search is the commonest update, and an ORM
    # session and objects for its page cost more than the query itself (see CardData).
    rows = (await connection.execute(_search_statement(*shape), params)).all()
    if rows:
        return Page(list(rows), rows[0].total, offset, limit)
    total = 0
    if offset:
        counted = select(func.count()).select_from(Customer).where(*_search_conditions(*shape))
        total = (await connection.execute(counted, params)).scalar_one()
    return Page([], total, offset, limit)


async def find_by_phone(session: AsyncSession, *, team_id: int, digits: str) -> Customer | None:
    """An existing card in the team with this phone number (to warn about duplicates)."""
    if not digits:
        return None
    return (
        await session.exec(
            select(Customer).where(
                col(Customer.team_id) == team_id,
                col(Customer.phone_digits) == digits,
                col(Customer.archived_at).is_(None),
            )
        )
    ).first()
