"""The playbook run use cases (`services/playbook_runs`, `outcome_stats`) on a real session,
on both databases: start, a whole short run, a stale button, a changed playbook, stop, stats."""

from __future__ import annotations

import tomllib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.access import Actor, Role
from bot.domain.errors import NotAllowed, NotFound, Stale
from bot.playbooks.engine import Given, RunState
from bot.playbooks.model import Playbook
from bot.services import outcome_stats
from bot.services import playbook_runs as runs
from bot.services.playbook_runs import FinishTexts, Move
from bot.storage.db import SessionFactory, make_session_factory, transaction
from bot.storage.models import (
    Customer,
    FlowState,
    Membership,
    Note,
    Outcome,
    PlaybookRun,
    Purchase,
    Task,
    Team,
    User,
)

T = TypeVar("T")
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Shanghai
TODAY = date(2026, 11, 23)
LEAD, REP, OTHER_REP = 300, 301, 302

QUICK = """
id = "quick"
order = 1
stages = ["closing"]
start = "intro"
title = { zh = "快速成交", en = "Quick close" }
about = { zh = "试一试", en = "Try it" }

[[steps]]
id = "intro"
kind = "tip"
text = { zh = "你好 {{ customer }}", en = "Hello {{ customer }}" }
next = "method"

[[steps]]
id = "method"
kind = "choice"
label = { zh = "方法", en = "Method" }
text = { zh = "用哪种方法？", en = "Which method?" }
rank = { record = "closing" }
next = "result"
options = [
  { id = "direct", label = { zh = "直接", en = "Direct" } },
  { id = "assume", label = { zh = "假定", en = "Assume" } },
]

[[steps]]
id = "result"
kind = "choice"
label = { zh = "结果", en = "Result" }
text = { zh = "结果如何？", en = "How did it go?" }
next = "amount"
options = [
  { id = "won", label = { zh = "成交", en = "Won" } },
  { id = "lost", label = { zh = "没成", en = "Lost" } },
]

[[steps]]
id = "amount"
kind = "number"
min = 0
label = { zh = "金额", en = "Amount" }
text = { zh = "金额？", en = "Amount?" }
next = "words"

[[steps]]
id = "words"
kind = "text"
max_length = 100
label = { zh = "买了什么", en = "What" }
text = { zh = "买了什么？", en = "What did they buy?" }
next = "used"

[[steps]]
id = "used"
kind = "field"
field = "products_used"
from = "words"
next = "record"

[[steps]]
id = "record"
kind = "record"
record = "closing"
fields = { method = "method", result = "result" }
next = "sale"

[[steps]]
id = "sale"
kind = "purchase"
amount = "amount"
items = "words"
next = "stage"

[[steps]]
id = "stage"
kind = "stage"
stage = "won"
next = "follow"

[[steps]]
id = "follow"
kind = "remind"
in_days = 3
text = { zh = "回访 {{ customer }}", en = "Call {{ customer }} back" }
next = "done"

[[steps]]
id = "done"
kind = "end"
outcome = "won"
label = { zh = "成交", en = "Won" }
text = { zh = "好样的", en = "Well done" }
"""

OTHER = QUICK.replace('id = "quick"', 'id = "other"').replace('stages = ["closing"]', 'stages = ["find"]')


def _playbook(source: str) -> Playbook:
    return Playbook.model_validate(tomllib.loads(source))


