"""Playbook runs in the database, and what a finished run writes to the card.

A run is saved at every step (its `state` is the engine's `RunState`). Finishing a
run applies the engine's actions through the customer services, adds the summary
note and ends the run, all in one transaction. A playbook is advice, so what it
writes yields to the rep: fields are added to, never overwritten; its grade is a
suggestion; a lost deal leaves a customer who has bought a customer.

The use cases over these (start, advance, pause, stop, the ▶️ Play menu) are in
`playbook_runs`; what wins (method wins, /stats) is counted in `outcome_stats`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.access import Actor
from bot.domain.card import Stage
from bot.domain.errors import Stale
from bot.playbooks import engine
from bot.playbooks.engine import (
    Action,
    FieldChange,
    GradeChange,
    OutcomeRecord,
    PurchaseMade,
    Reminder,
    RunState,
    StageChange,
)
from bot.services import agenda as agenda_service
from bot.services import customers as customer_service
from bot.services import practice as practice_service
from bot.storage.models import Customer, Outcome, PlaybookRun, Task

ACTIVE, DONE, ABANDONED = "active", "done", "abandoned"
# A run nobody touched for this long is closed (its answers stay in the table).
STALE_AFTER = timedelta(days=14)
ACTIVE_LIST_MAX = 20


async def active_run(session: AsyncSession, actor: Actor, customer_id: int) -> PlaybookRun | None:
    """The actor's run in progress about this customer, if any."""
    return (
        await session.exec(
            select(PlaybookRun).where(
                col(PlaybookRun.user_id) == actor.user_id,
                col(PlaybookRun.customer_id) == customer_id,
                col(PlaybookRun.status) == ACTIVE,
            )
        )
    ).first()


async def active_runs(session: AsyncSession, actor: Actor) -> list[tuple[PlaybookRun, str]]:
    """The actor's runs in progress, most recent first, with the customer's name."""
    rows = (
        await session.exec(
            select(PlaybookRun, Customer.name)
            .join(Customer, col(Customer.id) == col(PlaybookRun.customer_id))
            .where(col(PlaybookRun.user_id) == actor.user_id, col(PlaybookRun.status) == ACTIVE)
            .order_by(col(PlaybookRun.updated_at).desc())
            .limit(ACTIVE_LIST_MAX)
        )
    ).all()
    return [(run, name) for run, name in rows]


async def start_run(
    session: AsyncSession, actor: Actor, customer_id: int, *, playbook: str, state: RunState, now: datetime
) -> PlaybookRun:
    """Begin a run (the actor's earlier run about this customer, if any, is abandoned)."""
    customer = await customer_service.get_customer(session, actor, customer_id, edit=True)
    await session.exec(
        update(PlaybookRun)
        .where(
            col(PlaybookRun.user_id) == actor.user_id,
            col(PlaybookRun.customer_id) == customer_id,
            col(PlaybookRun.status) == ACTIVE,
        )
        .values(status=ABANDONED, ended_at=now, updated_at=now)
    )
    run = PlaybookRun(
        team_id=customer.team_id,
        customer_id=customer_id,
        user_id=actor.user_id,
        playbook=playbook,
        step=state.step,
        state=state.to_json(),
        started_at=now,
        updated_at=now,
    )
    session.add(run)
    await session.flush()
    return run


async def load_run(session: AsyncSession, actor: Actor, run_id: int, *, customer_id: int) -> PlaybookRun:
    """The actor's active run; anything else (another's, ended, another customer's) is stale."""
    run = await session.get(PlaybookRun, run_id)
    if run is None or run.user_id != actor.user_id or run.status != ACTIVE or run.customer_id != customer_id:
        raise Stale()
    # The customer may have been handed to someone else since the run began.
    await customer_service.get_customer(session, actor, customer_id, edit=True)
    return run


def save_state(session: AsyncSession, run: PlaybookRun, state: RunState, *, now: datetime) -> None:
    """Keep the run's new position (the caller's transaction commits it)."""
    run.state = state.to_json()
    run.step = state.step
    run.seq = (run.seq + 1) % engine.SEQ_MODULO
    run.updated_at = now
    session.add(run)


async def abandon_run(session: AsyncSession, run: PlaybookRun, *, now: datetime) -> None:
    """End a run without touching the card."""
    run.status, run.ended_at, run.updated_at = ABANDONED, now, now
    session.add(run)


@dataclass(frozen=True)
class Finished:
    """What finishing a run changed."""

    stage: str
    reminders: list[date]
    note_id: int


