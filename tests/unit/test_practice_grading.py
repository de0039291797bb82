"""Grading: a rep's first answers to a drill's parts become again / hard / good for the schedule."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fsrs import Rating

from bot.practice.check import load_all
from bot.practice.grading import Grade, expected, grade, is_right
from bot.practice.model import COMPLAINT_STEPS, Drill, FloorDrill

DRILLS = load_all(Path(__file__).resolve().parents[1] / "fixtures" / "drills" / "good")


def drill(drill_id: str) -> Drill:
    found = DRILLS.get(drill_id)
    assert found is not None
    return found


def test_objection_two_parts() -> None:
    objection = drill("fx_price_online")
    assert expected(objection) == {"type": "price", "method": "compensate"}
    assert grade(objection, {"type": "price", "method": "compensate"}) == Grade(Rating.Good, 2, 2)
    assert grade(objection, {"type": "price", "method": "rebut"}) == Grade(Rating.Hard, 1, 2)
    assert grade(objection, {"type": "money", "method": "compensate"}) == Grade(Rating.Hard, 1, 2)
    assert grade(objection, {"type": "money", "method": "rebut"}) == Grade(Rating.Again, 0, 2)
    assert grade(objection, {"type": "price"}) == Grade(Rating.Hard, 1, 2)  # a part not answered is wrong


def test_signal_with_a_method_and_a_trap_without() -> None:
    signal = drill("fx_asks_delivery")
    assert grade(signal, {"signal": "asks_terms", "method": "alternative"}).rating is Rating.Good
    assert grade(signal, {"signal": "asks_use", "method": "alternative"}) == Grade(Rating.Hard, 1, 2)
    # Said "not a signal" to a real one: the method was never asked, so it counts as wrong.
    assert grade(signal, {"signal": "none"}) == Grade(Rating.Again, 0, 2)
    trap = drill("fx_small_talk")
    assert expected(trap) == {"signal": "none"}
    assert grade(trap, {"signal": "none"}) == Grade(Rating.Good, 1, 1)
    assert grade(trap, {"signal": "praises"}) == Grade(Rating.Again, 0, 1)


@pytest.mark.parametrize(
    ("drill_id", "part", "right", "wrong"),
    [
        ("fx_risk_worry", "method", "guarantee", "contest"),
        ("fx_wants_respect", "need", "respect", "fast_fix"),
    ],
)
def test_one_part_kinds_are_good_or_again(drill_id: str, part: str, right: str, wrong: str) -> None:
    one = drill(drill_id)
    assert grade(one, {part: right}) == Grade(Rating.Good, 1, 1)
    assert grade(one, {part: wrong}) == Grade(Rating.Again, 0, 1)
    assert is_right(one, part, right) and not is_right(one, part, wrong)


def test_choice_even_when_retired() -> None:
    choice = drill("fx_first_impression")
    assert grade(choice, {"answer": "a"}).rating is Rating.Good
    assert grade(choice, {"answer": "b"}).rating is Rating.Again


def test_complaint_steps_count_the_steps_in_their_place() -> None:
    steps = drill("fx_late_delivery_steps")
    order = list(COMPLAINT_STEPS)
    assert grade(steps, {"order": order}) == Grade(Rating.Good, 6, 6)
    swapped = [order[1], order[0], *order[2:]]  # sympathised before listening
    assert grade(steps, {"order": swapped}) == Grade(Rating.Hard, 4, 6)
    rotated = [*order[3:], *order[:3]]
    assert grade(steps, {"order": rotated}) == Grade(Rating.Again, 0, 6)
    two_swaps = [order[1], order[0], order[3], order[2], *order[4:]]
    assert grade(steps, {"order": two_swaps}) == Grade(Rating.Again, 2, 6)
    assert grade(steps, {"order": order[:5]}) == Grade(Rating.Hard, 5, 6)  # stopped before the last
    assert is_right(steps, "order", order) and not is_right(steps, "order", swapped)


def test_qualify_five_ratings() -> None:
    case = drill("fx_factory_case")
    right = {"need": "yes", "volume": "yes", "power": "yes", "credit": "yes", "authority": "no"}
    assert expected(case) == right
    assert grade(case, right) == Grade(Rating.Good, 5, 5)
    assert grade(case, right | {"authority": "unknown"}) == Grade(Rating.Hard, 4, 5)
    assert grade(case, right | {"authority": "yes", "credit": "unknown"}) == Grade(Rating.Hard, 3, 5)
    assert grade(case, right | {"authority": "yes", "credit": "no", "power": "no"}) == Grade(
        Rating.Again, 2, 5
    )


def test_listening_is_graded_by_the_rep() -> None:
    listening = drill("fx_too_busy")
    assert expected(listening) == {}
    assert grade(listening, {"self": "again"}) == Grade(Rating.Again, 0, 1)
    assert grade(listening, {"self": "hard"}) == Grade(Rating.Hard, 0, 1)
    assert grade(listening, {"self": "good"}) == Grade(Rating.Good, 1, 1)
    assert grade(listening, {"self": "easy"}) == Grade(Rating.Easy, 1, 1)
    with pytest.raises(ValueError, match="graded by the rep"):
        grade(listening, {"type": "price"})
    with pytest.raises(ValueError, match="no part"):
        is_right(listening, "self", "good")


def test_floor_drills_are_graded_like_their_kind() -> None:
    common = {
        "team_drill_id": 1,
        "words": "太贵了",
        "signals": (),
        "proposed_by": 7,
        "proposer": "Amy",
        "recorded_at": datetime(2026, 11, 1, tzinfo=UTC),
    }
    objection = FloorDrill(
        id="team_1",
        kind="objection",
        covers=("objection.type.price", "objection.method.yes_but"),
        type="price",
        method="yes_but",
        options=(),
        **common,  # type: ignore[arg-type]
    )
    assert grade(objection, {"type": "price", "method": "yes_but"}) == Grade(Rating.Good, 2, 2)
    assert grade(objection, {"type": "need", "method": "yes_but"}) == Grade(Rating.Hard, 1, 2)
    closing = FloorDrill(
        id="team_2",
        kind="closing",
        covers=("closing.method.direct",),
        type=None,
        method="direct",
        options=("direct", "hint", "contest"),
        **common,  # type: ignore[arg-type]
    )
    assert expected(closing) == {"method": "direct"}
    assert grade(closing, {"method": "hint"}) == Grade(Rating.Again, 0, 1)