@dataclass
class Wiring:
    """The wiring the use cases take: plain transactions, a fixed clock, playbooks."""

    sessions: SessionFactory
    playbooks: Mapping[str, Playbook] = field(default_factory=dict)
    current: datetime = NOW

    def now(self) -> datetime:
        return self.current

    def today(self) -> date:
        return self.current.date()

    async def db(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with transaction(self.sessions) as session:
            return await work(session)


def _wording(playbook: Playbook, state: RunState, customer: str) -> FinishTexts:
    """The caller's wording, easy to recognise on the card."""
    reminders = {step: f"call {customer}" for step in state.trail if playbook.step(step).kind == "remind"}
    return FinishTexts(f"summary of {playbook.id} for {customer}", reminders, f"bought in {playbook.id}")


def _move(action: str, value: str = "") -> Move:
    return Move(Given(action, value), "en", _wording)


async def _world(engine: AsyncEngine) -> tuple[Wiring, int, int]:
    """A team with a lead and two reps; the rep's customer at the closing stage."""
    app = Wiring(make_session_factory(engine), {"other": _playbook(OTHER), "quick": _playbook(QUICK)})
    async with transaction(app.sessions) as session:
        team = Team(name="T", timezone="Asia/Shanghai")
        session.add(team)
        for uid, name in [(LEAD, "Lead"), (REP, "Rita"), (OTHER_REP, "Otto")]:
            session.add(User(telegram_id=uid, name=name))
        await session.flush()
        assert team.id is not None
        for uid, role in [(LEAD, "lead"), (REP, "rep"), (OTHER_REP, "rep")]:
            session.add(Membership(user_id=uid, team_id=team.id, role=role))
        customer = Customer(
            team_id=team.id, owner_id=REP, name="Wang", stage="closing", optin_code="c-wang", created_at=NOW
        )
        session.add(customer)
        await session.flush()
        assert customer.id is not None
        return app, team.id, customer.id


async def _rows(app: Wiring, model: Any) -> list[Any]:
    async with transaction(app.sessions) as session:
        return list((await session.exec(select(model).order_by(col(model.id)))).all())


async def _run_through(app: Wiring, actor: Actor, cid: int, method: Move) -> runs.Played:
    """Start quick and take it to the end: intro, the method given, won, 1200, what was bought."""
    played = await runs.start(app, actor, cid, "quick")
    for move in [
        _move("next"),
        method,
        _move("pick", "0"),
        _move("text", "1200"),
        _move("text", "a blue pen"),
    ]:
        played = await runs.advance(
            app, actor, customer_id=cid, run_id=played.run.id or 0, move=move, seq=played.run.seq
        )
        assert played.error is None, (played.state.step, played.error)
    return played


async def test_start_shows_the_first_step_and_sets_an_earlier_run_aside(engine: AsyncEngine) -> None:
    app, team_id, cid = await _world(engine)
    rep = Actor(REP, Role.REP, team_id)
    first = await runs.start(app, rep, cid, "other")
    played = await runs.start(app, rep, cid, "quick")
    assert played.playbook is not None and played.playbook.id == "quick"
    assert played.state.step == "intro" and played.customer == "Wang" and played.error is None
    assert played.flow is not None and played.flow.flow == runs.PLAY_FLOW
    assert played.flow.data == {"run": played.run.id, "customer_id": cid}
    statuses = {run.id: run.status for run in await _rows(app, PlaybookRun)}
    assert statuses == {first.run.id: "abandoned", played.run.id: "active"}
    menu = await runs.menu(app, rep, cid)
    assert menu.running is not None and menu.running.id == "quick" and menu.run_id == played.run.id
    assert [p.id for p in menu.fitting] == ["quick"] and [p.id for p in menu.others] == ["other"]
    assert (menu.name, menu.stage) == ("Wang", "closing")
    [running] = await runs.in_progress(app, rep)
    assert (running.run.id, running.customer, running.playbook.id) == (played.run.id, "Wang", "quick")
    with pytest.raises(Stale):
        await runs.start(app, rep, cid, "no-such-playbook")
    with pytest.raises(NotAllowed):
        await runs.start(app, Actor(OTHER_REP, Role.REP, team_id), cid, "quick")


async def test_a_whole_run_finishes_and_applies_its_actions_in_one_go(engine: AsyncEngine) -> None:
    app, team_id, cid = await _world(engine)
    rep = Actor(REP, Role.REP, team_id)
    played = await _run_through(app, rep, cid, _move("pick", "1"))
    assert played.finished is not None and played.flow is None
    assert played.state.finished and played.state.step == "done"
    assert played.finished.stage == "won"
    assert played.finished.reminders == [TODAY + timedelta(days=3)]
    [run] = await _rows(app, PlaybookRun)
    assert (run.status, run.outcome, run.step) == ("done", "won", "done")
    assert await _rows(app, FlowState) == []
    [task] = await _rows(app, Task)
    assert (task.text, task.due_on, task.source, task.customer_id) == (
        "call Wang",
        TODAY + timedelta(3),
        "playbook",
        cid,
    )
    [outcome] = await _rows(app, Outcome)
    assert (outcome.kind, outcome.method, outcome.result, outcome.run_id) == (
        "closing",
        "assume",
        "won",
        run.id,
    )
    [purchase] = await _rows(app, Purchase)
    assert (purchase.amount, purchase.items) == (Decimal(1200), "a blue pen")
    notes = {note.kind: note for note in await _rows(app, Note) if note.kind == "playbook"}
    assert notes["playbook"].text == "summary of quick for Wang"
    assert notes["playbook"].meta == {"run": run.id, "playbook": "quick", "outcome": "won"}
    assert notes["playbook"].id == played.finished.note_id
    assert any(note.text == "bought in quick" for note in await _rows(app, Note))
    [customer] = await _rows(app, Customer)
    assert customer.stage == "won" and "a blue pen" in customer.extra["products_used"]
    assert await runs.in_progress(app, rep) == []


async def test_an_input_that_does_not_fit_keeps_the_step_and_says_why(engine: AsyncEngine) -> None:
    app, team_id, cid = await _world(engine)
    rep = Actor(REP, Role.REP, team_id)
    played = await runs.start(app, rep, cid, "quick")
    run_id, seq = played.run.id or 0, played.run.seq
    typed = await runs.advance(app, rep, customer_id=cid, run_id=run_id, move=_move("text", "hi"), seq=None)
    assert typed.error is not None and typed.error.key == "playbook.use_buttons"
    assert typed.state.step == "intro" and typed.run.seq == seq, "nothing saved"
    back = await runs.advance(app, rep, customer_id=cid, run_id=run_id, move=_move("back"), seq=seq)
    assert back.notice == "playbook.at_start" and back.error is None and back.run.seq == seq


async def test_a_button_older_than_the_run_is_stale(engine: AsyncEngine) -> None:
    app, team_id, cid = await _world(engine)
    rep = Actor(REP, Role.REP, team_id)
    played = await runs.start(app, rep, cid, "quick")
    run_id, old = played.run.id or 0, played.run.seq
    moved = await runs.advance(app, rep, customer_id=cid, run_id=run_id, move=_move("next"), seq=old)
    assert moved.state.step == "method" and moved.run.seq == old + 1
    for stale in (
        runs.advance(app, rep, customer_id=cid, run_id=run_id, move=_move("next"), seq=old),
        runs.pause(app, rep, customer_id=cid, run_id=run_id, seq=old),
        runs.stop(app, rep, customer_id=cid, run_id=run_id, seq=old, confirmed=True),
    ):
        with pytest.raises(Stale):
            await stale
    with pytest.raises(NotFound):  # a run is reached through its customer
        await runs.advance(app, rep, customer_id=cid + 1, run_id=run_id, move=None)
    [run] = await _rows(app, PlaybookRun)
    assert (run.status, run.step, run.seq) == ("active", "method", old + 1)
    again = await runs.advance(app, rep, customer_id=cid, run_id=run_id, move=None, seq=old + 1)
    assert again.state.step == "method" and again.run.seq == old + 1, "shown again, unchanged"


async def test_a_run_whose_playbook_changed_is_abandoned_without_touching_the_card(
    engine: AsyncEngine,
) -> None:
    app, team_id, cid = await _world(engine)
    rep = Actor(REP, Role.REP, team_id)
    played = await runs.start(app, rep, cid, "quick")
    played = await runs.advance(
        app, rep, customer_id=cid, run_id=played.run.id or 0, move=_move("next"), seq=played.run.seq
    )
    rewritten = _playbook(
        QUICK.replace('id = "method"', 'id = "way"').replace('next = "method"', 'next = "way"')
    )
    app.playbooks = {"quick": rewritten}
    changed = await runs.advance(
        app, rep, customer_id=cid, run_id=played.run.id or 0, move=_move("pick", "0")
    )
    assert changed.playbook is None and changed.flow is None and changed.finished is None
    [run] = await _rows(app, PlaybookRun)
    assert run.status == "abandoned" and run.ended_at is not None
    assert await _rows(app, FlowState) == []
    assert await _rows(app, Outcome) == [] and await _rows(app, Task) == []
    assert [n for n in await _rows(app, Note) if n.kind == "playbook"] == []
    with pytest.raises(Stale):
        await runs.advance(app, rep, customer_id=cid, run_id=run.id or 0, move=None)


async def test_pause_and_stop(engine: AsyncEngine) -> None:
    app, team_id, cid = await _world(engine)
    rep = Actor(REP, Role.REP, team_id)
    played = await runs.start(app, rep, cid, "quick")
    run_id, seq = played.run.id or 0, played.run.seq
    await runs.pause(app, rep, customer_id=cid, run_id=run_id, seq=seq)
    assert await _rows(app, FlowState) == []
    assert [r.status for r in await _rows(app, PlaybookRun)] == ["active"]
    await runs.stop(app, rep, customer_id=cid, run_id=run_id, seq=seq, confirmed=False)
    assert [r.status for r in await _rows(app, PlaybookRun)] == ["active"], "only asked"
    resumed = await runs.advance(app, rep, customer_id=cid, run_id=run_id, move=None, seq=seq)
    assert resumed.flow is not None
    await runs.stop(app, rep, customer_id=cid, run_id=run_id, seq=seq, confirmed=True)
    assert [r.status for r in await _rows(app, PlaybookRun)] == ["abandoned"]
    assert await _rows(app, FlowState) == [] and await _rows(app, Note) == []
    await runs.forget(app, rep)  # nothing to drop: no error


async def test_stats_count_the_wins_and_a_ranked_choice_follows_them(engine: AsyncEngine) -> None:
    app, team_id, cid = await _world(engine)
    rep = Actor(REP, Role.REP, team_id)
    await _run_through(app, rep, cid, _move("pick", "1"))  # "assume" won
    async with transaction(app.sessions) as session:
        session.add(
            Customer(
                team_id=team_id, owner_id=REP, name="Li", stage="closing", optin_code="c-li", created_at=NOW
            )
        )
    [_, li] = [c.id or 0 for c in await _rows(app, Customer)]
    played = await runs.start(app, rep, li, "quick")
    played = await runs.advance(app, rep, customer_id=li, run_id=played.run.id or 0, move=_move("next"))
    assert played.wins == {"assume": (1, 1)}, "the ranked choice shows the team's wins"
    # "1" typed means the first button as ranked on screen: assume, not the file's first.
    await _run_through(app, rep, li, _move("text", "1"))
    methods = [o.method for o in await _rows(app, Outcome)]
    assert methods == ["assume", "assume"]
    lead = Actor(LEAD, Role.LEAD, team_id)
    found = await outcome_stats.team_stats(app.db, lead, team_id)
    [row] = found.team
    assert (row.kind, row.type, row.method, row.wins, row.tries) == ("closing", "", "assume", 2, 2)
    assert list(found.reps) == ["Rita"] and found.results == {"closing": {"won": 2}}
    assert (await outcome_stats.team_stats(app.db, Actor(OTHER_REP, Role.REP, team_id), team_id)).team == []
    with pytest.raises(NotAllowed):
        await outcome_stats.team_stats(app.db, Actor(LEAD, Role.LEAD, team_id + 1), team_id)
    assert [t.name for t in await outcome_stats.teams_to_pick(app.db, lead)] == ["T"]
    assert await outcome_stats.teams_to_pick(app.db, Actor(1, Role.ADMIN, None, True)) != []
