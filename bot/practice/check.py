"""Loading drill files and checking them: every problem named with its file and drill.

The rules are those of `drills/README.md`. `load_all` is what the bot uses (it refuses to
start on a broken file); `check_files` is what `salesbot drills check` and the tests use.
Messages read `file: drill: what is wrong` (`file: what is wrong` for the file as a
whole); a drill without a usable id is named by its place in the file (`#3`).
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.config import PROJECT_ROOT
from bot.practice.model import (
    CLOSING_METHODS,
    COMPLAINT_STEPS,
    FACTOR_RATINGS,
    FACTORS,
    FLOOR_PREFIX,
    KINDS,
    LANGUAGES,
    LISTENING,
    NEEDS,
    NO_SIGNAL,
    OBJECTION_METHODS,
    OBJECTION_TYPES,
    SIGNALS,
    TECHNIQUES,
    TOPICS,
    ChoiceDrill,
    ClosingDrill,
    ComplaintNeedDrill,
    ComplaintStepsDrill,
    FileDrill,
    ListeningDrill,
    ObjectionDrill,
    Option,
    QualifyDrill,
    SignalDrill,
    Text,
)

DRILLS = PROJECT_ROOT / "drills"

ID = re.compile(r"[a-z0-9_]{1,40}")
OPTION_ID = re.compile(r"[a-z0-9_]{1,24}")
PROMPT_MAX = 400
WHY_MAX = 400  # why and why_not
HINT_MAX = 400
MODEL_MAX = 256  # it gets a Copy button
LABEL_MAX = 48  # an option label or a complaint step: a button
CLOSING_OPTIONS = (3, 4)
CHOICE_OPTIONS = (2, 5)

# HTML tags and entities, Markdown emphasis, code, links and headings, Jinja.
MARKUP = re.compile(
    r"<\s*/?\s*[A-Za-z][^>]*>|&[A-Za-z]+;|&#\d+;|\*\*|__|`|\[[^\]]*\]\([^)]*\)|^\s*#{1,6}\s|\{\{|\{%|\{#",
    re.MULTILINE,
)

COMMON = ("id", "kind", "covers", "retired")
# Each kind's fields beyond the common ones (the README's tables).
FIELDS: dict[str, tuple[str, ...]] = {
    "objection": ("prompt", "type", "method", "why", "why_not", "model"),
    "signal": ("prompt", "signal", "method", "options", "why", "model"),
    "closing": ("prompt", "method", "options", "why", "model"),
    "complaint_steps": ("prompt", "steps", "why"),
    "complaint_need": ("prompt", "need", "why", "model"),
    "qualify": ("prompt", *FACTORS, "why"),
    "listening": ("prompt", "hint", "model"),
    "choice": ("prompt", "options", "answer", "why"),
}


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a drill file."""

    file: str
    drill: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.drill}" if self.drill else self.file
        return f"{where}: {self.message}"


