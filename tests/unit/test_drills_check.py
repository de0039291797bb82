"""The drill checker: every rule of drills/README.md refused with `file: drill: what is wrong`.

The broken files are in tests/fixtures/drills/broken/, one rule per drill; the good one
(tests/fixtures/drills/good/) has a drill of every kind.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot import app
from bot.cli import main
from bot.config import Settings
from bot.practice import check
from bot.practice.check import DrillError, Drills, check_files, drill_files, load_all, load_file
from bot.practice.model import (
    ChoiceDrill,
    ComplaintStepsDrill,
    ObjectionDrill,
    QualifyDrill,
    SignalDrill,
    Text,
)
from bot.storage.db import make_engine, make_session_factory

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "drills"
GOOD = FIXTURES / "good" / "all_kinds.toml"
BROKEN = FIXTURES / "broken"

EXPECTED = {
    "ids.toml": [
        "ids.toml: #1: id is missing",
        "ids.toml: Too-Busy: id 'Too-Busy' must be lowercase ASCII letters, digits and "
        "_, at most 40 characters",
        "ids.toml: team_7: id 'team_7' starts with 'team_', which is kept for drills from the team's floor",
        "ids.toml: twice: id is used again in this file",
        "ids.toml: no_kind: kind is missing",
        "ids.toml: odd_kind: kind 'riddle' is not one of objection, signal, closing, complaint_steps, "
        "complaint_need, qualify, listening, choice",
        "ids.toml: extra_field: unknown field 'why' (a listening drill has prompt, hint, model)",
        "ids.toml: bad_retired: retired must be true or false",
    ],
    "covers.toml": [
        "covers.toml: no_covers: covers is missing",
        "covers.toml: no_covers: covers must include 'complaint.need.respect'",
        "covers.toml: empty_covers: covers is empty (its first id names the drill's topic)",
        "covers.toml: unknown_technique: covers: 'complaint.need.hugs' is not a technique of "
        "bot/domain/methodology.py",
        "covers.toml: listed_twice: covers: 'complaint.need.respect' is listed twice",
        "covers.toml: objection_without_method: covers must include 'objection.method.compensate'",
        "covers.toml: signal_without_signal: covers must include 'closing.signal.praises'",
        "covers.toml: qualify_four_factors: covers must include 'qualify.factor.authority'",
        "covers.toml: listening_untagged: covers must include 'objection.listening.agree_then_guide'",
        *(
            f"covers.toml: steps_untagged: covers must include 'complaint.step.{step}'"
            for step in ("sympathise", "apologise", "propose", "carry_out", "review")
        ),
    ],
    "texts.toml": [
        "texts.toml: no_model: model is missing",
        "texts.toml: only_chinese: prompt has no en text",
        "texts.toml: french_too: prompt.fr is not one of the languages (zh, en)",
        "texts.toml: plain_string: prompt must have a zh and an en text (prompt.zh, prompt.en)",
        "texts.toml: empty_text: why.zh is empty",
        "texts.toml: long_model: model.en has 280 characters (at most 256)",
        "texts.toml: html: prompt.en has markup ('<b>'): drills are plain text",
        "texts.toml: markdown: why.zh has markup ('**'): drills are plain text",
        "texts.toml: jinja: model.zh has markup ('{{'): drills are plain text",
        "texts.toml: long_step: steps.listen.en has 51 characters (at most 48)",
    ],
    "values.toml": [
        "values.toml: price_cheaper_online: covers: 'objection.type.cost' is not a technique of "
        "bot/domain/methodology.py",
        "values.toml: price_cheaper_online: type 'cost' is not one of need, money, "
        "authority, price, product, "
        "salesperson, timing",
        # The README's own example.
        "values.toml: price_cheaper_online: method 'yes_butt' is not one of yes_but, boomerang, compensate, "
        "tactful, merge, rebut, ignore",
        "values.toml: odd_signal: signal 'winks' is not one of praises, asks_use, "
        "asks_terms, asks_references, "
        "handles_form, touches, voice_firm, relaxes, tries, none",
        "values.toml: none_with_method: method is left out when signal is 'none'",
        "values.toml: none_with_method: model is left out when signal is 'none'",
        "values.toml: signal_without_options: options is missing",
        "values.toml: two_options: options must be a list of 3 or 4 closing methods",
        "values.toml: odd_options: options: 'bribe' is not one of direct, hint, frank, "
        "assumptive, alternative, "
        "minor_point, guarantee, benefit_summary, precondition, weakness, sedan_chair, contest",
        "values.toml: odd_options: options: 'hint' is listed twice",
        "values.toml: odd_options: options must include the method 'direct'",
        "values.toml: odd_need: need 'hug' is not one of fast_fix, respect, explanation, "
        "compensation, assurance",
        "values.toml: odd_rating: volume 'maybe' is not one of yes, no, unknown",
        "values.toml: odd_rating: authority is missing",
        "values.toml: odd_steps: steps.blame is not one of listen, sympathise, "
        "apologise, propose, carry_out, review",
        "values.toml: odd_steps: steps.review is missing",
        "values.toml: one_option: options must be a list of 2 to 5 options",
        "values.toml: odd_choice: options.a: unknown field 'colour'",
        "values.toml: odd_choice: options: id 'a' is used twice",
        "values.toml: odd_choice: options #3: id 'C' must be lowercase ASCII letters, digits and _",
        "values.toml: odd_choice: options.d.label.en has 57 characters (at most 48)",
        "values.toml: odd_choice: answer 'e' is not one of the options (a, d)",
    ],
    "no_drills.toml": [
        "no_drills.toml: unknown key 'title' (drills are [[drill]] tables)",
        "no_drills.toml: has no drills ([[drill]] tables)",
    ],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_broken_file_is_refused_with_exactly_its_problems(name: str) -> None:
    drills, problems = load_file(BROKEN / name)
    assert [str(p) for p in problems] == EXPECTED[name]
    # A broken drill is never loaded; of two with one id, the first one is.
    assert [drill.id for drill in drills] == (["twice"] if name == "ids.toml" else [])


def test_a_file_that_is_not_toml_is_named() -> None:
    _, problems = load_file(BROKEN / "not_toml.toml")
    assert [str(p).split(" (at")[0] for p in problems] == [
        "not_toml.toml: not valid TOML: Expected ']]' at the end of an array declaration"
    ]


def test_an_id_is_unique_across_files() -> None:
    drills, problems = check_files([GOOD, BROKEN / "duplicate.toml"])
    assert [str(p) for p in problems] == [
        "duplicate.toml: fx_too_busy: id is used again (first in all_kinds.toml)"
    ]
    assert drills.get("fx_too_busy") is not None  # the first one stays


def test_the_good_file_loads_every_kind_with_its_fields() -> None:
    drills = load_all(GOOD.parent)
    assert len(drills) == 9 and len(drills.active()) == 8  # one is retired
    assert {d.kind for d in drills} == set(check.FIELDS)
    objection = drills.get("fx_price_online")
    assert isinstance(objection, ObjectionDrill)
    assert (objection.type, objection.method, objection.topic) == ("price", "compensate", "objection")
    assert objection.prompt.get("en").startswith("Customer:") and objection.prompt.get("zh").startswith(
        "客户"
    )
    trap = drills.get("fx_small_talk")
    assert isinstance(trap, SignalDrill)
    assert (trap.signal, trap.method, trap.options, trap.model) == ("none", None, (), None)
    assert trap.topic == "closing"
    steps = drills.get("fx_late_delivery_steps")
    assert isinstance(steps, ComplaintStepsDrill)
    assert [step for step, _ in steps.steps] == [
        "listen",
        "sympathise",
        "apologise",
        "propose",
        "carry_out",
        "review",
    ]
    qualify = drills.get("fx_factory_case")
    assert isinstance(qualify, QualifyDrill)
    assert qualify.rating("authority") == "no" and qualify.topic == "qualify"
    choice = drills.get("fx_first_impression")
    assert isinstance(choice, ChoiceDrill) and choice.retired
    assert [o.id for o in choice.options] == ["a", "b", "c"] and choice.answer == "a"
    assert choice not in drills.active() and choice.topic == "approach"


def test_the_topic_is_the_area_of_the_first_covers_id() -> None:
    drills = load_all(GOOD.parent)
    assert {d.id: d.topic for d in drills} == {
        "fx_price_online": "objection",
        "fx_asks_delivery": "closing",
        "fx_small_talk": "closing",
        "fx_risk_worry": "closing",
        "fx_late_delivery_steps": "complaint",
        "fx_wants_respect": "complaint",
        "fx_factory_case": "qualify",
        "fx_too_busy": "objection",  # a listening drill: objection.listening.*
        "fx_first_impression": "approach",
    }
    assert [d.id for d in drills.by_topic("closing")] == [
        "fx_asks_delivery",
        "fx_small_talk",
        "fx_risk_worry",
    ]
    assert [d.id for d in drills.by_kind("signal")] == ["fx_asks_delivery", "fx_small_talk"]
    assert drills.by_topic("approach") == []  # its only drill is retired
    same = ObjectionDrill(
        id="x",
        covers=("objection.method.ignore", "objection.type.price"),
        prompt=Text("a", "b"),
        type="price",
        method="ignore",
        why=Text("a", "b"),
        why_not=Text("a", "b"),
        model=Text("a", "b"),
    )
    assert same.topic == "objection" and same.kind == "objection"


def test_an_empty_folder_has_no_drills(tmp_path: Path) -> None:
    drills = load_all(tmp_path)
    assert len(drills) == 0 and drills.active() == []
    assert drill_files(tmp_path) == []


def test_load_all_refuses_a_folder_with_a_broken_file(tmp_path: Path) -> None:
    (tmp_path / "good.toml").write_bytes(GOOD.read_bytes())
    (tmp_path / "texts.toml").write_bytes((BROKEN / "texts.toml").read_bytes())
    with pytest.raises(DrillError) as refused:
        load_all(tmp_path)
    assert str(refused.value).splitlines() == EXPECTED["texts.toml"]


def test_the_bot_refuses_to_start_on_a_broken_drill_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "texts.toml").write_bytes((BROKEN / "texts.toml").read_bytes())
    monkeypatch.setattr(check, "DRILLS", tmp_path)
    sessions = make_session_factory(make_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"))
    wiring = app.Wiring(settings=Settings(), sessions=sessions)
    with pytest.raises(DrillError) as refused:
        app.build_services(wiring)
    assert "texts.toml: html: prompt.en has markup ('<b>'): drills are plain text" in str(refused.value)
    (tmp_path / "texts.toml").write_bytes(GOOD.read_bytes())
    assert len(app.build_services(wiring).drills) == 9


def test_the_shipped_folder_loads() -> None:
    _, problems = check_files(drill_files())
    assert problems == []
    assert isinstance(load_all(), Drills)


def test_drills_check_command() -> None:
    runner = CliRunner()
    good = runner.invoke(main, ["drills", "check", str(GOOD)])
    assert good.exit_code == 0, good.output
    assert good.stdout == (
        "1 file(s) OK: 8 drill(s); kinds: objection 1, signal 2, closing 1, "
        "complaint_steps 1, complaint_need 1, "
        "qualify 1, listening 1; topics: qualify 1, objection 2, closing 3, complaint 2; 1 retired\n"
    )
    bad = runner.invoke(
        main, ["drills", "check", str(GOOD), str(BROKEN / "duplicate.toml"), str(BROKEN / "ids.toml")]
    )
    assert bad.exit_code == 1
    assert bad.stderr.splitlines() == [
        "duplicate.toml: fx_too_busy: id is used again (first in all_kinds.toml)",
        *EXPECTED["ids.toml"],
        "9 problem(s) in 3 file(s)",
    ]
    assert bad.stdout == ""
    everything = runner.invoke(main, ["drills", "check"])  # drills/ as shipped
    assert everything.exit_code == 0, everything.output
    assert "file(s) OK" in everything.stdout
