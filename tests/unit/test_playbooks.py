"""Playbooks without Telegram: the checker, the engine, every path of every shipped file."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.domain import card
from bot.domain.card import Stage
from bot.domain.errors import InvalidInput
from bot.domain.methodology import REQUIRED
from bot.playbooks import engine
from bot.playbooks.check import check_files, load_all, load_file, playbook_files
from bot.playbooks.diagram import mermaid
from bot.playbooks.engine import (
    FieldChange,
    Given,
    GradeChange,
    OutcomeRecord,
    PurchaseMade,
    Reminder,
    RunState,
    StageChange,
)
from bot.playbooks.model import Checklist, Choice, DateAnswer, FreeText, Number, Playbook, Scale, Tip
from bot.services.customers import validate_field
from bot.telegram.playbooks import render_text

TODAY = date(2026, 11, 23)
SHIPPED = ("qualify", "approach", "present", "objection", "closing", "complaint", "revisit", "winback")


@pytest.fixture(scope="module")
def shipped() -> dict[str, Playbook]:
    return load_all()


def test_every_shipped_file_passes_the_checker(shipped: dict[str, Playbook]) -> None:
    loaded, problems = check_files(playbook_files())
    assert problems == []
    assert set(SHIPPED) <= set(loaded)
    assert list(shipped)[:8] == list(SHIPPED), "menu order follows the method's steps"


@pytest.mark.parametrize("playbook_id", SHIPPED)
def test_every_technique_of_the_method_is_taught_in_both_languages(
    shipped: dict[str, Playbook], playbook_id: str
) -> None:
    playbook = shipped[playbook_id]
    taught: dict[str, list[Any]] = {}
    for step in playbook.steps:
        for technique in step.covers:
            taught.setdefault(technique, []).append(step)
        for option in getattr(step, "options", ()):
            for technique in option.covers:
                taught.setdefault(technique, []).append(option)
    missing = [t for t in REQUIRED[playbook_id] if t not in taught]
    assert missing == []
    for technique in REQUIRED[playbook_id]:
        for where in taught[technique]:
            text = where.label if hasattr(where, "label") and not hasattr(where, "kind") else where.text
            assert text.zh.strip() and text.en.strip(), (playbook_id, technique)


# ---------------------------------------------------------------- walking every path


def _inputs(step: Any) -> Iterator[list[Given]]:
    """Every way through a step: each choice, each score, a few tick patterns, typed answers."""
    if isinstance(step, Tip):
        yield [Given("next")]
    elif isinstance(step, Choice):
        for index in range(len(step.options)):
            yield [Given("pick", str(index))]
    elif isinstance(step, Scale):
        for score in (1, 3, 5):
            yield [Given("pick", str(score))]
    elif isinstance(step, Checklist):
        patterns = [[], list(range(len(step.options)))] + [[i] for i in range(len(step.options))]
        for ticks in patterns:
            if len(ticks) >= step.min:
                yield [*(Given("toggle", str(i)) for i in ticks), Given("done")]
    elif isinstance(step, FreeText):
        yield [Given("text", "客户说 the price is high")]
    elif isinstance(step, Number):
        low = step.min or 0
        yield [Given("text", str(max(low, 12000)) if step.max is None else str(step.max))]
    elif isinstance(step, DateAnswer):
        yield [Given("text", "3天前" if step.past else "3天后")]
    if getattr(step, "optional", False):
        yield [Given("skip")]


def _apply(playbook: Playbook, state: RunState, inputs: list[Given]) -> RunState:
    step = state.step
    for given in inputs:
        outcome = engine.advance(playbook, state, given, today=TODAY, check_field=_check_field)
        assert outcome.error is None, (playbook.id, step, given, outcome.error.key)
        state = outcome.state
    return state


def walk(playbook: Playbook) -> Iterator[RunState]:
    """Every choice at every step, each followed to an end; yields the finished runs.

    Every step is first reached by some way (breadth first); from there each of its
    inputs is taken, and the run is carried on to an end by a few policies (first
    choice everywhere, last choice, and seeded random ones) so that branches on
    earlier answers go each way. A policy that goes round a loop is dropped, but each
    input must reach an end under some policy.
    """
    reached: dict[str, RunState] = {}
    queue = [engine.begin(playbook)]
    while queue:
        state = queue.pop(0)
        if state.finished or state.step in reached:
            continue
        reached[state.step] = state
        queue += [_apply(playbook, state, inputs) for inputs in _inputs(playbook.step(state.step))]
    for step_id, state in reached.items():
        for inputs in _inputs(playbook.step(step_id)):
            after = _apply(playbook, state, inputs)
            finished = [end for policy in range(6) if (end := _carry_on(playbook, after, policy))]
            assert finished, f"{playbook.id}: {step_id} {inputs} never reaches an end"
            yield from finished


def _carry_on(playbook: Playbook, state: RunState, policy: int) -> RunState | None:
    chooser = random.Random(policy)
    for _ in range(300):
        if state.finished:
            return state
        options = list(_inputs(playbook.step(state.step)))
        pick = options[0] if policy == 0 else options[-1] if policy == 1 else chooser.choice(options)
        state = _apply(playbook, state, pick)
    return None


def _check_field(key: str, raw: str) -> None:
    validate_field(key, raw, today=TODAY)


@pytest.mark.parametrize("playbook_id", SHIPPED)
def test_every_path_ends_cleanly_with_valid_actions_in_both_languages(
    shipped: dict[str, Playbook], playbook_id: str
) -> None:
    playbook = shipped[playbook_id]
    ends: set[str] = set()
    paths = 0
    for state in walk(playbook):
        paths += 1
        ends.add(state.step)
        actions = engine.actions(playbook, state, today=TODAY)
        for action in actions:
            if isinstance(action, FieldChange):
                validate_field(action.key, action.value, today=TODAY)
            elif isinstance(action, StageChange):
                assert action.stage in {s.value for s in Stage}
            elif isinstance(action, GradeChange):
                assert action.grade in card.GRADES
            elif isinstance(action, Reminder):
                assert action.due >= TODAY
            elif isinstance(action, OutcomeRecord):
                assert action.kind in engine.RECORD_KINDS
                assert set(action.values) <= set(engine.RECORD_COLUMNS)
                assert action.values.get("result", "won") in engine.RESULTS
            elif isinstance(action, PurchaseMade):
                assert float(action.amount) > 0
        for step_id in state.trail:
            step = playbook.step(step_id)
            for text in (getattr(step, "text", None), getattr(step, "script", None)):
                if text is not None:
                    for lang in ("zh", "en"):
                        assert render_text(text.get(lang), customer="陈静", answers={}).strip()
    reachable_ends = {s.id for s in playbook.steps if s.kind == "end"}
    assert ends == reachable_ends, "every end is reached by some path"
    assert paths > 0


@pytest.mark.parametrize("playbook_id", SHIPPED)
def test_the_main_path_changes_the_card(shipped: dict[str, Playbook], playbook_id: str) -> None:
    """Some path of each playbook writes a field, moves the stage and sets a reminder."""
    playbook = shipped[playbook_id]
    kinds: set[type] = set()
    for state in walk(playbook):
        kinds |= {type(a) for a in engine.actions(playbook, state, today=TODAY)}
    assert {FieldChange, StageChange, Reminder} <= kinds


def test_diagrams_name_every_step(shipped: dict[str, Playbook]) -> None:
    for playbook in shipped.values():
        chart = mermaid(playbook)
        assert chart.startswith("flowchart TD")
        for step in playbook.steps:
            assert f"    {step.id}" in chart


# ---------------------------------------------------------------- the engine


def test_back_skip_ticks_and_typed_answers(shipped: dict[str, Playbook]) -> None:
    qualify = shipped["qualify"]
    state = engine.begin(qualify)
    assert state.step == "source"
    assert engine.advance(qualify, state, Given("back"), today=TODAY).notice == "playbook.at_start"
    state = engine.advance(qualify, state, Given("text", "互联网"), today=TODAY).state  # typed label
    assert state.answers["source"] == "internet" and state.step == "need_tip"
    typed = engine.advance(qualify, state, Given("text", "go"), today=TODAY)
    assert typed.error is not None and typed.error.key == "playbook.use_buttons" and typed.state is state
    state = engine.advance(qualify, state, Given("next"), today=TODAY).state
    bad = engine.advance(qualify, state, Given("text", "9"), today=TODAY)
    assert isinstance(bad.error, InvalidInput) and bad.state is state
    state = engine.advance(qualify, state, Given("text", "４分"), today=TODAY).state
    assert state.answers["need"] == 4
    back = engine.advance(qualify, state, Given("back"), today=TODAY).state
    assert back.step == "need" and back.answers["need"] == 4  # the earlier answer is kept to show
    too_high = engine.advance(qualify, back, Given("pick", "7"), today=TODAY).error
    assert too_high is not None and too_high.key == "playbook.score"
    forged = engine.advance(qualify, engine.begin(qualify), Given("pick", "77"), today=TODAY)
    assert forged.error is not None and forged.error.key == "error.stale"


def test_checklist_minimum_number_and_date_answers(tmp_path: Path) -> None:
    path = tmp_path / "mini.toml"
    path.write_text(
        MINI
        + """
