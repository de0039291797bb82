"""The digest's figures: who did what in a period, the pipeline, objections and closings, care.

Every figure is one query over an index (or a handful of small ones), so a digest of
a team with 100,000 customers and a million notes stays well under a second.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, literal
from sqlalchemy import select as sql_select  # more columns than sqlmodel's select types
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.scheduling.outbox import IN_DOUBT
from bot.services import outcome_stats
from bot.services.digest.model import (
    CONTACT_KINDS,
    INTERNAL_OCCASIONS,
    NOTE_KINDS,
    PAGE,
    STAGES,
    Item,
    Listing,
    Objection,
    Period,
    RepActivity,
)
from bot.storage.models import Customer, Membership, Note, OutboxMessage, PlaybookRun, Purchase, User


async def members(session: AsyncSession, team_id: int) -> list[tuple[int, str, str]]:
    """The team's active members: (user id, name, role), leads first."""
    rows = (
        await session.exec(
            select(User.telegram_id, User.name, Membership.role)
            .join(Membership, col(Membership.user_id) == col(User.telegram_id))
            .where(col(Membership.team_id) == team_id, col(Membership.active))
            .order_by(col(Membership.role), col(User.name))
        )
    ).all()
    return [(int(user_id), str(name), str(role)) for user_id, name, role in rows]


async def activity(session: AsyncSession, *, team_id: int, period: Period) -> list[RepActivity]:
    """Each member's activity in the period, the busiest first (members who left, if active)."""
    reps = {
        user_id: RepActivity(user_id, name, role) for user_id, name, role in await members(session, team_id)
    }

    def rep(user_id: int | None) -> RepActivity | None:
        return reps.get(user_id) if user_id is not None else None

    start, end = period.start, period.end
    for author, kind, count in (
        await session.exec(
            select(Note.author_id, Note.kind, func.count())
            .where(col(Note.team_id) == team_id, col(Note.created_at) >= start, col(Note.created_at) < end)
            .group_by(col(Note.author_id), col(Note.kind))
        )
    ).all():
        found = rep(author)
        if found is None:
            continue
        if kind in NOTE_KINDS:
            found.notes += int(count)
        if kind in CONTACT_KINDS:
            found.contacts += int(count)
    for author, meta in (
        await session.exec(
            select(Note.author_id, Note.meta).where(
                col(Note.team_id) == team_id,
                col(Note.created_at) >= start,
                col(Note.created_at) < end,
                col(Note.kind) == "system",
            )
        )
    ).all():
        found = rep(author)
        if found is not None and isinstance(meta, dict) and meta.get("event") == "stage":
            found.stage_moves += 1
    for user_id, count in (
        await session.exec(
            select(PlaybookRun.user_id, func.count())
            .where(
                col(PlaybookRun.team_id) == team_id,
                col(PlaybookRun.status) == "done",
                col(PlaybookRun.ended_at) >= start,
                col(PlaybookRun.ended_at) < end,
            )
            .group_by(col(PlaybookRun.user_id))
        )
    ).all():
        if (found := rep(user_id)) is not None:
            found.playbooks += int(count)
    for owner, count in (
        await session.exec(
            select(Customer.owner_id, func.count())
            .where(
                col(Customer.team_id) == team_id,
                col(Customer.created_at) >= start,
                col(Customer.created_at) < end,
            )
            .group_by(col(Customer.owner_id))
        )
    ).all():
        if (found := rep(owner)) is not None:
            found.new_customers += int(count)
    seller = func.coalesce(col(Purchase.created_by), col(Customer.owner_id))
    for user_id, count, amount in (
        await session.exec(
            select(seller, func.count(), func.sum(Purchase.amount))
            .join(Customer, col(Customer.id) == col(Purchase.customer_id))
            .where(
                col(Purchase.team_id) == team_id,
                col(Purchase.purchased_on) >= period.first,
                col(Purchase.purchased_on) <= period.last,
            )
            .group_by(seller)
        )
    ).all():
        if (found := rep(user_id)) is not None:
            found.wins += int(count)
            found.amount += Decimal(amount or 0)
    return sorted(
        reps.values(),
        key=lambda r: (-(r.notes + r.playbooks + r.new_customers + r.stage_moves + r.wins), r.name),
    )


