"""What a digest is made of: its period, each member's activity, the lists' lines, and the whole.

Plain dataclasses and constants, no queries: `figures`, `lists` and `views` fill them,
the Telegram layer renders them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.domain import money
from bot.domain.card import Stage
from bot.domain.care import zone
from bot.scheduling import outbox

if TYPE_CHECKING:
    from bot.services.practice import TeamPractice

LIST_MAX = 5  # items of each list in the digest itself; the buttons open the rest
PAGE = 10  # items per page of a drill-down list
CHART_DAYS = 14  # a daily digest's activity chart shows the last two weeks; a report's, its period
NOTE_KINDS = ("note", "call", "visit", "message")  # what a rep writes (not system entries)
CONTACT_KINDS = ("call", "visit", "message")
DIGEST = outbox.DIGEST  # the outbox occasion of a planned daily digest
INTERNAL_OCCASIONS = (outbox.AGENDA, outbox.PRACTICE, DIGEST)  # outbox rows that are not care messages
STAGES = [stage.value for stage in Stage]


@dataclass(frozen=True)
class Period:
    """Whole local days, first to last inclusive, in one timezone."""

    first: date
    last: date
    tz: str

    @property
    def start(self) -> datetime:
        """The first moment of the period, in UTC."""
        return datetime.combine(self.first, time(0), tzinfo=ZoneInfo(self.tz)).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The first moment after the period, in UTC."""
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=ZoneInfo(self.tz)).astimezone(
            UTC
        )

    @property
    def days(self) -> int:
        """How many days it covers."""
        return (self.last - self.first).days + 1

    @classmethod
    def ending(cls, last: date, days: int, tz: str) -> Period:
        """The `days` days up to and including `last`."""
        return cls(last - timedelta(days=days - 1), last, tz)


def period_for(kind: str, *, now: datetime, tz: str) -> Period:
    """The period of a digest (yesterday) or a report (the last 7 or 30 days, today included)."""
    today = now.astimezone(zone(tz, "UTC")).date()
    if kind == "day":
        return Period(today - timedelta(days=1), today - timedelta(days=1), tz)
    return Period.ending(today, 7 if kind == "week" else 30, tz)


@dataclass
class RepActivity:
    """What one member of the team did in the period."""

    user_id: int
    name: str
    role: str
    notes: int = 0
    contacts: int = 0  # notes marked as a call, visit or message
    playbooks: int = 0  # playbook runs finished
    new_customers: int = 0
    stage_moves: int = 0
    wins: int = 0  # purchases recorded for the period
    amount: Decimal = Decimal(0)
    behind: int = 0  # their customers behind the contact rhythm, now
    overdue: int = 0  # their follow-ups past due, now

    @property
    def idle(self) -> bool:
        """Nothing done in the period."""
        return not (self.notes or self.playbooks or self.new_customers or self.stage_moves or self.wins)


@dataclass(frozen=True)
class Objection:
    """One objection type of the period: how often, and the method that won most."""

    type: str
    tries: int
    wins: int
    best_method: str | None
    best_wins: int
    best_tries: int = 0  # the best method's own tries against this type, as /stats counts them


@dataclass(frozen=True)
class Item:
    """A line of a list: a customer (or a follow-up about one) and what is due."""

    customer_id: int | None
    name: str
    owner: str
    detail: dict[str, Any] = field(default_factory=dict)
    ref: int | None = None  # the row the line is about, for its buttons (a complaint's outcome id)


@dataclass(frozen=True)
class Listing:
    """A page of one of the digest's lists, and how many there are in all."""

    items: list[Item]
    total: int


@dataclass
class Digest:
    """Everything a lead's digest or report shows."""

    team_id: int
    team: str
    kind: str  # day | week | month
    period: Period
    today: date
    reps: list[RepActivity]
    pipeline: dict[str, int]
    moved_in: dict[str, int]
    objections: list[Objection]
    closings: tuple[int, int]  # (won, tries)
    care: dict[str, int]  # by status: sent, handed, failed, skipped (in the period), review (now)
    overdue: Listing
    complaints: Listing
    at_risk: Listing
    quiet_a: Listing
    activity: list[tuple[date, int, int]]  # (day, notes, wins) for the chart
    chart_period: Period  # the days `activity` covers (the chart's title names them)
    currency: str = money.DEFAULT_CURRENCY
    behind_total: int = 0
    care_in_doubt: int = 0  # of care["failed"], those Telegram may have delivered (not resent)
    practice: TeamPractice | None = None  # who practised in the period, and their weak spots
    proposals: int = 0  # drills from the team's floor waiting for the lead's approval

    @property
    def listed(self) -> list[RepActivity]:
        """Members with a line of their own: whoever did something or has something overdue."""
        return [r for r in self.reps if not r.idle or r.behind or r.overdue]

    @property
    def idle_reps(self) -> list[RepActivity]:
        """Reps who did nothing; a lead reads the digest, so an idle lead is not listed as one."""
        return [r for r in self.reps if r.role != "lead" and r not in self.listed]

    @property
    def totals(self) -> RepActivity:
        """The whole team's activity."""
        out = RepActivity(0, self.team, "team")
        for rep in self.reps:
            for name in ("notes", "contacts", "playbooks", "new_customers", "stage_moves", "wins", "amount"):
                setattr(out, name, getattr(out, name) + getattr(rep, name))
        out.behind, out.overdue = self.behind_total, self.overdue.total
        return out