[[steps]]
id = "ticks"
kind = "checklist"
min = 1
label = { zh = "勾选", en = "Ticks" }
text = { zh = "勾", en = "Tick" }
options = [{ id = "a", label = { zh = "甲", en = "A" } }, { id = "b", label = { zh = "乙", en = "B" } }]
next = "amount"

[[steps]]
id = "amount"
kind = "number"
min = 10
label = { zh = "金额", en = "Amount" }
text = { zh = "多少", en = "How much" }
next = "when"

[[steps]]
id = "when"
kind = "date"
label = { zh = "日期", en = "Date" }
text = { zh = "哪天", en = "When" }
next = "remind"

[[steps]]
id = "remind"
kind = "remind"
from = "when"
text = { zh = "跟进", en = "Follow up" }
next = "done"
""",
        encoding="utf-8",
    )
    playbook, problems = load_file(path)
    assert problems == [] and playbook is not None
    state = engine.begin(playbook)
    assert engine.advance(playbook, state, Given("done"), today=TODAY).error.key == "playbook.tick_more"  # type: ignore[union-attr]
    state = engine.advance(playbook, state, Given("toggle", "1"), today=TODAY).state
    state = engine.advance(playbook, state, Given("toggle", "0"), today=TODAY).state
    assert state.answers["ticks"] == ["a", "b"]  # kept in the file's order
    state = engine.advance(playbook, state, Given("toggle", "1"), today=TODAY).state
    state = engine.advance(playbook, state, Given("done"), today=TODAY).state
    assert state.answers["ticks"] == ["a"]
    assert engine.advance(playbook, state, Given("text", "5"), today=TODAY).error.key == "playbook.number_min"  # type: ignore[union-attr]
    state = engine.advance(playbook, state, Given("text", "1.5万"), today=TODAY).state
    assert state.answers["amount"] == "15000"
    assert engine.advance(playbook, state, Given("text", "someday"), today=TODAY).error.key == "error.date"  # type: ignore[union-attr]
    state = engine.advance(playbook, state, Given("text", "周五"), today=TODAY).state
    assert state.finished
    assert engine.actions(playbook, state, today=TODAY) == [Reminder("remind", date(2026, 11, 27))]


# ---------------------------------------------------------------- the checker on broken files

MINI = """
id = "mini"
start = "ticks"
title = { zh = "小", en = "Mini" }
about = { zh = "小", en = "Mini" }