async def rep_day(
    session: AsyncSession, *, team_id: int, user_id: int, period: Period, offset: int = 0, limit: int = PAGE
) -> Listing:
    """What one member wrote in the period, newest first: the drill-down of a rep's day."""
    where = (
        col(Note.team_id) == team_id,
        col(Note.author_id) == user_id,
        col(Note.created_at) >= period.start,
        col(Note.created_at) < period.end,
    )
    total = (await session.exec(select(func.count()).select_from(Note).where(*where))).one()
    rows = (
        await session.exec(
            select(Note, Customer.name)
            .join(Customer, col(Customer.id) == col(Note.customer_id))
            .where(*where)
            .order_by(col(Note.created_at).desc(), col(Note.id).desc())
            .offset(offset)
            .limit(limit)
        )
    ).all()
    tz = ZoneInfo(period.tz)
    items = [
        Item(
            note.customer_id,
            name,
            "",
            {
                "at": note.created_at.astimezone(tz).strftime("%m-%d %H:%M"),
                "kind": note.kind,
                "text": note.text,
                "meta": note.meta,
                "file": note.file_kind,
            },
        )
        for note, name in rows
    ]
    return Listing(items, int(total))


async def daily_activity(
    session: AsyncSession, *, team_id: int, period: Period, owner_id: int | None = None
) -> list[tuple[date, int, int]]:
    """Notes written and purchases made per local day of the period (for the chart).

    With `owner_id`, one rep's: the notes they wrote and their customers' purchases.
    """
    days = [period.first + timedelta(days=n) for n in range(period.days)]
    # Each local day's first moment in UTC, so the database sorts notes into days
    # exactly, clock changes included, without knowing about timezones.
    bounds = [Period(day, day, period.tz).start for day in days[1:]]
    bucket: Any = (
        case(
            *((col(Note.created_at) < bound, index) for index, bound in enumerate(bounds)), else_=len(bounds)
        )
        if bounds
        else literal(0)  # one day: SQL has no CASE without a WHEN
    )
    notes_query = select(bucket, func.count()).where(
        col(Note.team_id) == team_id,
        col(Note.created_at) >= period.start,
        col(Note.created_at) < period.end,
        col(Note.kind).in_(NOTE_KINDS),
    )
    if owner_id is not None:
        notes_query = notes_query.where(col(Note.author_id) == owner_id)
    notes = dict((await session.exec(notes_query.group_by(bucket))).all())
    wins_query = select(col(Purchase.purchased_on), func.count()).where(
        col(Purchase.team_id) == team_id,
        col(Purchase.purchased_on) >= period.first,
        col(Purchase.purchased_on) <= period.last,
    )
    if owner_id is not None:
        wins_query = wins_query.join(Customer, col(Customer.id) == col(Purchase.customer_id)).where(
            col(Customer.owner_id) == owner_id
        )
    wins: dict[date, int] = dict((await session.exec(wins_query.group_by(col(Purchase.purchased_on)))).all())
    return [(day, int(notes.get(index, 0)), int(wins.get(day, 0))) for index, day in enumerate(days)]


