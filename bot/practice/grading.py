"""How a rep's answers to a drill become a grade (an fsrs `Rating`) for their schedule.

A drill answered with buttons is graded by the bot from its **parts**, each answered once
(only the first try counts; the bot may let the rep try again after showing why):

| kind | parts | good | hard | again |
|---|---|---|---|---|
| `objection` | `type`, `method` | both right | one right | none right |
| `signal` | `signal`, `method` (only `signal` when it is "none") | both right | one right | none |
| `closing` | `method` | right | – | wrong |
| `complaint_steps` | `order`: the six steps as tapped, each in its place or not | 6 | 4 or 5 | fewer |
| `complaint_need` | `need` | right | – | wrong |
| `qualify` | the five factors | 5 | 3 or 4 | fewer |
| `choice` | `answer` | right | – | wrong |
| `listening` | `self`: the rep's own grade, again / hard / good / easy | | | |

A floor drill is graded like its kind (`objection`: type and method; `closing`: method).
A signal drill whose signal the rep missed ("none" for a real signal) never shows its
method: that part counts as wrong. A listening drill's `correct` is 1 when the rep graded
it good or easy, 0 otherwise (its `total` is 1), so "share right" reads alike everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fsrs import Rating

from bot.practice.model import (
    COMPLAINT_STEPS,
    FACTORS,
    NO_SIGNAL,
    ChoiceDrill,
    ClosingDrill,
    ComplaintNeedDrill,
    ComplaintStepsDrill,
    Drill,
    FloorDrill,
    ListeningDrill,
    ObjectionDrill,
    QualifyDrill,
    SignalDrill,
)

SELF_GRADES: dict[str, Rating] = {
    "again": Rating.Again,
    "hard": Rating.Hard,
    "good": Rating.Good,
    "easy": Rating.Easy,
}
# Steps in their right place for `hard` (all six for `good`); factors rated right likewise.
STEPS_HARD = 4
FACTORS_HARD = 3

Answer = str | Sequence[str]


@dataclass(frozen=True)
class Grade:
    """The rating for the schedule, and how many parts were right out of how many."""

    rating: Rating
    correct: int
    total: int


def expected(drill: Drill) -> dict[str, Answer]:
    """Each part of a button drill and its right answer (empty for a listening drill)."""
    match drill:
        case ObjectionDrill() | FloorDrill(kind="objection"):
            assert drill.type is not None
            return {"type": drill.type, "method": drill.method}
        case SignalDrill():
            if drill.signal == NO_SIGNAL or drill.method is None:
                return {"signal": drill.signal}
            return {"signal": drill.signal, "method": drill.method}
        case ClosingDrill() | FloorDrill():
            return {"method": drill.method}
        case ComplaintStepsDrill():
            return {"order": tuple(step for step, _ in drill.steps)}
        case ComplaintNeedDrill():
            return {"need": drill.need}
        case QualifyDrill():
            return dict(drill.ratings)
        case ChoiceDrill():
            return {"answer": drill.answer}
        case ListeningDrill():
            return {}
    raise ValueError(f"no parts for a drill of kind {drill.kind!r}")


def is_right(drill: Drill, part: str, given: Answer) -> bool:
    """Whether one part was answered right (what the bot says after each button)."""
    right = expected(drill).get(part)
    if right is None:
        raise ValueError(f"a {drill.kind} drill has no part {part!r}")
    if isinstance(right, str):
        return given == right
    return tuple(given) == tuple(right)


def grade(drill: Drill, answers: Mapping[str, Answer]) -> Grade:
    """The grade of a drill from the rep's first answers to its parts (a part not answered is wrong).

    A listening drill takes `{"self": "again" | "hard" | "good" | "easy"}`.
    """
    if isinstance(drill, ListeningDrill):
        rating = SELF_GRADES.get(str(answers.get("self")))
        if rating is None:
            raise ValueError(f"a listening drill is graded by the rep: one of {', '.join(SELF_GRADES)}")
        return Grade(rating, int(rating >= Rating.Good), 1)
    parts = expected(drill)
    if isinstance(drill, ComplaintStepsDrill):
        given = tuple(answers.get("order", ()))
        placed = sum(
            1 for place, step in enumerate(COMPLAINT_STEPS) if place < len(given) and given[place] == step
        )
        total = len(COMPLAINT_STEPS)
        return Grade(_by_count(placed, total, STEPS_HARD), placed, total)
    correct = sum(1 for part, right in parts.items() if part in answers and _same(answers[part], right))
    total = len(parts)
    if isinstance(drill, QualifyDrill):
        return Grade(_by_count(correct, len(FACTORS), FACTORS_HARD), correct, total)
    return Grade(_by_count(correct, total, 1), correct, total)


def _same(given: Answer, right: Answer) -> bool:
    if isinstance(right, str):
        return given == right
    return not isinstance(given, str) and tuple(given) == tuple(right)


def _by_count(correct: int, total: int, hard_from: int) -> Rating:
    """Good when everything is right, hard from `hard_from` right parts, again below."""
    if correct >= total:
        return Rating.Good
    if correct >= hard_from:
        return Rating.Hard
    return Rating.Again