[[steps]]
id = "done"
kind = "end"
outcome = "done"
label = { zh = "完成", en = "Done" }
text = { zh = "好", en = "Good" }
"""

TIP = """
[[steps]]
id = "ticks"
kind = "tip"
text = { zh = "提示", en = "Tip" }
next = "done"
"""


def _problems(tmp_path: Path, body: str, name: str = "mini") -> list[str]:
    path = tmp_path / f"{name}.toml"
    path.write_text(body, encoding="utf-8")
    _, problems = load_file(path)
    return [str(p) for p in problems]


BROKEN = {
    "unreachable": (
        TIP + '[[steps]]\nid = "lost"\nkind = "tip"\ntext = { zh = "x", en = "x" }\nnext = "done"\n',
        "mini.toml: step lost: cannot be reached from the start (unreachable)",
    ),
    "dead end": (
        '[[steps]]\nid = "ticks"\nkind = "tip"\ntext = { zh = "x", en = "x" }\n',
        "mini.toml: step ticks: leads nowhere (dead end)",
    ),
    "loop with no exit": (
        '[[steps]]\nid = "ticks"\nkind = "tip"\ntext = { zh = "x", en = "x" }\nnext = "ticks"\n',
        "mini.toml: step ticks: no path from here reaches an end",
    ),
    "silent loop": (
        '[[steps]]\nid = "ticks"\nkind = "stage"\nstage = "present"\nnext = "ticks"\n',
        "mini.toml: step ticks: loops back to itself without asking anything",
    ),
    "next to nothing": (
        '[[steps]]\nid = "ticks"\nkind = "tip"\ntext = { zh = "x", en = "x" }\nnext = "nowhere"\n',
        "mini.toml: step ticks: leads to 'nowhere', which is not a step",
    ),
    "missing translation": (
        '[[steps]]\nid = "ticks"\nkind = "tip"\ntext = { zh = "只有中文" }\nnext = "done"\n',
        "mini.toml: step ticks: text has no en translation",
    ),
    "unknown field": (
        '[[steps]]\nid = "ticks"\nkind = "field"\nfield = "shoe_size"\nvalue = "42"\nnext = "done"\n',
        "mini.toml: step ticks: unknown card field 'shoe_size'",
    ),
    "bad field value": (
        '[[steps]]\nid = "ticks"\nkind = "field"\nfield = "gender"\nvalue = "robot"\nnext = "done"\n',
        "mini.toml: step ticks: field 'gender': 'robot' is not one of female, male",
    ),
    "unknown stage": (
        '[[steps]]\nid = "ticks"\nkind = "stage"\nstage = "celebrate"\nnext = "done"\n',
        "mini.toml: step ticks: stage: 'celebrate' is not one of",
    ),
    "unknown answer": (
        '[[steps]]\nid = "ticks"\nkind = "remind"\nfrom = "when"\n'
        'text = { zh = "x", en = "x" }\nnext = "done"\n',
        "mini.toml: step ticks: the reminder uses answer 'when', which no step asks for",
    ),
    "unknown record": (
        '[[steps]]\nid = "ticks"\nkind = "record"\nrecord = "mood"\nnext = "done"\n',
        "mini.toml: step ticks: unknown record kind 'mood'",
    ),
    "oversized script": (
        '[[steps]]\nid = "ticks"\nkind = "tip"\ntext = { zh = "x", en = "x" }\n'
        f'script = {{ zh = "{"话" * 300}", en = "x" }}\nnext = "done"\n',
        "mini.toml: step ticks: script (zh) has 300 characters; at most 256 fit a copy button",
    ),
    "oversized message": (
        '[[steps]]\nid = "ticks"\nkind = "tip"\n'
        f'text = {{ zh = "{"长" * 4000}", en = "x" }}\nnext = "done"\n',
        "mini.toml: step ticks: text (zh) is too long for one message",
    ),
    "oversized button": (
        '[[steps]]\nid = "ticks"\nkind = "choice"\nlabel = { zh = "x", en = "x" }\n'
        'text = { zh = "x", en = "x" }\nnext = "done"\n'
        f'options = [{{ id = "a", label = {{ zh = "x", en = "{"y" * 60}" }} }}]\n',
        "mini.toml: step ticks: option 'a' label (en) has 60 characters; at most 48 fit a button",
    ),
    "too many buttons": (
        '[[steps]]\nid = "ticks"\nkind = "choice"\nlabel = { zh = "x", en = "x" }\n'
        'text = { zh = "x", en = "x" }\nnext = "done"\noptions = ['
        + ", ".join(f'{{ id = "o{i}", label = {{ zh = "x", en = "x" }} }}' for i in range(30))
        + "]\n",
        "mini.toml: step ticks: has 30 options; at most 24 fit on a phone",
    ),
    "schema": (
        '[[steps]]\nid = "ticks"\nkind = "tip"\ntext = { zh = "x", en = "x" }\n'
        'colour = "red"\nnext = "done"\n',
        "mini.toml: step ticks: colour: Extra inputs are not permitted",
    ),
    "template": (
        '[[steps]]\nid = "ticks"\nkind = "tip"\ntext = { zh = "{{ customer", en = "x" }\nnext = "done"\n',
        "mini.toml: step ticks: text (zh) is not a valid template",
    ),
    "not toml": ("[[steps]\n", "mini.toml: not valid TOML"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_the_checker_names_the_file_and_step_of_each_error_class(tmp_path: Path, case: str) -> None:
    body, expected = BROKEN[case]
    problems = _problems(tmp_path, MINI + body)
    assert any(p.startswith(expected) for p in problems), problems


def test_the_file_name_is_the_id(tmp_path: Path) -> None:
    problems = _problems(tmp_path, MINI + TIP, name="other")
    assert problems == ["other.toml: id 'mini' differs from the file name 'other'"]
    assert _problems(tmp_path, MINI + TIP) == []
