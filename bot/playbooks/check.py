"""Loading playbook files and checking them: every problem named with its file and step.

`load_all` is what the bot uses (it refuses to start on a broken playbook);
`check_files` is what `salesbot playbooks check` and the tests use.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, TemplateSyntaxError
from pydantic import ValidationError

from bot.config import PROJECT_ROOT
from bot.domain import card
from bot.domain.card import Kind, Stage
from bot.playbooks import engine
from bot.playbooks.model import (
    ASKS,
    SILENT,
    Branch,
    Checklist,
    Choice,
    Condition,
    DateAnswer,
    End,
    Number,
    Option,
    Playbook,
    Record,
    Remind,
    Sale,
    Scale,
    SetField,
    SetGrade,
    SetStage,
    Text,
    Tip,
    successors,
)

PLAYBOOKS = PROJECT_ROOT / "playbooks"

# Room a step's message needs around its own text: the header (playbook, customer,
# progress), the answer echoed back, an error explained. Text + script + this ≤ 4096.
MESSAGE_MAX = 4096
FRAME_BUDGET = 700
SCRIPT_MAX = 256  # Telegram's limit for a copy-text button
LABEL_MAX = 48  # a button label beyond this is cut on a phone
OPTIONS_MAX = 24


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a playbook file."""

    file: str
    step: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: step {self.step}" if self.step else self.file
        return f"{where}: {self.message}"


class PlaybookError(Exception):
    """Playbook files that do not pass the checker."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def utf16_len(text: str) -> int:
    """Length as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


def playbook_files(directory: Path = PLAYBOOKS) -> list[Path]:
    """The playbook files of a directory, in name order."""
    return sorted(directory.glob("*.toml"))


def load_file(path: Path) -> tuple[Playbook | None, list[Problem]]:
    """Parse and check one file."""
    name = path.name
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        return None, [Problem(name, None, f"cannot read: {error}")]
    except tomllib.TOMLDecodeError as error:
        return None, [Problem(name, None, f"not valid TOML: {error}")]
    try:
        playbook = Playbook.model_validate(raw)
    except ValidationError as error:
        return None, sorted(_schema_problems(name, raw, error))
    problems = list(check(playbook, name))
    if playbook.id != path.stem:
        problems.append(Problem(name, None, f"id {playbook.id!r} differs from the file name {path.stem!r}"))
    return playbook, sorted(set(problems))


def check_files(paths: Iterable[Path]) -> tuple[dict[str, Playbook], list[Problem]]:
    """Load several files; the playbooks that passed and every problem found."""
    playbooks: dict[str, Playbook] = {}
    problems: list[Problem] = []
    for path in paths:
        playbook, found = load_file(path)
        problems += found
        if playbook is not None and not found:
            if playbook.id in playbooks:
                problems.append(Problem(path.name, None, f"another file already has id {playbook.id!r}"))
            playbooks[playbook.id] = playbook
    return playbooks, problems


def load_all(directory: Path = PLAYBOOKS) -> dict[str, Playbook]:
    """Every playbook of a directory, in menu order; PlaybookError if any fails the checker.

    Files are parsed again only when one of them changed.
    """
    files = playbook_files(directory)
    return dict(_load_all(tuple((path, path.stat().st_mtime_ns) for path in files)))


@lru_cache(maxsize=8)
def _load_all(files: tuple[tuple[Path, int], ...]) -> tuple[tuple[str, Playbook], ...]:
    playbooks, problems = check_files(path for path, _ in files)
    if problems:
        raise PlaybookError(problems)
    return tuple(sorted(playbooks.items(), key=lambda item: (item[1].order, item[0])))


def _schema_problems(name: str, raw: Any, error: ValidationError) -> Iterator[Problem]:
    steps = raw.get("steps") if isinstance(raw, dict) else None
    for item in error.errors():
        loc = list(item["loc"])
        step = None
        if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int) and isinstance(steps, list):
            entry = steps[loc[1]] if loc[1] < len(steps) else None
            step = str(entry.get("id", f"#{loc[1] + 1}")) if isinstance(entry, dict) else f"#{loc[1] + 1}"
            loc = loc[3:] if len(loc) > 2 and isinstance(loc[2], str) and loc[2] in _KINDS else loc[2:]
        where = ".".join(str(part) for part in loc)
        yield Problem(name, step, f"{where}: {item['msg']}" if where else item["msg"])


_KINDS = {
    "tip",
    "choice",
    "checklist",
    "text",
    "number",
    "date",
    "scale",
    "branch",
    "field",
    "stage",
    "grade",
    "remind",
    "record",
    "purchase",
    "end",
}

_jinja = Environment(autoescape=True)


