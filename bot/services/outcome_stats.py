"""What wins: outcome records counted per method, for /stats, the digest and ranked choices.

A playbook's outcome record steps write `Outcome` rows (an objection met and the
method used, a closing tried, ...). Here they are counted: (wins, tries) per method
for a choice ranked by the team's wins (`method_wins`), and the statistics a lead
reads (`stats`). `team_stats` and `teams_to_pick` are the /stats use cases, each in
its own transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func
from sqlalchemy import select as sql_select  # more columns than sqlmodel's select types
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.access import Actor, Role
from bot.domain.errors import NotAllowed
from bot.playbooks import engine
from bot.services import team as team_service
from bot.storage.db import Transact
from bot.storage.models import Outcome, Team, User


def _wins() -> Any:
    """Count the winning results (won, resolved)."""
    return func.sum(case((col(Outcome.result).in_(sorted(engine.WINNING)), 1), else_=0))


async def method_wins(
    session: AsyncSession, *, team_id: int, kind: str, type_: str | None
) -> dict[str, tuple[int, int]]:
    """(wins, tries) per method in a team, for records of a kind (and type, if given)."""
    query = (
        select(Outcome.method, _wins(), func.count())
        .where(col(Outcome.team_id) == team_id, col(Outcome.kind) == kind, col(Outcome.method).is_not(None))
        .group_by(col(Outcome.method))
    )
    if type_ is not None:
        query = query.where(col(Outcome.type) == type_)
    rows = (await session.exec(query)).all()
    return {str(method): (int(wins or 0), int(tries)) for method, wins, tries in rows}


@dataclass(frozen=True)
class StatRow:
    """Wins and tries of one method against one type (objection type; '' for closings)."""

    kind: str
    type: str
    method: str
    wins: int
    tries: int


@dataclass(frozen=True)
class Stats:
    """Which method wins against which objection (and which closings work), team and per rep."""

    team: list[StatRow]
    reps: dict[str, list[StatRow]]  # rep name → rows
    results: dict[str, dict[str, int]]  # kind → result → count


async def stats(
    session: AsyncSession,
    actor: Actor,
    *,
    team_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Stats:
    """The statistics a lead sees for their team; a rep sees only their own records."""
    if not (actor.is_admin or actor.team_id == team_id):
        raise NotAllowed()
    base = [col(Outcome.team_id) == team_id, col(Outcome.kind).in_(("objection", "closing"))]
    if actor.role is Role.REP:
        base.append(col(Outcome.user_id) == actor.user_id)
    if since is not None:
        base.append(col(Outcome.created_at) >= since)
    if until is not None:
        base.append(col(Outcome.created_at) < until)
    rows = (
        await session.exec(  # type: ignore[call-overload]  # sqlmodel types at most 4 columns
            sql_select(
                col(Outcome.kind),
                col(Outcome.type),
                col(Outcome.method),
                col(Outcome.user_id),
                _wins(),
                func.count(),
            )
            .where(*base, col(Outcome.method).is_not(None))
            .group_by(col(Outcome.kind), col(Outcome.type), col(Outcome.method), col(Outcome.user_id))
        )
    ).all()
    names = dict(
        (
            await session.exec(
                select(User.telegram_id, User.name).where(
                    col(User.telegram_id).in_(sorted({row[3] for row in rows}))
                )
            )
        ).all()
    )
    team: dict[tuple[str, str, str], list[int]] = {}
    reps: dict[str, dict[tuple[str, str, str], list[int]]] = {}
    for kind, type_, method, user_id, wins, tries in rows:
        key = (str(kind), str(type_ or ""), str(method))
        for bucket in (team, reps.setdefault(names.get(user_id, str(user_id)), {})):
            counts = bucket.setdefault(key, [0, 0])
            counts[0] += int(wins or 0)
            counts[1] += int(tries)
    results_rows = (
        await session.exec(
            select(Outcome.kind, Outcome.result, func.count())
            .where(*base)
            .group_by(col(Outcome.kind), col(Outcome.result))
        )
    ).all()
    results: dict[str, dict[str, int]] = {}
    for kind, result, count in results_rows:
        results.setdefault(str(kind), {})[str(result or "")] = int(count)
    return Stats(_rows(team), {name: _rows(bucket) for name, bucket in sorted(reps.items())}, results)


async def rep_results(
    session: AsyncSession, *, team_id: int, until: datetime | None = None
) -> dict[int, list[StatRow]]:
    """Each rep's own rows of the /stats figures (objections and closings), by user id.

    Counted as `stats` counts them (a win is a won or resolved result), for the practice
    summary to set beside each rep's weak techniques; `until` leaves out later records.
    """
    where = [
        col(Outcome.team_id) == team_id,
        col(Outcome.kind).in_(("objection", "closing")),
        col(Outcome.method).is_not(None),
    ]
    if until is not None:
        where.append(col(Outcome.created_at) < until)
    rows = (
        await session.exec(  # type: ignore[call-overload]  # sqlmodel types at most 4 columns
            sql_select(
                col(Outcome.user_id),
                col(Outcome.kind),
                col(Outcome.type),
                col(Outcome.method),
                _wins(),
                func.count(),
            )
            .where(*where)
            .group_by(col(Outcome.user_id), col(Outcome.kind), col(Outcome.type), col(Outcome.method))
        )
    ).all()
    buckets: dict[int, dict[tuple[str, str, str], list[int]]] = {}
    for user_id, kind, type_, method, wins, tries in rows:
        buckets.setdefault(int(user_id), {})[(str(kind), str(type_ or ""), str(method))] = [
            int(wins or 0),
            int(tries),
        ]
    return {user_id: _rows(bucket) for user_id, bucket in buckets.items()}


def _rows(bucket: dict[tuple[str, str, str], list[int]]) -> list[StatRow]:
    rows = [StatRow(*key, wins, tries) for key, (wins, tries) in bucket.items()]
    return sorted(rows, key=lambda r: (r.kind, r.type, -r.wins, -(r.wins / r.tries), r.method))


# ---------------------------------------------------------------- the /stats use cases


async def team_stats(db: Transact, actor: Actor, team_id: int) -> Stats:
    """A team's statistics as the actor may read them (a rep: their own records)."""
    return await db(lambda session: stats(session, actor, team_id=team_id))


async def teams_to_pick(db: Transact, actor: Actor) -> list[Team]:
    """The teams an admin outside any team picks from for /stats."""
    return await db(lambda session: team_service.teams(session, actor))
