"""The playbook engine: a pure function from (playbook, saved run, input) to the next run.

Nothing here touches the database or Telegram. A run is the list of steps passed
(`trail`, the current step last) and the answers given. Silent steps (branches,
writes, reminders, records) are passed on the way to the next step the rep sees.
What a run does to the card is computed only when it ends (`actions`, in
`bot.playbooks.effects`), from the trail, so Back never has to undo anything and an
abandoned run changes nothing. Typed answers are read by `bot.playbooks.typed`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from bot.domain.errors import InvalidInput
from bot.playbooks.effects import (
    Action,
    FieldChange,
    GradeChange,
    OutcomeRecord,
    PurchaseMade,
    Reminder,
    StageChange,
    actions,
    answered,
    earlier,
    outcome,
    record_values,
)
from bot.playbooks.model import (
    ASKS,
    SHOWN,
    Branch,
    Checklist,
    Choice,
    Condition,
    DateAnswer,
    End,
    FreeText,
    Number,
    Playbook,
    Record,
    Scale,
    Tip,
)
from bot.playbooks.typed import (
    FieldCheck,
    date_answer,
    fields_fed_by,
    free_text,
    number,
    score,
    typed_option,
    typed_ticks,
)

# The engine's whole API; what a finished run does (`actions`) and how typed answers are
# read live in `effects` and `typed`, and are reached through here too.
__all__ = [
    "CALLBACK_MAX_BYTES",
    "CALLBACK_PREFIX",
    "RECORD_COLUMNS",
    "RECORD_KINDS",
    "RESULTS",
    "SEQ_MODULO",
    "WINNING",
    "Action",
    "FieldChange",
    "FieldCheck",
    "Given",
    "GradeChange",
    "Outcome",
    "OutcomeRecord",
    "PurchaseMade",
    "Reminder",
    "RunState",
    "StageChange",
    "actions",
    "advance",
    "answered",
    "begin",
    "button_data",
    "earlier",
    "fields_fed_by",
    "holds",
    "outcome",
    "ranked",
    "typed_option",
    "widest_callback",
]

# Outcome records: their kinds, their columns (and which answers may fill each), results.
RECORD_KINDS: dict[str, str] = {
    "objection": "an objection met, the method used and how it went",
    "closing": "a closing attempt, the method used and the outcome",
    "complaint": "a complaint with the date it must be resolved by",
    "revisit": "an after-sale revisit and the customer's satisfaction",
    "winback": "an attempt to win back a customer at risk",
}
RECORD_COLUMNS: dict[str, tuple[type, ...]] = {
    "type": (Choice,),
    "words": (FreeText,),
    "method": (Choice,),
    "result": (Choice,),
    "amount": (Number,),
    "reason": (FreeText, Choice),
    "due_on": (DateAnswer,),
    "score": (Scale,),
}
RESULTS = ("won", "resolved", "partly", "pending", "follow_up", "lost")
WINNING = frozenset({"won", "resolved"})

CALLBACK_PREFIX = "pb"
CALLBACK_MAX_BYTES = 64
SEQ_MODULO = 10000  # the run's change counter as buttons carry it
_WIDEST_ID = 2**31 - 1
SILENT_HOPS_MAX = 200


def button_data(customer_id: int, run_id: int, seq: int, action: str, arg: int | str = "") -> str:
    """A playbook button's callback data: `pb:<customer>:<run>:<seq>:<action>:<arg>`."""
    return f"{CALLBACK_PREFIX}:{customer_id}:{run_id}:{seq % SEQ_MODULO}:{action}:{arg}"


def widest_callback(options: int) -> int:
    """The longest callback data a step with this many options can produce, in bytes."""
    return len(button_data(_WIDEST_ID, _WIDEST_ID, SEQ_MODULO - 1, "p", max(options - 1, 0)).encode())


@dataclass(frozen=True)
class RunState:
    """Where a run is: the steps passed (current last) and the answers so far.

    Two notes by trail position keep a run that loops (a closing tried again with
    another method) honest: `prior` holds, for each position where an answer was
    given, the answer that key had before, so Back restores it rather than keeping the
    later one; `records` holds what each outcome record step passed recorded then, so
    every pass through it is a record of its own. Runs saved before these existed load
    with both empty and behave as they did.
    """

    trail: tuple[str, ...]
    answers: Mapping[str, Any] = field(default_factory=dict)
    finished: bool = False
    prior: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    records: Mapping[int, Mapping[str, str]] = field(default_factory=dict)

    @property
    def step(self) -> str:
        """The current step."""
        return self.trail[-1]

    def to_json(self) -> dict[str, Any]:
        """As stored in the database."""
        data: dict[str, Any] = {
            "trail": list(self.trail),
            "answers": dict(self.answers),
            "finished": self.finished,
        }
        if self.prior:
            data["prior"] = {str(i): dict(v) for i, v in self.prior.items()}
        if self.records:
            data["records"] = {str(i): dict(v) for i, v in self.records.items()}
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunState:
        """From the database (runs saved before `prior` and `records` existed too)."""
        return cls(
            tuple(data["trail"]),
            dict(data.get("answers", {})),
            bool(data.get("finished")),
            {int(i): dict(v) for i, v in (data.get("prior") or {}).items()},
            {int(i): dict(v) for i, v in (data.get("records") or {}).items()},
        )


