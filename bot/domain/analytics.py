"""Customer analytics: loyalty, churn risk and contact rhythm (METHODOLOGY §6 and §8).

Pure functions over a customer's purchase history and the team's rules; the digest,
the reports and the card all call these, so a figure means the same thing everywhere.
Grades from revenue live in `grading`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

DEFAULT_RHYTHM = {"A": 14, "B": 30, "C": 90}  # days between contacts, per grade
UNGRADED_RHYTHM = 60
DEFAULT_CHURN_FACTOR = 1.5  # "well over" the usual interval between purchases
CHURN_MIN_DAYS = 14  # never call someone at risk who bought in the last two weeks
RESTING_STAGES = ("lost",)  # nobody expects regular contact with these

# How much each loyalty indicator weighs (METHODOLOGY §8's nine, less the three the
# bot has no data for: referrals, price sensitivity, voluntariness).
LOYALTY_WEIGHTS = {
    "duration": 15,  # how long they have been buying
    "frequency": 20,  # purchases a year
    "trend": 15,  # buying more or less often than the year before
    "spend": 20,  # revenue against the team's best customers
    "cross_selling": 10,  # how many different things they buy
    "satisfaction": 20,  # the latest satisfaction score of an after-sale visit
}
DURATION_FULL_DAYS = 3 * 365
FREQUENCY_FULL = 6.0  # purchases a year that earn full marks
CROSS_SELLING_FULL = 3  # distinct items that earn full marks
YEAR = 365


@dataclass(frozen=True)
class PurchaseFacts:
    """What the analytics need of one customer's purchases."""

    count: int
    revenue: Decimal
    first: date | None
    last: date | None
    last_year: int = 0  # purchases in the 365 days up to today
    year_before: int = 0  # purchases in the 365 days before that
    items: int = 0  # distinct items bought
    satisfaction: int | None = None  # 1-5, the latest after-sale visit's score

    @classmethod
    def of(
        cls,
        purchases: Sequence[tuple[date, Decimal, str]],
        *,
        today: date,
        satisfaction: int | None = None,
    ) -> PurchaseFacts:
        """Facts from a list of (day, amount, items)."""
        days = sorted(day for day, _, _ in purchases)
        names = {
            part.strip().lower()
            for _, _, items in purchases
            for part in items.replace("，", ",").replace("、", ",").split(",")
            if part.strip()
        }
        return cls(
            count=len(days),
            revenue=sum((amount for _, amount, _ in purchases), Decimal(0)),
            first=days[0] if days else None,
            last=days[-1] if days else None,
            last_year=sum(1 for day in days if today - timedelta(days=YEAR) < day <= today),
            year_before=sum(
                1 for day in days if today - timedelta(days=2 * YEAR) < day <= today - timedelta(days=YEAR)
            ),
            items=len(names),
            satisfaction=satisfaction,
        )


def usual_interval(facts: PurchaseFacts) -> float | None:
    """Mean days between purchases, or None with fewer than two on different days."""
    if facts.count < 2 or facts.first is None or facts.last is None or facts.last == facts.first:
        return None
    return (facts.last - facts.first).days / (facts.count - 1)


@dataclass(frozen=True)
class ChurnRisk:
    """A customer who has not bought for well over their usual interval."""

    days_since: int
    interval: float
    ratio: float  # days since the last purchase / usual interval


def churn_risk(
    facts: PurchaseFacts, *, today: date, factor: float = DEFAULT_CHURN_FACTOR
) -> ChurnRisk | None:
    """The risk, when the customer is overdue by more than `factor` times their interval."""
    interval = usual_interval(facts)
    if interval is None or facts.last is None:
        return None
    days = (today - facts.last).days
    if days < CHURN_MIN_DAYS or days <= factor * interval:
        return None
    return ChurnRisk(days, round(interval, 1), round(days / interval, 1))


@dataclass(frozen=True)
class Loyalty:
    """A 0-100 score and the indicators it is made of (each 0-1, None when unknown)."""

    score: int
    parts: dict[str, float | None] = field(default_factory=dict)


def loyalty(facts: PurchaseFacts, *, today: date, reference_revenue: Decimal) -> Loyalty:
    """Loyalty from the indicators the data supports; unknown ones do not count.

    `reference_revenue` is what a top customer of the team spends (the A grade's
    threshold); spending that much earns full marks for spend.
    """
    parts: dict[str, float | None] = dict.fromkeys(LOYALTY_WEIGHTS)
    if facts.count and facts.first is not None:
        span = max((today - facts.first).days, 1)
        parts["duration"] = min(1.0, span / DURATION_FULL_DAYS)
        parts["frequency"] = min(1.0, facts.count * YEAR / max(span, 30) / FREQUENCY_FULL)
        if facts.last_year or facts.year_before:
            # 0.5 holds steady; buying twice as often as the year before is full marks.
            change = (facts.last_year - facts.year_before) / max(facts.last_year, facts.year_before)
            parts["trend"] = 0.5 + change / 2
        if reference_revenue > 0:
            parts["spend"] = min(1.0, float(facts.revenue / reference_revenue))
        parts["cross_selling"] = min(1.0, facts.items / CROSS_SELLING_FULL)
    if facts.satisfaction is not None:
        parts["satisfaction"] = (min(max(facts.satisfaction, 1), 5) - 1) / 4
    known = {name: value for name, value in parts.items() if value is not None}
    if not known:
        return Loyalty(0, parts)
    weight = sum(LOYALTY_WEIGHTS[name] for name in known)
    score = sum(LOYALTY_WEIGHTS[name] * value for name, value in known.items()) / weight
    return Loyalty(round(score * 100), {k: None if v is None else round(v, 2) for k, v in parts.items()})


def rhythm_of(settings: Mapping[str, Any]) -> dict[str, int]:
    """Days between contacts per grade, from `team.settings["care"]["rhythm"]`."""
    care = settings.get("care") if isinstance(settings, Mapping) else None
    raw = care.get("rhythm") if isinstance(care, Mapping) else None
    out = dict(DEFAULT_RHYTHM)
    if isinstance(raw, Mapping):
        for grade, days in raw.items():
            if grade in out and isinstance(days, int) and 1 <= days <= 365:
                out[grade] = days
    return out


def contact_every(grade: str | None, own: int | None, rhythm: Mapping[str, int]) -> int:
    """Days between contacts for a customer: their own setting, else their grade's."""
    return own or rhythm.get(grade or "", UNGRADED_RHYTHM)


def rhythm_breach(
    *, last_contact: datetime | None, created: datetime, every: int, stage: str, now: datetime
) -> int | None:
    """Days since the last contact when that is more than `every`, else None."""
    if stage in RESTING_STAGES:
        return None
    days = (now - (last_contact or created)).days
    return days if days > every else None


def churn_factor(settings: Mapping[str, Any]) -> float:
    """The team's churn factor (`settings["analytics"]["churn_factor"]`), 1.2 to 5."""
    raw = settings.get("analytics") if isinstance(settings, Mapping) else None
    value = raw.get("churn_factor") if isinstance(raw, Mapping) else None
    if isinstance(value, int | float) and 1.2 <= value <= 5:
        return float(value)
    return DEFAULT_CHURN_FACTOR