def check(playbook: Playbook, name: str) -> Iterator[Problem]:
    """Everything the schema cannot see: graph, references, translations, sizes."""
    yield from _check_ids(playbook, name)
    yield from _check_graph(playbook, name)
    yield from _check_texts(playbook, name)
    yield from _check_references(playbook, name)
    yield from _check_sizes(playbook, name)
    for stage in playbook.stages:
        if stage not in {s.value for s in Stage}:
            yield Problem(name, None, f"unknown stage {stage!r} in stages")


def _check_ids(playbook: Playbook, name: str) -> Iterator[Problem]:
    seen: set[str] = set()
    for step in playbook.steps:
        if step.id in seen:
            yield Problem(name, step.id, "another step has the same id")
        seen.add(step.id)
        if isinstance(step, Choice | Checklist):
            ids = [option.id for option in step.options]
            for dup in sorted({i for i in ids if ids.count(i) > 1}):
                yield Problem(name, step.id, f"option id {dup!r} is used twice")
            if not step.options:
                yield Problem(name, step.id, "has no options")
    keys: dict[str, str] = {}
    for step in playbook.steps:
        if isinstance(step, ASKS):
            other = keys.setdefault(step.key, step.id)
            if other != step.id and type(playbook.step(other)) is not type(step):
                yield Problem(name, step.id, f"saves {step.key!r} like step {other!r} but as another kind")


def _check_graph(playbook: Playbook, name: str) -> Iterator[Problem]:
    if not playbook.has(playbook.start):
        yield Problem(name, None, f"start {playbook.start!r} is not a step")
        return
    for step in playbook.steps:
        for target in successors(step):
            if not playbook.has(target):
                yield Problem(name, step.id, f"leads to {target!r}, which is not a step")
        if isinstance(step, End):
            continue
        if isinstance(step, Choice) and step.next is None:
            for option in step.options:
                if option.next is None:
                    yield Problem(name, step.id, f"option {option.id!r} leads nowhere (dead end)")
        elif not successors(step):
            yield Problem(name, step.id, "leads nowhere (dead end): give it a next step or make it an end")
    reachable = _reach(playbook, [playbook.start], forward=True)
    for step in playbook.steps:
        if step.id not in reachable:
            yield Problem(name, step.id, "cannot be reached from the start (unreachable)")
    ends = [step.id for step in playbook.steps if isinstance(step, End)]
    if not ends:
        yield Problem(name, None, "has no end step")
    finishing = _reach(playbook, ends, forward=False)
    for step in playbook.steps:
        if step.id in reachable and step.id not in finishing and not isinstance(step, End):
            yield Problem(name, step.id, "no path from here reaches an end (dead end loop)")
    yield from _silent_cycles(playbook, name)


def _reach(playbook: Playbook, roots: list[str], *, forward: bool) -> set[str]:
    edges: dict[str, set[str]] = {step.id: set() for step in playbook.steps}
    for step in playbook.steps:
        for target in successors(step):
            if target in edges:
                if forward:
                    edges[step.id].add(target)
                else:
                    edges[target].add(step.id)
    seen, todo = set(), [r for r in roots if r in edges]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo += edges[current] - seen
    return seen


def _silent_cycles(playbook: Playbook, name: str) -> Iterator[Problem]:
    """A loop through silent steps only would spin forever without asking anything."""
    silent = {step.id for step in playbook.steps if isinstance(step, SILENT)}
    for start in sorted(silent):
        todo, seen = [start], set()
        while todo:
            current = todo.pop()
            for target in successors(playbook.step(current)):
                if target == start:
                    yield Problem(name, start, "loops back to itself without asking anything")
                    todo = []
                    break
                if target in silent and target not in seen:
                    seen.add(target)
                    todo.append(target)


def _texts(playbook: Playbook) -> Iterator[tuple[str | None, str, Text | None, bool]]:
    """Every text of the file: (step, what, text, required)."""
    yield None, "title", playbook.title, True
    yield None, "about", playbook.about, True
    for step in playbook.steps:
        if isinstance(step, Tip):
            yield step.id, "text", step.text, True
            yield step.id, "script", step.script, False
        elif isinstance(step, ASKS):
            yield step.id, "text", step.text, True
            yield step.id, "label", step.label, True
            if isinstance(step, Choice | Checklist):
                for option in step.options:
                    yield step.id, f"option {option.id!r} label", option.label, True
        elif isinstance(step, Remind):
            yield step.id, "text", step.text, True
        elif isinstance(step, End):
            yield step.id, "text", step.text, True
            yield step.id, "label", step.label, True


