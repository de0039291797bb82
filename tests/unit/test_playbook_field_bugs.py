"""Issue 16: what a playbook may do to a card, retried closings, typed choices, scripts that listen."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.domain import card
from bot.domain.card import Stage
from bot.playbooks import engine
from bot.playbooks.check import load_all, load_file
from bot.playbooks.engine import FieldChange, Given, OutcomeRecord, Reminder, RunState, StageChange
from bot.playbooks.model import Playbook
from bot.telegram.playbooks import render_text

TODAY = date(2026, 11, 23)


@pytest.fixture(scope="module")
def shipped() -> dict[str, Playbook]:
    return load_all()


def _go(playbook: Playbook, state: RunState, *inputs: Given | str) -> RunState:
    for given in inputs:
        given = Given("text", given) if isinstance(given, str) else given
        outcome = engine.advance(playbook, state, given, today=TODAY)
        assert outcome.error is None, (state.step, given, outcome.error.key, outcome.error.params)
        state = outcome.state
    return state


def _pick(playbook: Playbook, step_id: str, option_id: str) -> Given:
    options = [o.id for o in playbook.step(step_id).options]
    return Given("pick", str(options.index(option_id)))


NEXT = Given("next")


# ---------------------------------------------------------------- 2: a playbook adds, it never discards


def test_a_field_step_appends_to_free_text_by_default_and_replaces_only_choices(
    shipped: dict[str, Playbook],
) -> None:
    for playbook in shipped.values():
        for step in playbook.steps:
            if step.kind == "field":
                spec = card.field(step.field)
                mode = card.write_mode(spec, step.mode)
                if spec.kind in (card.Kind.TEXT, card.Kind.LONG_TEXT):
                    assert mode in ("append", "fill"), (playbook.id, step.id)
    spec = card.field("products_used")
    assert card.write_mode(spec, None) == "append"
    assert card.write_mode(card.field("preferred_channel"), None) == "replace"


def test_appending_keeps_the_reps_text_dates_the_addition_and_skips_repeats() -> None:
    spec = card.field("products_used")
    rep = "用Excel表格加微信群派单"
    merged = card.merged_value(spec, rep, "担心放在云上数据不安全", mode="append", today=TODAY)
    assert merged == f"{rep}\n2026-11-23 担心放在云上数据不安全"
    assert card.merged_value(spec, merged, "担心放在云上数据不安全", mode="append", today=TODAY) is None
    assert card.merged_value(spec, None, "新写的", mode="append", today=TODAY) == "2026-11-23 新写的"
    assert card.merged_value(spec, rep, "新写的", mode="fill", today=TODAY) is None
    assert card.merged_value(spec, "", "新写的", mode="fill", today=TODAY) == "新写的"
    channel = card.field("preferred_channel")
    assert card.merged_value(channel, "phone", "wechat", mode="replace", today=TODAY) == "wechat"
    with pytest.raises(ValueError):
        card.merged_value(spec, rep, "覆盖", mode="replace", today=TODAY)


def test_appending_to_a_full_field_shortens_the_addition_never_the_reps_text() -> None:
    spec = card.field("pricing")  # at most 200 characters
    rep = "价" * 150
    merged = card.merged_value(spec, rep, "贵" * 100, mode="append", today=TODAY)
    assert merged is not None and merged.startswith(rep + "\n2026-11-23 贵") and merged.endswith("…")
    assert len(merged) == spec.max_length
    full = "满" * 195
    assert card.merged_value(spec, full, "贵了", mode="append", today=TODAY) is None


def test_the_checker_refuses_a_playbook_that_would_overwrite_free_text(tmp_path: Path) -> None:
    body = MINI + (
        '[[steps]]\nid = "ask"\nkind = "text"\nlabel = { zh = "话", en = "Words" }\n'
        'text = { zh = "说", en = "Say" }\nnext = "write"\n'
        '[[steps]]\nid = "write"\nkind = "field"\nfield = "taboos"\nfrom = "ask"\nmode = "replace"\n'
        'next = "done"\n'
    )
    path = tmp_path / "mini.toml"
    path.write_text(body, encoding="utf-8")
    _, problems = load_file(path)
    assert any("would discard what the rep wrote" in str(p) for p in problems), problems
    path.write_text(body.replace('mode = "replace"\n', ""), encoding="utf-8")
    playbook, problems = load_file(path)
    assert problems == [] and playbook is not None
    state = _go(playbook, engine.begin(playbook), "不要提竞争对手")
    assert engine.actions(playbook, state, today=TODAY) == [FieldChange("taboos", "不要提竞争对手", "append")]


MINI = """
id = "mini"
start = "ask"
title = { zh = "小", en = "Mini" }
about = { zh = "小", en = "Mini" }

