"""Running a playbook, one use case per function: the ▶️ Play menu, start, advance (a
button or typed text), pause, stop, and the runs in progress.

Each function owns its transaction (through the wiring's `db`) and returns what the
Telegram layer renders. An input goes through the pure engine (`bot.playbooks.engine`)
in the same transaction that saves the run and the rep's form state, so a restart, a
call or a dead battery never loses a step. While a run waits for a typed answer, the
rep's form state (flow `play`) points at it, so the next text message is its answer.
The wording a finished run writes (its summary note, reminders, purchase note) comes
from the catalogues and the playbook files, through the `Wording` the caller passes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.access import Actor
from bot.domain.errors import InvalidInput, Stale
from bot.domain.playbook_fit import suggest
from bot.playbooks import engine
from bot.playbooks.engine import Given, RunState
from bot.playbooks.model import Choice, End, Playbook
from bot.runtime import Runtime
from bot.services import customers as customer_service
from bot.services import flows as flow_store
from bot.services import outcome_stats
from bot.services import playbooks as svc
from bot.storage.models import Customer, FlowState, PlaybookRun

PLAY_FLOW = "play"
T = TypeVar("T")


@dataclass(frozen=True)
class FinishTexts:
    """The wording a finished run writes, in the rep's language."""

    summary: str  # the card's note
    reminders: Mapping[str, str]  # a reminder step's id → its task's text
    purchase_note: str  # the note beside a purchase the run records


# Renders a finished run's wording: (playbook, the run's final state, the customer's name).
Wording = Callable[[Playbook, RunState, str], FinishTexts]


@dataclass(frozen=True)
class Move:
    """What the rep did at a step, with what reading and finishing it need."""

    given: Given
    lang: str  # the language the rep reads labels in (a typed option is matched against it)
    wording: Wording


@dataclass
class Played:
    """A run after an input: at a step (with why the input did not fit, if it did not),
    finished, or abandoned because its playbook was removed or rewritten (`playbook` None)."""

    run: PlaybookRun
    customer: str
    state: RunState
    playbook: Playbook | None
    wins: dict[str, tuple[int, int]] = field(default_factory=dict)  # of a ranked choice shown
    error: InvalidInput | None = None
    notice: str | None = None  # a catalogue key to show above the step
    finished: svc.Finished | None = None
    flow: FlowState | None = None  # the rep's form state now (None: no run waits for text)


@dataclass(frozen=True)
class Menu:
    """The ▶️ Play menu of a customer: the run to continue, and the playbooks, fitting first."""

    customer_id: int
    name: str
    stage: str
    running: Playbook | None  # the playbook of the rep's run in progress about them
    run_id: int | None
    fitting: list[Playbook]
    others: list[Playbook]


@dataclass(frozen=True)
class Running:
    """A run in progress, as /play lists it."""

    run: PlaybookRun
    customer: str
    playbook: Playbook


async def menu(app: Runtime, actor: Actor, customer_id: int) -> Menu:
    """The playbooks for a customer, those that fit their stage first, and the run to continue."""

    async def load(session: AsyncSession) -> tuple[Customer, PlaybookRun | None]:
        customer = await customer_service.get_customer(session, actor, customer_id, edit=True)
        return customer, await svc.active_run(session, actor, customer_id)

    customer, run = await app.db(load)
    running = app.playbooks.get(run.playbook) if run is not None else None
    found = suggest(app.playbooks.values(), customer.stage)
    run_id = run.id if run is not None and running is not None else None
    return Menu(customer_id, customer.name, customer.stage, running, run_id, found.fitting, found.others)


async def start(app: Runtime, actor: Actor, customer_id: int, playbook_id: str) -> Played:
    """Start a playbook on a customer (an earlier run of the actor's about them is set aside)."""
    playbook = app.playbooks.get(playbook_id)
    if playbook is None:
        raise Stale()
    state, now, today = engine.begin(playbook), app.now(), app.today()

    async def work(session: AsyncSession) -> Played:
        run = await svc.start_run(session, actor, customer_id, playbook=playbook.id, state=state, now=now)
        assert run.id is not None
        return await _play(session, app, actor, customer_id, run.id, None, None, now=now, today=today)

    return await app.db(work)


async def advance(
    app: Runtime,
    actor: Actor,
    *,
    customer_id: int,
    run_id: int,
    move: Move | None,
    seq: int | None = None,
) -> Played:
    """Load a run, apply an input (or none: show it again) and save it, in one transaction.

    `seq` is the run's change counter the pressed button carries: another means the
    button is older than the run (Stale). A run whose playbook changed is abandoned.
    """
    now, today = app.now(), app.today()
    return await app.db(
        lambda session: _play(session, app, actor, customer_id, run_id, move, seq, now=now, today=today)
    )


async def pause(app: Runtime, actor: Actor, *, customer_id: int, run_id: int, seq: int) -> None:
    """Leave a run where it is (typed text is no longer taken as its answer)."""

    async def work(session: AsyncSession) -> None:
        await _current(session, actor, customer_id, run_id, seq)
        await flow_store.clear_flow(session, actor.user_id)

    await app.db(work)