def _check_texts(playbook: Playbook, name: str) -> Iterator[Problem]:
    for step, what, text, required in _texts(playbook):
        if text is None:
            if required:
                yield Problem(name, step, f"{what} is missing")
            continue
        for lang in ("zh", "en"):
            value = text.get(lang)
            if not value.strip():
                yield Problem(name, step, f"{what} has no {lang} translation")
                continue
            try:
                _jinja.parse(value)
            except TemplateSyntaxError as error:
                yield Problem(name, step, f"{what} ({lang}) is not a valid template: {error.message}")


def _check_references(playbook: Playbook, name: str) -> Iterator[Problem]:
    answers = playbook.answer_steps()

    def need(step: str, key: str | None, *kinds: type, what: str) -> Iterator[Problem]:
        if key is None:
            return
        producer = answers.get(key)
        if producer is None:
            yield Problem(name, step, f"{what} uses answer {key!r}, which no step asks for")
        elif kinds and not isinstance(producer, kinds):
            wanted = " or ".join(k.__name__.lower() for k in kinds)
            yield Problem(name, step, f"{what} needs answer {key!r} to be a {wanted} answer")

    for step in playbook.steps:
        if isinstance(step, Branch):
            for case in step.cases:
                yield from _check_condition(playbook, name, step.id, case.when, answers, need)
        elif isinstance(step, SetField):
            yield from _check_field(name, step, answers, need)
        elif isinstance(step, SetStage | SetGrade):
            allowed = {s.value for s in Stage} if isinstance(step, SetStage) else set(card.GRADES)
            fixed = step.stage if isinstance(step, SetStage) else step.grade
            what = step.kind
            yield from _check_writes(name, step, fixed, allowed, what, answers, need)
            if (
                isinstance(step, SetStage)
                and step.customer_lost
                and Stage.LOST
                not in (
                    step.stage,
                    *step.map.values(),
                )
            ):
                yield Problem(name, step.id, "customer_lost only applies to a move to the lost stage")
        elif isinstance(step, Remind):
            if (step.in_days is None) == (step.source is None):
                yield Problem(name, step.id, "a reminder needs exactly one of in_days or from")
            if step.in_days is not None and not 0 <= step.in_days <= 3650:
                yield Problem(name, step.id, "in_days must be between 0 and 3650")
            yield from need(step.id, step.source, DateAnswer, what="the reminder")
        elif isinstance(step, Record):
            kind = engine.RECORD_KINDS.get(step.record)
            if kind is None:
                yield Problem(name, step.id, f"unknown record kind {step.record!r}")
                continue
            for column in [*step.fields, *step.values]:
                if column not in engine.RECORD_COLUMNS:
                    yield Problem(name, step.id, f"unknown record column {column!r}")
            for column, key in step.fields.items():
                kinds = engine.RECORD_COLUMNS.get(column, ())
                yield from need(step.id, key, *kinds, what=f"record column {column!r}")
            results = [step.values["result"]] if "result" in step.values else []
            producer = answers.get(step.fields.get("result", ""))
            if isinstance(producer, Choice):
                results += [option.id for option in producer.options]
            for result in results:
                if result not in engine.RESULTS:
                    yield Problem(
                        name, step.id, f"result {result!r} is not one of {', '.join(engine.RESULTS)}"
                    )
        elif isinstance(step, Sale):
            yield from need(step.id, step.amount, Number, what="the purchase amount")
            yield from need(step.id, step.items, what="the purchase items")
        elif isinstance(step, Choice) and step.rank is not None:
            if step.rank.record not in engine.RECORD_KINDS:
                yield Problem(name, step.id, f"ranks by unknown record kind {step.rank.record!r}")
            yield from need(step.id, step.rank.match, Choice, what="the ranking")


def _check_condition(
    playbook: Playbook, name: str, step: str, cond: Condition, answers: dict[str, Any], need: Any
) -> Iterator[Problem]:
    subjects = (cond.answer is not None) + bool(cond.total)
    tests = [
        cond.is_,
        cond.in_ or None,
        cond.contains,
        cond.count_at_least,
        cond.at_least,
        cond.at_most,
        cond.answered,
    ]
    if subjects != 1:
        yield Problem(name, step, "a condition needs exactly one of answer or total")
    if all(test is None for test in tests):
        yield Problem(name, step, "a condition needs a test (is, in, contains, at_least…)")
    for key in cond.total:
        yield from need(step, key, Scale, Number, what="the total")
    if cond.answer is None:
        return
    yield from need(step, cond.answer, what="the condition")
    producer = answers.get(cond.answer)
    if isinstance(producer, Choice | Checklist):
        options = {option.id for option in producer.options}
        for value in [cond.is_, cond.contains, *cond.in_]:
            if value is not None and value not in options:
                yield Problem(name, step, f"{value!r} is not an option of {producer.id!r}")
    if (cond.contains is not None or cond.count_at_least is not None) and not isinstance(
        producer, Checklist | type(None)
    ):
        yield Problem(name, step, f"contains and count_at_least need a checklist answer, not {cond.answer!r}")
    if (cond.at_least is not None or cond.at_most is not None) and not isinstance(
        producer, Scale | Number | type(None)
    ):
        yield Problem(name, step, f"at_least and at_most need a number or scale answer, not {cond.answer!r}")