@dataclass(frozen=True)
class Given:
    """What the rep did: a button (`next`, `pick`, `toggle`, `done`, `skip`, `back`) or typed text."""

    action: str
    value: str = ""


@dataclass(frozen=True)
class Outcome:
    """The run after an input; `error` (the run unchanged) when the input could not be used."""

    state: RunState
    error: InvalidInput | None = None
    notice: str | None = None  # a catalogue key to show above the step (e.g. "at the start")


def _no_field_check(_key: str, _raw: str) -> None:
    return None


def begin(playbook: Playbook) -> RunState:
    """A new run, at the first step the rep sees."""
    return _settle(playbook, RunState((playbook.start,)))


def advance(
    playbook: Playbook,
    state: RunState,
    given: Given,
    *,
    today: date,
    check_field: FieldCheck = _no_field_check,
    shown: Sequence[int] | None = None,
    lang: str | None = None,
) -> Outcome:
    """Apply one input to a run.

    `shown` is the order the current choice's buttons are shown in (by option index),
    when it is not the file's (options ranked by wins), so a typed number means the
    button the rep sees at that place. `lang` is the language the rep reads the
    labels in: a typed answer is matched against those (all languages without it).
    """
    if state.finished:
        return Outcome(state, InvalidInput("error.stale"))
    step = playbook.step(state.step)
    if given.action == "back":
        return _back(playbook, state)
    try:
        if isinstance(step, Tip):
            if given.action == "text":
                raise InvalidInput("playbook.use_buttons")
            if given.action != "next":
                raise InvalidInput("error.stale")
            return Outcome(_goto(playbook, state, step.next, state.answers, None))
        if isinstance(step, End):
            raise InvalidInput("error.stale")
        assert isinstance(step, ASKS)
        if given.action == "skip":
            if not step.optional:
                raise InvalidInput("error.stale")
            answers = {k: v for k, v in state.answers.items() if k != step.key}
            return Outcome(_goto(playbook, state, _skip_target(step), answers, step.key))
        return _answer(
            playbook, state, step, given, today=today, check_field=check_field, shown=shown, lang=lang
        )
    except InvalidInput as error:
        return Outcome(state, error)


def _answer(
    playbook: Playbook,
    state: RunState,
    step: Any,
    given: Given,
    *,
    today: date,
    check_field: FieldCheck,
    shown: Sequence[int] | None,
    lang: str | None,
) -> Outcome:
    answers = dict(state.answers)
    if isinstance(step, Choice):
        option = _option(step, given, shown, lang)
        answers[step.key] = option.id
        return Outcome(_goto(playbook, state, option.next or step.next, answers, step.key))
    if isinstance(step, Checklist):
        ticked = list(answers.get(step.key, []))
        if given.action in ("toggle", "text"):
            picked = (
                [_option(step, given)] if given.action == "toggle" else typed_ticks(step, given.value, lang)
            )
            for option in picked:
                ticked = (
                    [t for t in ticked if t != option.id] if option.id in ticked else [*ticked, option.id]
                )
            answers[step.key] = [o.id for o in step.options if o.id in ticked]
            return Outcome(replace(state, answers=answers, prior=_prior(state, step.key)))
        if given.action == "done":
            if len(ticked) < step.min:
                raise InvalidInput("playbook.tick_more", count=step.min)
            answers[step.key] = ticked
            return Outcome(_goto(playbook, state, step.next, answers, step.key))
        raise InvalidInput("playbook.use_buttons")
    if given.action == "pick" and isinstance(step, Scale):
        answers[step.key] = score(given.value)
    elif given.action != "text":
        raise InvalidInput("error.stale")
    elif isinstance(step, Scale):
        answers[step.key] = score(given.value)
    elif isinstance(step, FreeText):
        answers[step.key] = free_text(playbook, step, given.value, check_field)
    elif isinstance(step, Number):
        answers[step.key] = number(step, given.value)
    elif isinstance(step, DateAnswer):
        answers[step.key] = date_answer(playbook, step, given.value, today, check_field)
    return Outcome(_goto(playbook, state, step.next, answers, step.key))


def _option(
    step: Choice | Checklist, given: Given, shown: Sequence[int] | None = None, lang: str | None = None
) -> Any:
    """The option a button names (by index), or the one a typed answer points at."""
    if given.action in ("pick", "toggle"):
        if given.value.isdigit() and int(given.value) < len(step.options):
            return step.options[int(given.value)]
        raise InvalidInput("error.stale")
    if given.action == "text":
        return typed_option(step, given.value, shown, lang)
    raise InvalidInput("playbook.use_buttons")