[[steps]]
id = "done"
kind = "end"
outcome = "done"
label = { zh = "完成", en = "Done" }
text = { zh = "好", en = "Good" }
"""


# ---------------------------------------------------------------- 4: every closing attempt is an outcome


def _closing_to_first_try(closing: Playbook) -> RunState:
    state = _go(closing, engine.begin(closing), NEXT, Given("toggle", "0"), Given("done"))
    assert state.step == "nearly"
    return _go(closing, state, NEXT, NEXT, _pick(closing, "pick_soft", "contest"), NEXT)


def test_a_retried_closing_records_every_method_tried(shipped: dict[str, Playbook]) -> None:
    closing = shipped["closing"]
    state = _closing_to_first_try(closing)
    state = _go(
        closing, state, _pick(closing, "result", "follow_up"), NEXT, _pick(closing, "persist_next", "retry")
    )
    state = _go(
        closing, state, _pick(closing, "pick_all", "guarantee"), NEXT, _pick(closing, "result", "lost")
    )
    state = _go(closing, state, NEXT, _pick(closing, "persist_next", "keep"), "对方预算被砍了")
    assert state.finished
    records = [a for a in engine.actions(closing, state, today=TODAY) if isinstance(a, OutcomeRecord)]
    assert [(r.kind, r.values.get("method"), r.values.get("result")) for r in records] == [
        ("closing", "contest", "pending"),
        ("closing", "guarantee", "lost"),
    ]
    # Saved and loaded again (the JSON the database keeps), the attempts are still there.
    again = RunState.from_json(state.to_json())
    assert engine.actions(closing, again, today=TODAY) == engine.actions(closing, state, today=TODAY)


def test_back_over_a_retry_forgets_the_second_method(shipped: dict[str, Playbook]) -> None:
    closing = shipped["closing"]
    state = _closing_to_first_try(closing)
    state = _go(
        closing, state, _pick(closing, "result", "lost"), NEXT, _pick(closing, "persist_next", "retry")
    )
    state = _go(closing, state, _pick(closing, "pick_all", "guarantee"))
    assert state.step == "m_guarantee"
    state = _go(closing, state, Given("back"), Given("back"))
    assert state.step == "persist_next" and state.answers["method"] == "contest"
    state = _go(closing, state, _pick(closing, "persist_next", "keep"), "太贵")
    records = [a for a in engine.actions(closing, state, today=TODAY) if isinstance(a, OutcomeRecord)]
    assert [(r.values.get("method"), r.values.get("result")) for r in records] == [("contest", "lost")]


def test_a_run_saved_in_the_old_shape_still_loads_and_finishes(shipped: dict[str, Playbook]) -> None:
    closing = shipped["closing"]
    state = _closing_to_first_try(closing)
    old = {"trail": list(state.trail), "answers": dict(state.answers), "finished": False}
    loaded = RunState.from_json(old)
    done = _go(
        closing,
        loaded,
        _pick(closing, "result", "lost"),
        NEXT,
        _pick(closing, "persist_next", "keep"),
        "不要了",
    )
    records = [a for a in engine.actions(closing, done, today=TODAY) if isinstance(a, OutcomeRecord)]
    assert [(r.values.get("method"), r.values.get("result")) for r in records] == [("contest", "lost")]


# ---------------------------------------------------------------- 5: a lost deal, not a lost customer


def test_a_lost_deal_leaves_a_paying_customer_a_customer() -> None:
    assert card.stage_after_lost_deal("closing", paying=True) == Stage.AFTER_SALES
    assert card.stage_after_lost_deal("objections", paying=True) == Stage.AFTER_SALES
    assert card.stage_after_lost_deal("won", paying=True) == Stage.WON
    assert card.stage_after_lost_deal("closing", paying=False) == Stage.LOST


@pytest.mark.parametrize("playbook_id", ["closing", "objection"])
def test_every_lost_deal_sets_a_follow_up(shipped: dict[str, Playbook], playbook_id: str) -> None:
    playbook = shipped[playbook_id]
    if playbook_id == "closing":
        state = _closing_to_first_try(playbook)
        state = _go(
            playbook, state, _pick(playbook, "result", "lost"), NEXT, _pick(playbook, "persist_next", "keep")
        )
        state = _go(playbook, state, "不要了")
    else:
        state = _go(
            playbook, engine.begin(playbook), NEXT, NEXT, "太贵了", _pick(playbook, "type", "price"), NEXT
        )
        state = _go(
            playbook, state, _pick(playbook, "m_price", "yes_but"), NEXT, _pick(playbook, "result", "lost")
        )
    assert state.finished
    actions = engine.actions(playbook, state, today=TODAY)
    assert StageChange("lost") in actions
    assert any(isinstance(a, Reminder) and a.due > TODAY for a in actions), actions


# ---------------------------------------------------------------- 6: typed answers at a choice


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("时机", "timing"),
        ("价格", "price"),
        ("shiji", "timing"),
        ("sj", "timing"),
        ("jiage", "price"),
        ("7", "timing"),
        ("７", "timing"),
        ("Timing", "timing"),
        ("tim", "timing"),
        ("not now", "timing"),
        ("销售", "salesperson"),
    ],
)
def test_a_typed_answer_finds_its_option(shipped: dict[str, Playbook], typed: str, expected: str) -> None:
    objection = shipped["objection"]
    state = _go(objection, engine.begin(objection), NEXT, NEXT, "太贵了")
    assert state.step == "type"
    assert _go(objection, state, typed).answers["type"] == expected


@pytest.mark.parametrize(("typed", "matches"), [("p", ["price", "product"]), ("财", ["money"])])
def test_a_typed_answer_that_fits_several_options_asks_which(
    shipped: dict[str, Playbook], typed: str, matches: list[str]
) -> None:
    objection = shipped["objection"]
    state = _go(objection, engine.begin(objection), NEXT, NEXT, "太贵了")
    outcome = engine.advance(objection, state, Given("text", typed), today=TODAY)
    if len(matches) == 1:
        assert outcome.state.answers["type"] == matches[0]
        return
    assert outcome.error is not None and outcome.error.key == "playbook.which_option"
    assert [o.id for o in outcome.error.params["options"]] == matches
    assert outcome.state is state


def test_a_typed_answer_is_read_against_the_labels_the_rep_sees(shipped: dict[str, Playbook]) -> None:
    objection = shipped["objection"]
    state = _go(objection, engine.begin(objection), NEXT, NEXT, "太贵了")
    for typed, lang, expected in (
        ("not now", "en", "timing"),
        ("sj", "zh", "timing"),
        ("时机", "zh", "timing"),
    ):
        outcome = engine.advance(objection, state, Given("text", typed), today=TODAY, lang=lang)
        assert outcome.error is None and outcome.state.answers["type"] == expected, (typed, lang)
    for typed, lang in (("not now", "zh"), ("sj", "en")):
        outcome = engine.advance(objection, state, Given("text", typed), today=TODAY, lang=lang)
        assert outcome.error is not None and outcome.error.key == "playbook.use_buttons", (typed, lang)


def test_pinyin_inside_a_label_counts_when_nothing_starts_with_it(shipped: dict[str, Playbook]) -> None:
    approach = shipped["approach"]
    state = _go(approach, engine.begin(approach), NEXT, Given("done"), NEXT, "我们做节能空压机")
    assert state.step == "customer_type"
    assert _go(approach, state, "jg").answers["customer_type"] == "price"  # 看重价格和成本
    outcome = engine.advance(approach, state, Given("text", "kz"), today=TODAY, lang="zh")
    assert outcome.error is not None and outcome.error.key == "playbook.which_option"  # 看重… all five


def test_a_typed_number_is_the_button_as_shown(shipped: dict[str, Playbook]) -> None:
    """Options ranked by wins are shown in another order: the number counts what the rep sees."""
    objection = shipped["objection"]
    state = _go(
        objection, engine.begin(objection), NEXT, NEXT, "太贵了", _pick(objection, "type", "price"), NEXT
    )
    assert state.step == "m_price"
    shown = [i for i, *_ in engine.ranked(objection.step("m_price"), {"ignore": (3, 3)})]
    outcome = engine.advance(objection, state, Given("text", "1"), today=TODAY, shown=shown)
    assert outcome.state.answers["method"] == "ignore"
    nothing = engine.advance(objection, state, Given("text", "xyz"), today=TODAY)
    assert nothing.error is not None and nothing.error.key == "playbook.use_buttons"


# ---------------------------------------------------------------- 9: scripts use what was answered


def _approach_answers(visit: str) -> dict[str, Any]:
    return {"intro": "我们做节能空压机", "visit_date": visit}


@pytest.mark.parametrize(
    "step_id", ["open_quality", "open_price", "open_service", "open_status", "open_relation"]
)
def test_the_opening_proposes_the_visit_date_that_was_given(
    shipped: dict[str, Playbook], step_id: str
) -> None:
    step = shipped["approach"].step(step_id)
    zh = render_text(step.script.zh, customer="陈静", answers=_approach_answers("周三"))
    assert "周三" in zh and "周四" not in zh and "周五" not in zh and "这周" not in zh
    en = render_text(step.script.en, customer="Chen", answers=_approach_answers("Wednesday"))
    assert "Wednesday" in en and "Thursday" not in en and "Friday" not in en and "this week" not in en