class DrillError(Exception):
    """Drill files that do not pass the checker."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class Drills:
    """The checked drills, by id (retired ones too: reps' schedules may still name them)."""

    def __init__(self, drills: Iterable[FileDrill] = ()) -> None:
        self.by_id: Mapping[str, FileDrill] = {drill.id: drill for drill in drills}

    def __len__(self) -> int:
        return len(self.by_id)

    def __iter__(self) -> Iterator[FileDrill]:
        return iter(self.by_id.values())

    def get(self, drill_id: str) -> FileDrill | None:
        """A drill by id, retired or not."""
        return self.by_id.get(drill_id)

    def active(self) -> list[FileDrill]:
        """The drills a rep may be given: every one not retired, in file order."""
        return [drill for drill in self.by_id.values() if not drill.retired]

    def by_topic(self, topic: str) -> list[FileDrill]:
        """The active drills of one topic (`TOPICS`)."""
        return [drill for drill in self.active() if drill.topic == topic]

    def by_kind(self, kind: str) -> list[FileDrill]:
        """The active drills of one kind (`KINDS`)."""
        return [drill for drill in self.active() if drill.kind == kind]

    def summary(self) -> str:
        """One line: how many drills, per kind and per topic, and how many retired."""
        active = self.active()
        kinds = Counter(drill.kind for drill in active)
        topics = Counter(drill.topic for drill in active)
        per_kind = ", ".join(f"{kind} {kinds[kind]}" for kind in KINDS if kinds[kind])
        per_topic = ", ".join(f"{topic} {topics[topic]}" for topic in TOPICS if topics[topic])
        retired = len(self) - len(active)
        parts = [f"{len(active)} drill(s)"]
        if per_kind:
            parts.append(f"kinds: {per_kind}")
        if per_topic:
            parts.append(f"topics: {per_topic}")
        if retired:
            parts.append(f"{retired} retired")
        return "; ".join(parts)


def drill_files(directory: Path | None = None) -> list[Path]:
    """The drill files of a directory (`drills/` by default), in name order."""
    return sorted((directory or DRILLS).glob("*.toml"))


def check_files(paths: Iterable[Path]) -> tuple[Drills, list[Problem]]:
    """Load several files: the drills that passed, and every problem found (ids unique across files)."""
    drills: list[FileDrill] = []
    problems: list[Problem] = []
    first_in: dict[str, str] = {}
    for path in paths:
        found, file_problems = load_file(path)
        problems += file_problems
        for drill in found:
            if drill.id in first_in:
                problems.append(
                    Problem(path.name, drill.id, f"id is used again (first in {first_in[drill.id]})")
                )
                continue
            first_in[drill.id] = path.name
            drills.append(drill)
    return Drills(drills), problems


def load_file(path: Path) -> tuple[list[FileDrill], list[Problem]]:
    """Parse and check one file: its good drills, and the problems of the others.

    Ids used twice within the file are reported here; across files, by `check_files`.
    """
    name = path.name
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        return [], [Problem(name, None, f"cannot read: {error}")]
    except tomllib.TOMLDecodeError as error:
        return [], [Problem(name, None, f"not valid TOML: {error}")]
    problems = [
        Problem(name, None, f"unknown key {key!r} (drills are [[drill]] tables)")
        for key in raw
        if key != "drill"
    ]
    entries = raw.get("drill")
    if entries is None:
        return [], [*problems, Problem(name, None, "has no drills ([[drill]] tables)")]
    if not isinstance(entries, list):
        return [], [*problems, Problem(name, None, "drill must be [[drill]] tables")]
    drills: list[FileDrill] = []
    seen: set[str] = set()
    for place, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            problems.append(Problem(name, f"#{place}", "is not a [[drill]] table"))
            continue
        reader = _Reader(name, place, entry)
        drill = reader.drill()
        problems += reader.problems
        if drill is None:
            continue
        if drill.id in seen:
            problems.append(Problem(name, drill.id, "id is used again in this file"))
            continue
        seen.add(drill.id)
        drills.append(drill)
    return drills, problems


def load_all(directory: Path | None = None) -> Drills:
    """Every drill of a directory (`drills/` by default); DrillError if any file fails the checker.

    An empty directory gives no drills. Files are parsed again only when one of them changed.
    """
    files = drill_files(directory)
    return _load_all(tuple((path, path.stat().st_mtime_ns) for path in files))


@lru_cache(maxsize=8)
def _load_all(files: tuple[tuple[Path, int], ...]) -> Drills:
    drills, problems = check_files(path for path, _ in files)
    if problems:
        raise DrillError(problems)
    return drills


def _join(values: Iterable[str]) -> str:
    return ", ".join(values)


class _Reader:
    """Reads one [[drill]] table, noting every problem; `drill()` is None when there were any."""

    def __init__(self, file: str, place: int, entry: dict[str, Any]) -> None:
        self.file = file
        self.entry = entry
        raw_id = entry.get("id")
        self.id = raw_id if isinstance(raw_id, str) and raw_id else f"#{place}"
        self.problems: list[Problem] = []

    def problem(self, message: str) -> None:
        self.problems.append(Problem(self.file, self.id, message))

    def drill(self) -> FileDrill | None:
        drill_id = self._id()
        kind = self.entry.get("kind")
        if kind is None:
            self.problem("kind is missing")
            return None
        if kind not in KINDS:
            self.problem(f"kind {kind!r} is not one of {_join(KINDS)}")
            return None
        allowed = (*COMMON, *FIELDS[kind])
        for key in self.entry:
            if key not in allowed:
                self.problem(f"unknown field {key!r} (a {kind} drill has {_join(FIELDS[kind])})")
        covers = self._covers()
        retired = self.entry.get("retired", False)
        if not isinstance(retired, bool):
            self.problem("retired must be true or false")
        drill = getattr(self, f"_{kind}")(drill_id, covers, retired)
        assert drill is None or isinstance(drill, FileDrill)
        return None if self.problems else drill

    # ------------------------------------------------------------ common fields

    def _id(self) -> str:
        raw = self.entry.get("id")
        if raw is None:
            self.problem("id is missing")
        elif not isinstance(raw, str) or not ID.fullmatch(raw):
            self.problem(f"id {raw!r} must be lowercase ASCII letters, digits and _, at most 40 characters")
        elif raw.startswith(FLOOR_PREFIX):
            self.problem(
                f"id {raw!r} starts with {FLOOR_PREFIX!r}, which is kept for drills from the team's floor"
            )
        return self.id

    def _covers(self) -> tuple[str, ...]:
        raw = self.entry.get("covers")
        if raw is None:
            self.problem("covers is missing")
            return ()
        if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
            self.problem("covers must be a list of technique ids")
            return ()
        if not raw:
            self.problem("covers is empty (its first id names the drill's topic)")
        seen: set[str] = set()
        for technique in raw:
            if technique not in TECHNIQUES:
                self.problem(f"covers: {technique!r} is not a technique of bot/domain/methodology.py")
            elif technique in seen:
                self.problem(f"covers: {technique!r} is listed twice")
            seen.add(technique)
        return tuple(raw)

    def _requires(self, covers: tuple[str, ...], *techniques: str) -> None:
        for technique in techniques:
            if technique not in covers:
                self.problem(f"covers must include {technique!r}")

    def _text(self, name: str, limit: int, value: Any = None, *, given: bool = False) -> Text | None:
        raw = value if given else self.entry.get(name)
        if raw is None:
            self.problem(f"{name} is missing")
            return None
        if not isinstance(raw, dict):
            self.problem(f"{name} must have a zh and an en text ({name}.zh, {name}.en)")
            return None
        texts: dict[str, str] = {}
        for language in raw:
            if language not in LANGUAGES:
                self.problem(f"{name}.{language} is not one of the languages ({_join(LANGUAGES)})")
        for language in LANGUAGES:
            text = raw.get(language)
            if text is None:
                self.problem(f"{name} has no {language} text")
            elif not isinstance(text, str):
                self.problem(f"{name}.{language} must be a text")
            elif not text.strip():
                self.problem(f"{name}.{language} is empty")
            elif len(text) > limit:
                self.problem(f"{name}.{language} has {len(text)} characters (at most {limit})")
            elif found := MARKUP.search(text):
                self.problem(
                    f"{name}.{language} has markup ({found.group().strip()!r}): drills are plain text"
                )
            else:
                texts[language] = text
        return Text(texts["zh"], texts["en"]) if len(texts) == len(LANGUAGES) else None

    def _value(self, name: str, allowed: tuple[str, ...]) -> str:
        raw = self.entry.get(name)
        if raw is None:
            self.problem(f"{name} is missing")
            return ""
        if raw not in allowed:
            self.problem(f"{name} {raw!r} is not one of {_join(allowed)}")
            return ""
        return str(raw)

    def _absent(self, *names: str, because: str) -> None:
        for name in names:
            if name in self.entry:
                self.problem(f"{name} is left out {because}")

    def _closing_options(self, method: str) -> tuple[str, ...]:
        raw = self.entry.get("options")
        low, high = CLOSING_OPTIONS
        if raw is None:
            self.problem("options is missing")
            return ()
        if not isinstance(raw, list) or not low <= len(raw) <= high:
            self.problem(f"options must be a list of {low} or {high} closing methods")
            return ()
        seen: set[str] = set()
        for option in raw:
            if option not in CLOSING_METHODS:
                self.problem(f"options: {option!r} is not one of {_join(CLOSING_METHODS)}")
            elif option in seen:
                self.problem(f"options: {option!r} is listed twice")
            seen.add(str(option))
        if method and method not in raw:
            self.problem(f"options must include the method {method!r}")
        return tuple(str(option) for option in raw)

    # ------------------------------------------------------------ the kinds

    def _objection(self, drill_id: str, covers: tuple[str, ...], retired: bool) -> FileDrill | None:
        prompt = self._text("prompt", PROMPT_MAX)
        type_ = self._value("type", OBJECTION_TYPES)
        method = self._value("method", OBJECTION_METHODS)
        why, why_not = self._text("why", WHY_MAX), self._text("why_not", WHY_MAX)
        model = self._text("model", MODEL_MAX)
        if type_:
            self._requires(covers, f"objection.type.{type_}")
        if method:
            self._requires(covers, f"objection.method.{method}")
        if prompt is None or why is None or why_not is None or model is None:
            return None
        return ObjectionDrill(
            id=drill_id,
            covers=covers,
            retired=retired,
            prompt=prompt,
            type=type_,
            method=method,
            why=why,
            why_not=why_not,
            model=model,
        )

    def _signal(self, drill_id: str, covers: tuple[str, ...], retired: bool) -> FileDrill | None:
        prompt = self._text("prompt", PROMPT_MAX)
        signal = self._value("signal", (*SIGNALS, NO_SIGNAL))
        why = self._text("why", WHY_MAX)
        method: str | None = None
        options: tuple[str, ...] = ()
        model: Text | None = None
        if signal == NO_SIGNAL:
            self._absent("method", "options", "model", because="when signal is 'none'")
        elif signal:
            self._requires(covers, f"closing.signal.{signal}")
            method = self._value("method", CLOSING_METHODS)
            options = self._closing_options(method)
            model = self._text("model", MODEL_MAX)
            if method:
                self._requires(covers, f"closing.method.{method}")
        if prompt is None or why is None:
            return None
        return SignalDrill(
            id=drill_id,
            covers=covers,
            retired=retired,
            prompt=prompt,
            signal=signal,
            method=method or None,
            options=options,
            why=why,
            model=model,
        )

    def _closing(self, drill_id: str, covers: tuple[str, ...], retired: bool) -> FileDrill | None:
        prompt = self._text("prompt", PROMPT_MAX)
        method = self._value("method", CLOSING_METHODS)
        options = self._closing_options(method)
        why, model = self._text("why", WHY_MAX), self._text("model", MODEL_MAX)
        if method:
            self._requires(covers, f"closing.method.{method}")
        if prompt is None or why is None or model is None:
            return None
        return ClosingDrill(
            id=drill_id,
            covers=covers,
            retired=retired,
            prompt=prompt,
            method=method,
            options=options,
            why=why,
            model=model,
        )

    def _complaint_steps(self, drill_id: str, covers: tuple[str, ...], retired: bool) -> FileDrill | None:
        prompt, why = self._text("prompt", PROMPT_MAX), self._text("why", WHY_MAX)
        self._requires(covers, *(f"complaint.step.{step}" for step in COMPLAINT_STEPS))
        raw = self.entry.get("steps")
        steps: list[tuple[str, Text]] = []
        if raw is None:
            self.problem("steps is missing")
        elif not isinstance(raw, dict):
            self.problem(f"steps must be a table of the six steps ({_join(COMPLAINT_STEPS)})")
        else:
            for key in raw:
                if key not in COMPLAINT_STEPS:
                    self.problem(f"steps.{key} is not one of {_join(COMPLAINT_STEPS)}")
            for step in COMPLAINT_STEPS:
                text = self._text(f"steps.{step}", LABEL_MAX, raw.get(step), given=True)
                if text is not None:
                    steps.append((step, text))
        if prompt is None or why is None or len(steps) != len(COMPLAINT_STEPS):
            return None
        return ComplaintStepsDrill(
            id=drill_id, covers=covers, retired=retired, prompt=prompt, steps=tuple(steps), why=why
        )

    def _complaint_need(self, drill_id: str, covers: tuple[str, ...], retired: bool) -> FileDrill | None:
        prompt = self._text("prompt", PROMPT_MAX)
        need = self._value("need", NEEDS)
        why, model = self._text("why", WHY_MAX), self._text("model", MODEL_MAX)
        if need:
            self._requires(covers, f"complaint.need.{need}")
        if prompt is None or why is None or model is None:
            return None
        return ComplaintNeedDrill(
            id=drill_id, covers=covers, retired=retired, prompt=prompt, need=need, why=why, model=model
        )

    def _qualify(self, drill_id: str, covers: tuple[str, ...], retired: bool) -> FileDrill | None:
        prompt, why = self._text("prompt", PROMPT_MAX), self._text("why", WHY_MAX)
        ratings = tuple((factor, self._value(factor, FACTOR_RATINGS)) for factor in FACTORS)
        self._requires(covers, *(f"qualify.factor.{factor}" for factor in FACTORS))
        if prompt is None or why is None:
            return None
        return QualifyDrill(
            id=drill_id, covers=covers, retired=retired, prompt=prompt, ratings=ratings, why=why
        )

    def _listening(self, drill_id: str, covers: tuple[str, ...], retired: bool) -> FileDrill | None:
        prompt = self._text("prompt", PROMPT_MAX)
        hint, model = self._text("hint", HINT_MAX), self._text("model", MODEL_MAX)
        self._requires(covers, LISTENING)
        if prompt is None or hint is None or model is None:
            return None
        return ListeningDrill(
            id=drill_id, covers=covers, retired=retired, prompt=prompt, hint=hint, model=model
        )

    def _choice(self, drill_id: str, covers: tuple[str, ...], retired: bool) -> FileDrill | None:
        prompt, why = self._text("prompt", PROMPT_MAX), self._text("why", WHY_MAX)
        options, ids = self._choice_options()
        answer = self.entry.get("answer")
        if answer is None:
            self.problem("answer is missing")
        elif ids and answer not in ids:
            self.problem(f"answer {answer!r} is not one of the options ({_join(dict.fromkeys(ids))})")
        if prompt is None or why is None or not options:
            return None
        return ChoiceDrill(
            id=drill_id,
            covers=covers,
            retired=retired,
            prompt=prompt,
            options=options,
            answer=str(answer),
            why=why,
        )

    def _choice_options(self) -> tuple[tuple[Option, ...], list[str]]:
        """The options when all are good (else none), and every well-formed option id."""
        raw = self.entry.get("options")
        low, high = CHOICE_OPTIONS
        if raw is None:
            self.problem("options is missing")
            return (), []
        if not isinstance(raw, list) or not low <= len(raw) <= high:
            self.problem(f"options must be a list of {low} to {high} options")
            return (), []
        options: list[Option] = []
        seen: list[str] = []
        for place, item in enumerate(raw, start=1):
            if not isinstance(item, dict):
                self.problem(f"options #{place} must be {{ id, label }}")
                continue
            option_id = item.get("id")
            if not isinstance(option_id, str) or not OPTION_ID.fullmatch(option_id):
                self.problem(
                    f"options #{place}: id {option_id!r} must be lowercase ASCII letters, digits and _"
                )
                continue
            for key in item:
                if key not in ("id", "label"):
                    self.problem(f"options.{option_id}: unknown field {key!r}")
            if option_id in seen:
                self.problem(f"options: id {option_id!r} is used twice")
            seen.append(option_id)
            label = self._text(f"options.{option_id}.label", LABEL_MAX, item.get("label"), given=True)
            if label is not None:
                options.append(Option(option_id, label))
        return (tuple(options) if len(options) == len(raw) else ()), seen
