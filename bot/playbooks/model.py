"""The playbook file format: typed models parsed from one TOML file per playbook.

A playbook is a graph of steps. Steps the rep sees (a tip to read, a question with
buttons, a typed answer) alternate with silent steps the engine passes through on its
own (a branch on earlier answers, writing to the card, a reminder, an outcome
record). `PLAYBOOKS.md` in `playbooks/` documents the format for authors; the checker
(`bot.playbooks.check`) holds every file to it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

ID_PATTERN = r"^[a-z][a-z0-9_]{0,23}$"
TECHNIQUE_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$"

StepId = Annotated[str, Field(pattern=ID_PATTERN)]
Technique = Annotated[str, Field(pattern=TECHNIQUE_PATTERN)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Text(_Strict):
    """A text in both languages (a Jinja template; `customer` is the customer's name)."""

    zh: str = ""
    en: str = ""

    def get(self, lang: str) -> str:
        """The text in a language (English when asked for one the file lacks)."""
        return self.zh if lang == "zh" else self.en


class Option(_Strict):
    """One button of a choice or checklist step."""

    id: StepId
    label: Text
    next: StepId | None = None  # where this choice leads; the step's `next` otherwise
    covers: tuple[Technique, ...] = ()


class Condition(_Strict):
    """A test on earlier answers: exactly one subject and at least one test."""

    answer: StepId | None = None  # the answer kept under this key
    total: tuple[StepId, ...] = ()  # or the sum of these numeric answers
    is_: str | None = Field(default=None, alias="is")
    in_: tuple[str, ...] = Field(default=(), alias="in")
    contains: str | None = None  # a checklist answer includes this option
    count_at_least: int | None = None  # a checklist answer has at least this many ticks
    at_least: float | None = None
    at_most: float | None = None
    answered: bool | None = None


class Case(_Strict):
    """A branch's case: when the condition holds, go to `next`."""

    when: Condition
    next: StepId


class Rank(_Strict):
    """Order a choice's options by how often they won, from the team's outcome records."""

    record: str  # the record kind, e.g. "objection"
    match: StepId | None = None  # only records whose type equals this answer


class _Step(_Strict):
    id: StepId
    covers: tuple[Technique, ...] = ()


class _Asks(_Step):
    """A step the rep sees and answers."""

    text: Text
    label: Text | None = None  # how the answer is named in the summary note
    save_as: StepId | None = None  # the answer's key (the step id otherwise)
    optional: bool = False  # offers Skip
    next: StepId | None = None

    @property
    def key(self) -> str:
        """Where the answer is kept."""
        return self.save_as or self.id


class Tip(_Step):
    """Something to check or say; `script` is wording the rep can copy to the customer."""

    kind: Literal["tip"]
    text: Text
    script: Text | None = None
    next: StepId | None = None


class Choice(_Asks):
    """One of several buttons."""

    kind: Literal["choice"]
    options: tuple[Option, ...]
    rank: Rank | None = None


class Checklist(_Asks):
    """Tick any number of boxes, then Done."""

    kind: Literal["checklist"]
    options: tuple[Option, ...]
    min: int = 0


class FreeText(_Asks):
    """A typed answer (the customer's own words, a reason, an idea)."""

    kind: Literal["text"]
    max_length: int = 1000


class Number(_Asks):
    """A typed amount or count (`1.5万`, `¥3,000` and `12` all read)."""

    kind: Literal["number"]
    min: float | None = None
    max: float | None = None


class DateAnswer(_Asks):
    """A typed date, read the way people write them (`明天`, `周五`, `5月17日`)."""

    kind: Literal["date"]
    past: bool = False  # a date that has been (a last visit) rather than one to come


class Scale(_Asks):
    """A 1–5 score with buttons."""

    kind: Literal["scale"]


class Branch(_Step):
    """Go to the first case whose condition holds, else to `default`."""

    kind: Literal["branch"]
    cases: tuple[Case, ...]
    default: StepId


class _Writes(_Step):
    """A silent step whose value is fixed, or taken from an answer (mapped if `map`)."""

    source: StepId | None = Field(default=None, alias="from")
    map: dict[str, str] = Field(default_factory=dict)
    next: StepId | None = None


class SetField(_Writes):
    """Write to a card field: add a dated line, fill it if empty, or replace a picked value.

    Without `mode`, free text is added to and a picked value replaced (see
    `bot.domain.card.write_modes`); nothing a rep typed is ever overwritten.
    """

    kind: Literal["field"]
    field: str
    value: str | None = None
    mode: Literal["append", "fill", "replace"] | None = None


class SetStage(_Writes):
    """Move the customer to a stage.

    `lost` is a lost deal: a customer who has bought before stays a customer. Only
    `customer_lost = true` (the customer is gone, as in a failed win-back) moves a
    paying customer to lost.
    """

    kind: Literal["stage"]
    stage: str | None = None
    customer_lost: bool = False


class SetGrade(_Writes):
    """Suggest a grade: it holds until the customer's purchases grade them, and never over the rep's own."""

    kind: Literal["grade"]
    grade: str | None = None


class Remind(_Step):
    """A follow-up reminder for the rep, `in_days` from today or on a date answer."""

    kind: Literal["remind"]
    text: Text
    in_days: int | None = None
    source: StepId | None = Field(default=None, alias="from")
    next: StepId | None = None


class Record(_Step):
    """An outcome record (objection, closing, complaint…) the team's statistics use."""

    kind: Literal["record"]
    record: str
    fields: dict[str, StepId] = Field(default_factory=dict)  # record column → answer key
    values: dict[str, str] = Field(default_factory=dict)  # record column → fixed value
    next: StepId | None = None


class Sale(_Step):
    """Record a purchase, as the card's purchase button does."""

    kind: Literal["purchase"]
    amount: StepId
    items: StepId | None = None
    next: StepId | None = None


class End(_Step):
    """The end of the run: its outcome and a closing word for the rep."""

    kind: Literal["end"]
    outcome: StepId
    label: Text | None = None  # the outcome as the summary note names it
    text: Text


Step = Annotated[
    Tip
    | Choice
    | Checklist
    | FreeText
    | Number
    | DateAnswer
    | Scale
    | Branch
    | SetField
    | SetStage
    | SetGrade
    | Remind
    | Record
    | Sale
    | End,
    Field(discriminator="kind"),
]

ASKS = (Choice, Checklist, FreeText, Number, DateAnswer, Scale)
SHOWN = (Tip, *ASKS, End)  # steps the rep sees; the others are passed through silently
SILENT = (Branch, SetField, SetStage, SetGrade, Remind, Record, Sale)
Asks = Choice | Checklist | FreeText | Number | DateAnswer | Scale
Shown = Tip | Asks | End


class Playbook(_Strict):
    """One playbook file."""

    id: StepId
    order: int = 100  # position in the menu
    stages: tuple[str, ...] = ()  # the stages it suits, for the suggestion
    title: Text
    about: Text
    start: StepId
    steps: tuple[Step, ...]

    _by_id: dict[str, Any] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        """Index the steps by id (duplicates are the checker's to report; the first wins)."""
        for step in reversed(self.steps):
            self._by_id[step.id] = step

    def step(self, step_id: str) -> Any:
        """A step by id (KeyError if there is none)."""
        return self._by_id[step_id]

    def has(self, step_id: str) -> bool:
        """Whether the playbook has this step."""
        return step_id in self._by_id

    def answer_steps(self) -> dict[str, Asks]:
        """The steps that produce each answer key."""
        return {step.key: step for step in self.steps if isinstance(step, ASKS)}


def successors(step: Any) -> list[str]:
    """Where a step can lead next."""
    if isinstance(step, End):
        return []
    if isinstance(step, Branch):
        return [case.next for case in step.cases] + [step.default]
    if isinstance(step, Choice):
        return [target for option in step.options if (target := option.next or step.next)]
    nxt = getattr(step, "next", None)
    return [nxt] if nxt else []