async def stop(
    app: Runtime, actor: Actor, *, customer_id: int, run_id: int, seq: int, confirmed: bool
) -> None:
    """Stop a run without writing to the card; unconfirmed, only check it is still current."""
    now = app.now()

    async def work(session: AsyncSession) -> None:
        run = await _current(session, actor, customer_id, run_id, seq)
        if confirmed:
            await svc.abandon_run(session, run, now=now)
            await flow_store.clear_flow(session, actor.user_id)

    await app.db(work)


async def forget(app: Runtime, actor: Actor) -> None:
    """Drop the actor's form state (the run it pointed at has ended elsewhere)."""
    await app.db(lambda session: flow_store.clear_flow(session, actor.user_id))


async def in_progress(app: Runtime, actor: Actor) -> list[Running]:
    """The actor's runs in progress, most recent first (runs of a removed playbook left out)."""
    runs = await app.db(lambda session: svc.active_runs(session, actor))
    out = []
    for run, name in runs:
        playbook = app.playbooks.get(run.playbook)
        if playbook is not None:
            out.append(Running(run, name, playbook))
    return out


# ---------------------------------------------------------------- inside the transaction


async def _current(
    session: AsyncSession, actor: Actor, customer_id: int, run_id: int, seq: int
) -> PlaybookRun:
    """The actor's active run, if the button pressed is as new as it (else Stale)."""
    run = await svc.load_run(session, actor, run_id, customer_id=customer_id)
    if run.seq != seq:
        raise Stale()
    return run


async def _play(
    session: AsyncSession,
    app: Runtime,
    actor: Actor,
    customer_id: int,
    run_id: int,
    move: Move | None,
    seq: int | None,
    *,
    now: datetime,
    today: date,
) -> Played:
    # The card first: while it is held here, load_run's own check of it reads the
    # session's copy instead of the database again.
    customer = await customer_service.get_customer(session, actor, customer_id, edit=True)
    run = await svc.load_run(session, actor, run_id, customer_id=customer_id)
    if seq is not None and seq != run.seq:
        raise Stale()
    playbook = app.playbooks.get(run.playbook)
    state = RunState.from_json(run.state)
    if playbook is None or not playbook.has(state.step):
        # The playbook was removed or rewritten since the run began.
        await svc.abandon_run(session, run, now=now)
        await flow_store.clear_flow(session, actor.user_id)
        return Played(run, customer.name, state, None)
    played = Played(run, customer.name, state, playbook)
    if move is not None:
        await _apply(session, actor, played, customer, move, now=now, today=today)
        if played.finished is not None:
            await flow_store.clear_flow(session, actor.user_id)
            return played
    step = playbook.step(played.state.step)
    if isinstance(step, Choice) and step.rank is not None:
        played.wins = await _wins(session, run, step, played.state)
    played.flow = await flow_store.save_flow(
        session,
        user_id=actor.user_id,
        flow=PLAY_FLOW,
        step=played.state.step,
        data={"run": run.id, "customer_id": customer_id},
        now=now,
    )
    return played


async def _apply(
    session: AsyncSession,
    actor: Actor,
    played: Played,
    customer: Customer,
    move: Move,
    *,
    now: datetime,
    today: date,
) -> None:
    """Put the input through the engine; keep the new position, or finish the run."""
    playbook, run, state, given = played.playbook, played.run, played.state, move.given
    assert playbook is not None
    shown = None
    asked = playbook.step(state.step)
    if given.action == "text" and isinstance(asked, Choice) and asked.rank is not None:
        # A typed number means the button at that place, as ranked on screen.
        ranked = engine.ranked(asked, await _wins(session, run, asked, state))
        shown = [index for index, *_ in ranked]
    result = engine.advance(
        playbook, state, given, today=today, check_field=_field_check(today), shown=shown, lang=move.lang
    )
    played.error, played.notice = result.error, result.notice
    if result.error is not None or result.state is state:
        return
    played.state = result.state
    if result.state.finished:
        texts = move.wording(playbook, result.state, customer.name)
        played.finished = await _finish(session, actor, playbook, run, texts, result.state, now, today)
    else:
        svc.save_state(session, run, result.state, now=now)


async def _finish(
    session: AsyncSession,
    actor: Actor,
    playbook: Playbook,
    run: PlaybookRun,
    texts: FinishTexts,
    state: RunState,
    now: datetime,
    today: date,
) -> svc.Finished:
    """Apply a finished run to the card, with its wording."""
    end = playbook.step(state.step)
    assert isinstance(end, End)
    return await svc.finish_run(
        session,
        actor,
        run,
        state=state,
        actions=engine.actions(playbook, state, today=today),
        outcome=end.outcome,
        summary=texts.summary[: customer_service.NOTE_MAX],
        reminder_texts=texts.reminders,
        purchase_note=texts.purchase_note,
        now=now,
    )


async def _wins(
    session: AsyncSession, run: PlaybookRun, step: Choice, state: RunState
) -> dict[str, tuple[int, int]]:
    """The team's wins per option of a ranked choice."""
    assert step.rank is not None
    match = state.answers.get(step.rank.match) if step.rank.match else None
    return await outcome_stats.method_wins(session, team_id=run.team_id, kind=step.rank.record, type_=match)


def _field_check(today: date) -> engine.FieldCheck:
    def check(key: str, raw: str) -> None:
        customer_service.validate_field(key, raw, today=today)

    return check
