"""Closing a complaint: from the ✅ on its reminder, or the "resolved" button of the digest's list.

Both go through `resolve`, so the access rules, the timeline note and the reminders
it closes are the same whichever button was tapped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.access import Actor
from bot.domain.errors import NotFound, Stale
from bot.services import customers as customer_service
from bot.storage.models import Note, Outcome, Task

RESOLVED = "resolved"


@dataclass(frozen=True)
class Resolved:
    """A complaint just closed, and whose it was."""

    outcome_id: int
    customer_id: int
    name: str


async def resolve(session: AsyncSession, actor: Actor, outcome_id: int, *, now: datetime) -> Resolved:
    """Mark a complaint resolved: a rep their own customer's, a lead their team's.

    Its open reminders are ticked off with it and the card's timeline says so. A complaint
    already resolved (a double tap, a button left from before) is `Stale` with its own
    message; nothing changes twice.
    """
    outcome = await session.get(Outcome, outcome_id)
    if outcome is None or outcome.kind != "complaint":
        raise NotFound()
    customer = await customer_service.get_customer(session, actor, outcome.customer_id, edit=True)
    # One conditional statement, so two taps at once close it once: the second finds it closed.
    closed = await session.exec(
        update(Outcome)
        .where(col(Outcome.id) == outcome_id, col(Outcome.resolved_at).is_(None))
        .values(resolved_at=now, result=RESOLVED)
        .execution_options(synchronize_session=False)
    )
    if outcome.resolved_at is not None or not closed.rowcount:
        raise Stale("complaint.already_resolved", name=customer.name)
    await session.exec(
        update(Task)
        .where(col(Task.outcome_id) == outcome_id, col(Task.done_at).is_(None))
        .values(done_at=now)
    )
    session.add(
        Note(
            customer_id=outcome.customer_id,
            team_id=outcome.team_id,
            author_id=actor.user_id,
            kind="system",
            meta={
                "event": "complaint_resolved",
                "outcome": outcome_id,
                "since": outcome.created_at.date().isoformat(),
            },
            created_at=now,
        )
    )
    return Resolved(outcome_id, outcome.customer_id, customer.name)
