"""What a finished run does: the actions it takes on the card, computed from its trail,
and the answers its summary lists.

Pure: the engine computes nothing of this until a run ends, so Back never has to undo
anything and an abandoned run changes nothing. `bot.services.playbooks.finish_run`
applies the actions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bot.domain import card
from bot.playbooks.model import ASKS, End, Playbook, Record, Remind, Sale, SetField, SetGrade, SetStage

if TYPE_CHECKING:
    from bot.playbooks.engine import RunState


@dataclass(frozen=True)
class FieldChange:
    """Write a card field (as typed, so the card's own rules read it), in a write mode."""

    key: str
    value: str
    mode: str = card.APPEND


@dataclass(frozen=True)
class StageChange:
    """Move the customer to a stage (`lost`: a lost deal, unless the customer is lost)."""

    stage: str
    customer_lost: bool = False


@dataclass(frozen=True)
class GradeChange:
    """Suggest a grade (the rep's own grade, and revenue, come first)."""

    grade: str


@dataclass(frozen=True)
class Reminder:
    """A follow-up task for the rep; its text is the step's, in the rep's language."""

    step: str
    due: date
    # A date the rep gave is kept as given; "in N days" moves off the team's days off.
    typed: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class OutcomeRecord:
    """An outcome for the team's statistics."""

    kind: str
    values: Mapping[str, str]


@dataclass(frozen=True)
class PurchaseMade:
    """A sale, recorded as the card's purchase button records it."""

    amount: str
    items: str


Action = FieldChange | StageChange | GradeChange | Reminder | OutcomeRecord | PurchaseMade


def actions(playbook: Playbook, state: RunState, *, today: date) -> list[Action]:
    """What a finished run does, in the order its steps were passed."""
    out: list[Action] = []
    answers = state.answers
    for position, step_id in enumerate(state.trail):
        step = playbook.step(step_id)
        if isinstance(step, SetField | SetStage | SetGrade):
            value = _written(step, answers)
            if value is None:
                continue
            if isinstance(step, SetField):
                out.append(FieldChange(step.field, value, card.write_mode(card.field(step.field), step.mode)))
            elif isinstance(step, SetStage):
                out.append(StageChange(value, step.customer_lost))
            else:
                out.append(GradeChange(value))
        elif isinstance(step, Remind):
            due = today + timedelta(days=step.in_days) if step.in_days is not None else None
            if step.source is not None:
                given = answers.get(step.source)
                due = date.fromisoformat(given["on"]) if isinstance(given, dict) else None
            if due is not None:
                out.append(Reminder(step.id, due, typed=step.source is not None))
        elif isinstance(step, Record):
            values = state.records.get(position)
            out.append(
                OutcomeRecord(step.record, values if values is not None else record_values(step, answers))
            )
        elif isinstance(step, Sale):
            amount = answers.get(step.amount)
            if amount not in (None, "") and Decimal(str(amount)) > 0:
                items = answers.get(step.items) if step.items else None
                out.append(PurchaseMade(str(amount), str(items or "")))
    return out


def record_values(step: Record, answers: Mapping[str, Any]) -> dict[str, str]:
    """What an outcome record step records from these answers (its fixed values, then answers)."""
    values = dict(step.values)
    for column, key in step.fields.items():
        value = answers.get(key)
        if isinstance(value, dict):
            value = value.get("on")
        if value not in (None, "", []):
            values[column] = str(value)
    return values


def _written(step: SetField | SetStage | SetGrade, answers: Mapping[str, Any]) -> str | None:
    if isinstance(step, SetField):
        fixed = step.value
    else:
        fixed = step.stage if isinstance(step, SetStage) else step.grade
    if fixed is not None:
        return fixed
    value = answers.get(step.source or "")
    if value in (None, "", []):
        return None
    if isinstance(value, dict):
        value = value.get("typed")
    if step.map:
        return step.map.get(str(value))
    return str(value)


def outcome(playbook: Playbook, state: RunState) -> str | None:
    """The outcome id of a finished run."""
    step = playbook.step(state.step)
    return step.outcome if isinstance(step, End) else None


def answered(playbook: Playbook, state: RunState) -> list[tuple[Any, Any]]:
    """The (step, answer) pairs along the trail, in order, for the summary."""
    seen: set[str] = set()
    out = []
    for step_id in state.trail:
        step = playbook.step(step_id)
        if isinstance(step, ASKS) and step.key not in seen and step.key in state.answers:
            seen.add(step.key)
            out.append((step, state.answers[step.key]))
    return out


def earlier(state: RunState, key: str) -> list[Any]:
    """Answers a key had before its last one on this way through (a method tried before another)."""
    out: list[Any] = []
    for position in sorted(state.prior):
        before = state.prior[position]
        if before.get("key") == key and "value" in before and (not out or out[-1] != before["value"]):
            out.append(before["value"])
    return out
