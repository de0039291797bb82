"""What a drill is: one frozen dataclass per kind, as `drills/README.md` describes them.

Every drill has an `id` (kept in each rep's schedule, never reused), its `kind`, the
technique ids it trains (`covers`, from `bot.domain.methodology`) and whether it is
`retired`. Its `topic` is the area of its first covers id ("objection", "closing", ...).
Texts are `Text` pairs, one per language. The allowed values of each kind's fields are
derived from the methodology's ids, so a drill and a playbook name a technique alike.

`FloorDrill` is the one kind not written in a file: an objection or a closing a rep met in
a real playbook run, approved by their lead for the whole team (`bot.services.practice`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.domain import methodology

LANGUAGES = ("zh", "en")
KINDS = (
    "objection",
    "signal",
    "closing",
    "complaint_steps",
    "complaint_need",
    "qualify",
    "listening",
    "choice",
)
# The eight playbooks' areas: a drill's topic is the area of its first covers id.
TOPICS = tuple(methodology.REQUIRED)
TECHNIQUES = frozenset(technique for ids in methodology.REQUIRED.values() for technique in ids)
# Ids of drills from the team's floor: `team_<row id>`; no file drill may start so.
FLOOR_PREFIX = "team_"


def _names(prefix: str) -> tuple[str, ...]:
    """The last parts of the methodology's ids under a prefix, in the methodology's order."""
    ids = (technique for ids in methodology.REQUIRED.values() for technique in ids)
    return tuple(
        technique.removeprefix(prefix + ".") for technique in ids if technique.startswith(prefix + ".")
    )


OBJECTION_TYPES = _names("objection.type")
OBJECTION_METHODS = _names("objection.method")
SIGNALS = _names("closing.signal")
NO_SIGNAL = "none"
CLOSING_METHODS = _names("closing.method")
COMPLAINT_STEPS = _names("complaint.step")  # in the right order
NEEDS = _names("complaint.need")
FACTORS = _names("qualify.factor")
FACTOR_RATINGS = ("yes", "no", "unknown")
LISTENING = "objection.listening.agree_then_guide"


@dataclass(frozen=True, slots=True)
class Text:
    """One text in both languages."""

    zh: str
    en: str

    def get(self, language: str) -> str:
        """The text in a language ("en", else Chinese)."""
        return self.en if language == "en" else self.zh


@dataclass(frozen=True, slots=True)
class Option:
    """One answer of a `choice` drill."""

    id: str
    label: Text


@dataclass(frozen=True, kw_only=True)
class Drill:
    """What every drill has; the kinds below add their fields."""

    id: str
    kind: str
    covers: tuple[str, ...]
    retired: bool = False

    @property
    def topic(self) -> str:
        """The area of the first covers id: what "practise objections only" selects by."""
        return self.covers[0].split(".", 1)[0]


@dataclass(frozen=True, kw_only=True)
class ObjectionDrill(Drill):
    """The customer's words → which of the seven types → which of the seven methods → the answer."""

    kind: str = field(default="objection", init=False)
    prompt: Text
    type: str
    method: str
    why: Text
    why_not: Text
    model: Text


@dataclass(frozen=True, kw_only=True)
class SignalDrill(Drill):
    """A line or behaviour → which buying signal (or none) → which closing method now.

    When `signal` is "none" (a trap), there is no method, no options and no model.
    """

    kind: str = field(default="signal", init=False)
    prompt: Text
    signal: str
    method: str | None
    options: tuple[str, ...]
    why: Text
    model: Text | None


@dataclass(frozen=True, kw_only=True)
class ClosingDrill(Drill):
    """A situation → which closing method, out of 3 or 4 offered, with the wording."""

    kind: str = field(default="closing", init=False)
    prompt: Text
    method: str
    options: tuple[str, ...]
    why: Text
    model: Text


@dataclass(frozen=True, kw_only=True)
class ComplaintStepsDrill(Drill):
    """A complaint → its six steps as concrete actions, to be put in order.

    `steps` is in the right order (`COMPLAINT_STEPS`); the bot shows them shuffled.
    """

    kind: str = field(default="complaint_steps", init=False)
    prompt: Text
    steps: tuple[tuple[str, Text], ...]
    why: Text


@dataclass(frozen=True, kw_only=True)
class ComplaintNeedDrill(Drill):
    """A complaint → which of the five real needs is behind it."""

    kind: str = field(default="complaint_need", init=False)
    prompt: Text
    need: str
    why: Text
    model: Text


@dataclass(frozen=True, kw_only=True)
class QualifyDrill(Drill):
    """A short case → yes / no / unknown for each of the five factors (`ratings`, in `FACTORS` order)."""

    kind: str = field(default="qualify", init=False)
    prompt: Text
    ratings: tuple[tuple[str, str], ...]
    why: Text

    def rating(self, factor: str) -> str:
        """The right rating of one factor."""
        return dict(self.ratings)[factor]


@dataclass(frozen=True, kw_only=True)
class ListeningDrill(Drill):
    """A customer's line → the rep types an answer → the model answer → the rep grades themselves."""

    kind: str = field(default="listening", init=False)
    prompt: Text
    hint: Text
    model: Text


@dataclass(frozen=True, kw_only=True)
class ChoiceDrill(Drill):
    """A situation or question → two to five options, one right (`answer`, an option id)."""

    kind: str = field(default="choice", init=False)
    prompt: Text
    options: tuple[Option, ...]
    answer: str
    why: Text


@dataclass(frozen=True, kw_only=True)
class FloorDrill(Drill):
    """An objection or a closing from the team's own floor, approved by its lead.

    No texts of its own: the customer's `words` are quoted as they were typed (in whatever
    language the customer spoke), and the Telegram layer words the rest from the catalogue
    ("Amy met this on 3 May; this method won"). `kind` is "objection" (the rep names the
    `type` and the `method`) or "closing" (the rep picks the `method` out of `options`,
    from the customer's words or the buying `signals` the rep ticked).
    """

    kind: str
    team_drill_id: int
    type: str | None
    method: str
    words: str | None
    signals: tuple[str, ...]
    options: tuple[str, ...]
    proposed_by: int
    proposer: str
    recorded_at: datetime


FileDrill = (
    ObjectionDrill
    | SignalDrill
    | ClosingDrill
    | ComplaintStepsDrill
    | ComplaintNeedDrill
    | QualifyDrill
    | ListeningDrill
    | ChoiceDrill
)