async def finish_run(
    session: AsyncSession,
    actor: Actor,
    run: PlaybookRun,
    *,
    state: RunState,
    actions: list[Action],
    outcome: str | None,
    summary: str,
    reminder_texts: Mapping[str, str],
    purchase_note: str,
    now: datetime,
) -> Finished:
    """Apply a finished run's actions to the card, add its summary note and end it."""
    cid = run.customer_id
    reminders: list[date] = []
    tasks: list[Task] = []
    complaint: Outcome | None = None  # a complaint left open: this run's reminders are about it
    for action in actions:
        if isinstance(action, FieldChange):
            await customer_service.write_field(
                session, actor, cid, key=action.key, raw=action.value, mode=action.mode, now=now
            )
        elif isinstance(action, StageChange):
            if action.stage == Stage.LOST and not action.customer_lost:
                await customer_service.lose_deal(session, actor, cid, now=now)
            else:
                await customer_service.set_stage(session, actor, cid, stage=action.stage, now=now)
        elif isinstance(action, GradeChange):
            await customer_service.suggest_grade(session, actor, cid, grade=action.grade, now=now)
        elif isinstance(action, Reminder):
            due = (
                action.due
                if action.typed
                else await agenda_service.working_day(session, run.team_id, action.due)
            )
            task = Task(
                team_id=run.team_id,
                owner_id=actor.user_id,
                customer_id=cid,
                due_on=due,
                text=reminder_texts.get(action.step, "")[:1000],
                source="playbook",
                created_at=now,
            )
            session.add(task)
            tasks.append(task)
            reminders.append(due)
        elif isinstance(action, OutcomeRecord):
            record = _outcome(run, actor, action, now)
            if record.kind == "complaint" and record.resolved_at is not None:
                # Resolving a complaint closes the customer's earlier open ones too.
                await session.exec(
                    update(Outcome)
                    .where(
                        col(Outcome.customer_id) == cid,
                        col(Outcome.kind) == "complaint",
                        col(Outcome.resolved_at).is_(None),
                    )
                    .values(resolved_at=now)
                )
            session.add(record)
            if record.kind in practice_service.FLOOR_KINDS:
                # A winning objection or closing becomes a drill for the team, once its lead approves.
                signals = state.answers.get("signals") if record.kind == "closing" else None
                await practice_service.propose_from_outcome(
                    session, record, signals=signals if isinstance(signals, list) else ()
                )
            if record.kind == "complaint" and record.resolved_at is None:
                complaint = record
        elif isinstance(action, PurchaseMade):
            await customer_service.add_purchase(
                session,
                actor,
                cid,
                amount=Decimal(action.amount),
                items=action.items,
                purchased_on=now.date(),
                now=now,
                note_text=purchase_note,
            )
    if complaint is not None and tasks:
        await session.flush()  # the complaint's id
        for task in tasks:
            task.outcome_id = complaint.id
    note = await customer_service.add_note(
        session,
        actor,
        cid,
        text=summary,
        now=now,
        kind="playbook",
        meta={"run": run.id, "playbook": run.playbook, "outcome": outcome},
    )
    run.state, run.step = state.to_json(), state.step
    run.status, run.outcome, run.ended_at, run.updated_at = DONE, outcome, now, now
    run.seq = (run.seq + 1) % engine.SEQ_MODULO
    session.add(run)
    customer = await customer_service.get_customer(session, actor, cid)
    assert note.id is not None
    return Finished(customer.stage, reminders, note.id)


def _outcome(run: PlaybookRun, actor: Actor, action: OutcomeRecord, now: datetime) -> Outcome:
    values = action.values
    amount = values.get("amount")
    due = values.get("due_on")
    score = values.get("score")
    return Outcome(
        team_id=run.team_id,
        customer_id=run.customer_id,
        user_id=actor.user_id,
        run_id=run.id,
        playbook=run.playbook,
        kind=action.kind,
        type=values.get("type"),
        method=values.get("method"),
        result=values.get("result"),
        words=(values.get("words") or None) and values["words"][:2000],
        reason=(values.get("reason") or None) and values["reason"][:1000],
        amount=Decimal(amount) if amount else None,
        score=int(score) if score else None,
        due_on=date.fromisoformat(due) if due else None,
        resolved_at=now if values.get("result") == "resolved" else None,
        created_at=now,
    )


async def tidy_runs(session: AsyncSession, *, now: datetime, older_than: timedelta = STALE_AFTER) -> int:
    """Close runs nobody has touched for a while; returns how many."""
    result = await session.exec(
        update(PlaybookRun)
        .where(col(PlaybookRun.status) == ACTIVE, col(PlaybookRun.updated_at) < now - older_than)
        .values(status=ABANDONED, ended_at=now)
    )
    return int(result.rowcount or 0)