def _skip_target(step: Any) -> str | None:
    return step.next or (step.options[0].next if isinstance(step, Choice) and step.options else None)


def _prior(state: RunState, key: str) -> Mapping[int, Mapping[str, Any]]:
    """Note the key's answer before the current step first changed it (for Back)."""
    position = len(state.trail) - 1
    if position in state.prior:
        return state.prior
    before = {"key": key, "value": state.answers[key]} if key in state.answers else {"key": key}
    return {**state.prior, position: before}


def _goto(
    playbook: Playbook,
    state: RunState,
    target: str | None,
    answers: Mapping[str, Any],
    key: str | None,
) -> RunState:
    if target is None:  # the checker rules this out for checked files
        raise InvalidInput("error.stale")
    prior = _prior(state, key) if key is not None else state.prior
    return _settle(playbook, RunState((*state.trail, target), answers, False, prior, state.records))


def _settle(playbook: Playbook, state: RunState) -> RunState:
    """Pass silent steps until one the rep sees; an end finishes the run.

    An outcome record step keeps what it records as it passes, so a loop through it
    records each pass with the answers of that moment.
    """
    trail, answers, records = list(state.trail), state.answers, dict(state.records)
    for _ in range(SILENT_HOPS_MAX):
        step = playbook.step(trail[-1])
        if isinstance(step, End):
            return RunState(tuple(trail), answers, True, state.prior, records)
        if isinstance(step, SHOWN):
            return RunState(tuple(trail), answers, False, state.prior, records)
        if isinstance(step, Branch):
            target = next((c.next for c in step.cases if holds(c.when, answers)), step.default)
        else:
            if isinstance(step, Record):
                records[len(trail) - 1] = record_values(step, answers)
            target = step.next
        trail.append(target)
    raise RuntimeError(f"playbook {playbook.id} loops through silent steps at {trail[-1]}")


def _back(playbook: Playbook, state: RunState) -> Outcome:
    """To the step the rep saw before this one, its answer kept to show."""
    trail = list(state.trail[:-1])
    while trail and not isinstance(playbook.step(trail[-1]), (*ASKS, Tip)):
        trail.pop()
    if not trail:
        return Outcome(state, notice="playbook.at_start")
    # Answers given after the step we return to no longer hold (the rep may take another
    # way this time): each is undone to what it was before; the answer of the step
    # itself is kept, to be shown.
    keep = len(trail)
    answers = dict(state.answers)
    for position in sorted((p for p in state.prior if p >= keep), reverse=True):
        before = state.prior[position]
        if "value" in before:
            answers[before["key"]] = before["value"]
        else:
            answers.pop(before["key"], None)
    # Runs saved before `prior` existed: an answer of a step left behind goes, unless a
    # step kept asks for the same key.
    kept = {s.key for s in map(playbook.step, trail) if isinstance(s, ASKS)}
    dropped = {s.key for s in map(playbook.step, state.trail[keep:]) if isinstance(s, ASKS)}
    answers = {k: v for k, v in answers.items() if k in kept or k not in dropped}
    prior = {p: v for p, v in state.prior.items() if p < keep}
    records = {p: v for p, v in state.records.items() if p < keep}
    return Outcome(RunState(tuple(trail), answers, False, prior, records))


def holds(cond: Condition, answers: Mapping[str, Any]) -> bool:
    """Whether a branch condition holds for these answers."""
    if cond.total:
        value: Any = sum(_numeric(answers.get(key)) for key in cond.total)
    else:
        value = answers.get(cond.answer or "")
    if cond.answered is not None and (value not in (None, "", [])) != cond.answered:
        return False
    if cond.is_ is not None and value != cond.is_:
        return False
    if cond.in_ and value not in cond.in_:
        return False
    if cond.contains is not None and cond.contains not in (value or []):
        return False
    if cond.count_at_least is not None and len(value or []) < cond.count_at_least:
        return False
    if cond.at_least is not None and (value is None or _numeric(value) < cond.at_least):
        return False
    return not (cond.at_most is not None and (value is None or _numeric(value) > cond.at_most))


def _numeric(value: Any) -> float:
    if value is None or isinstance(value, list | dict):
        return 0.0
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def ranked(step: Choice, stats: Mapping[str, tuple[int, int]]) -> list[tuple[int, Any, int, int]]:
    """A choice's options as (index, option, wins, tries), most wins first, file order on ties."""
    rows = [(i, o, *stats.get(o.id, (0, 0))) for i, o in enumerate(step.options)]
    return sorted(rows, key=lambda row: (-row[2], -(row[2] / row[3]) if row[3] else 0.0, row[0]))