def _check_field(name: str, step: SetField, answers: dict[str, Any], need: Any) -> Iterator[Problem]:
    spec = card.FIELDS_BY_KEY.get(step.field)
    if spec is None or spec.key == "name":
        yield Problem(name, step.id, f"unknown card field {step.field!r}")
        return
    modes = card.write_modes(spec)
    if step.mode is not None and step.mode not in modes:
        if card.APPEND in modes:
            yield Problem(
                name,
                step.id,
                f"field {spec.key!r}: mode {step.mode!r} would discard what the rep wrote; "
                "use append (a dated line under it) or fill (only when empty)",
            )
        else:
            yield Problem(name, step.id, f"field {spec.key!r} takes mode {' or '.join(modes)}")
    allowed = set(spec.choices) if spec.kind is Kind.CHOICE else None
    if spec.kind is Kind.SCORE:
        allowed = {"1", "2", "3", "4", "5"}
    yield from _check_writes(name, step, step.value, allowed, f"field {spec.key!r}", answers, need)
    producer = answers.get(step.source or "")
    if spec.kind is Kind.SCORE and producer is not None and not step.map and not isinstance(producer, Scale):
        yield Problem(name, step.id, f"field {spec.key!r} takes a 1–5 scale answer")
    if spec.kind is Kind.DATE and producer is not None and not isinstance(producer, DateAnswer):
        yield Problem(name, step.id, f"field {spec.key!r} takes a date answer")


def _check_writes(
    name: str,
    step: SetField | SetStage | SetGrade,
    fixed: str | None,
    allowed: set[str] | None,
    what: str,
    answers: dict[str, Any],
    need: Any,
) -> Iterator[Problem]:
    if (fixed is None) == (step.source is None):
        yield Problem(name, step.id, f"{what}: give exactly one of a fixed value or from")
    yield from need(step.id, step.source, what=what)
    values = [fixed] if fixed is not None else list(step.map.values())
    if step.source is not None and not step.map:
        producer = answers.get(step.source)
        if isinstance(producer, Choice) and allowed is not None:
            values = [option.id for option in producer.options]
    if allowed is not None:
        for value in values:
            if value is not None and value not in allowed:
                yield Problem(name, step.id, f"{what}: {value!r} is not one of {', '.join(sorted(allowed))}")
    if step.map and step.source is not None:
        producer = answers.get(step.source)
        if isinstance(producer, Choice):
            options = {option.id for option in producer.options}
            for key in step.map:
                if key not in options:
                    yield Problem(name, step.id, f"map key {key!r} is not an option of {producer.id!r}")


def _check_sizes(playbook: Playbook, name: str) -> Iterator[Problem]:
    for step in playbook.steps:
        if isinstance(step, (Tip, End, *ASKS)):
            for lang in ("zh", "en"):
                body = utf16_len(step.text.get(lang))
                if isinstance(step, Tip) and step.script is not None:
                    script = step.script.get(lang)
                    body += utf16_len(script)
                    if len(script) > SCRIPT_MAX:
                        yield Problem(
                            name,
                            step.id,
                            f"script ({lang}) has {len(script)} characters; at most {SCRIPT_MAX} "
                            "fit a copy button",
                        )
                if body + FRAME_BUDGET > MESSAGE_MAX:
                    yield Problem(
                        name,
                        step.id,
                        f"text ({lang}) is too long for one message: {body} of "
                        f"{MESSAGE_MAX - FRAME_BUDGET} UTF-16 units",
                    )
        if isinstance(step, Choice | Checklist):
            yield from _check_options(name, step.id, step.options)


def _check_options(name: str, step: str, options: tuple[Option, ...]) -> Iterator[Problem]:
    if len(options) > OPTIONS_MAX:
        yield Problem(name, step, f"has {len(options)} options; at most {OPTIONS_MAX} fit on a phone")
    widest = engine.widest_callback(len(options))
    if widest > engine.CALLBACK_MAX_BYTES:
        yield Problem(name, step, f"button data would take {widest} bytes; Telegram allows 64")
    for option in options:
        for lang in ("zh", "en"):
            label = option.label.get(lang)
            if len(label) > LABEL_MAX:
                yield Problem(
                    name,
                    step,
                    f"option {option.id!r} label ({lang}) has {len(label)} characters; "
                    f"at most {LABEL_MAX} fit a button",
                )