async def pipeline(
    session: AsyncSession, *, team_id: int, period: Period
) -> tuple[dict[str, int], dict[str, int]]:
    """Customers per stage now, and how many moved into each stage in the period."""
    counts = dict(
        (
            await session.exec(
                select(Customer.stage, func.count())
                .where(col(Customer.team_id) == team_id, col(Customer.archived_at).is_(None))
                .group_by(col(Customer.stage))
            )
        ).all()
    )
    moved: Counter[str] = Counter()
    for (meta,) in (
        await session.exec(  # type: ignore[call-overload]  # one column as rows
            sql_select(col(Note.meta)).where(
                col(Note.team_id) == team_id,
                col(Note.created_at) >= period.start,
                col(Note.created_at) < period.end,
                col(Note.kind) == "system",
            )
        )
    ).all():
        if isinstance(meta, dict) and meta.get("event") == "stage":
            moved[str(meta.get("new"))] += 1
    return {stage: int(counts.get(stage, 0)) for stage in STAGES}, {
        stage: moved[stage] for stage in STAGES if moved[stage]
    }


def best_methods(rows: list[outcome_stats.StatRow], kind: str) -> dict[str, outcome_stats.StatRow]:
    """The method that won most against each type, with its own wins and tries.

    One definition for the digest and /stats: `stats` counts wins and tries per method
    and type and ranks them (most wins, then the best rate, then the name); the best is
    the first of a type's rows as /stats lists them.
    """
    out: dict[str, outcome_stats.StatRow] = {}
    for row in rows:
        if row.kind == kind and row.type not in out:
            out[row.type] = row
    return out


def objections(stats: outcome_stats.Stats) -> list[Objection]:
    """Each objection type of the period with its tries, wins and best method, the most tried first."""
    by_type: dict[str, list[outcome_stats.StatRow]] = defaultdict(list)
    for row in stats.team:
        if row.kind == "objection":
            by_type[row.type].append(row)
    best = best_methods(stats.team, "objection")
    out = []
    for type_, rows in by_type.items():
        top = best[type_]
        out.append(
            Objection(
                type_,
                sum(r.tries for r in rows),
                sum(r.wins for r in rows),
                top.method if top.wins else None,
                top.wins,
                top.tries,
            )
        )
    return sorted(out, key=lambda o: (-o.tries, o.type))


def closings(stats: outcome_stats.Stats) -> tuple[int, int]:
    """Closing attempts of the period: (won, tries)."""
    results = stats.results.get("closing", {})
    return results.get("won", 0), sum(results.values())


async def care_counts(session: AsyncSession, *, team_id: int, period: Period) -> dict[str, int]:
    """Care messages that reached an end in the period by status, and those awaiting review now."""
    rows = (
        await session.exec(
            select(OutboxMessage.status, func.count())
            .where(
                col(OutboxMessage.team_id) == team_id,
                col(OutboxMessage.occasion).not_in(INTERNAL_OCCASIONS),
                col(OutboxMessage.status).in_(("sent", "handed", "failed", "skipped")),
                col(OutboxMessage.updated_at) >= period.start,
                col(OutboxMessage.updated_at) < period.end,
            )
            .group_by(col(OutboxMessage.status))
        )
    ).all()
    out = {"sent": 0, "handed": 0, "failed": 0, "skipped": 0}
    out.update({str(status): int(count) for status, count in rows})
    out["review"] = int(
        (
            await session.exec(
                select(func.count())
                .select_from(OutboxMessage)
                .where(col(OutboxMessage.team_id) == team_id, col(OutboxMessage.status) == "review")
            )
        ).one()
    )
    return out


async def care_in_doubt(session: AsyncSession, *, team_id: int, period: Period) -> int:
    """Of the period's failed care messages, those that may have arrived all the same.

    Telegram did not confirm them (or the sender stopped mid-send), so they were not sent
    again: a customer never gets the same greeting twice.
    """
    return int(
        (
            await session.exec(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    col(OutboxMessage.team_id) == team_id,
                    col(OutboxMessage.status) == "failed",
                    col(OutboxMessage.updated_at) >= period.start,
                    col(OutboxMessage.updated_at) < period.end,
                    col(OutboxMessage.occasion).not_in(INTERNAL_OCCASIONS),
                    col(OutboxMessage.reason).in_(IN_DOUBT),
                )
            )
        ).one()
    )
