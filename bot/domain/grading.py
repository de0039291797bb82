"""A/B/C grades from revenue (METHODOLOGY §6: differentiate customers by value)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

# Top 20% of paying customers by revenue are A, the next 30% B, the rest C.
DEFAULT_CUTOFFS = (0.2, 0.5)


def grades_by_revenue(
    totals: Sequence[tuple[int, Decimal]], cutoffs: tuple[float, float] = DEFAULT_CUTOFFS
) -> dict[int, str]:
    """Grade each paying customer by rank of revenue; ties share the better grade."""
    ranked = sorted((t for t in totals if t[1] > 0), key=lambda t: t[1], reverse=True)
    count = len(ranked)
    if not count:
        return {}
    a_until = max(1, math.ceil(count * cutoffs[0]))
    b_until = max(a_until, math.ceil(count * cutoffs[1]))
    grades: dict[int, str] = {}
    previous: tuple[Decimal, str] | None = None
    for index, (customer_id, revenue) in enumerate(ranked):
        grade = "A" if index < a_until else "B" if index < b_until else "C"
        if previous is not None and previous[0] == revenue:
            grade = previous[1]
        grades[customer_id] = grade
        previous = (revenue, grade)
    return grades


def cutoffs_from(settings: dict[str, object]) -> tuple[float, float]:
    """The team's configured cut-offs, or the default 20% / 50%."""
    raw = settings.get("grade_cutoffs")
    if isinstance(raw, list | tuple) and len(raw) == 2 and all(isinstance(x, int | float) for x in raw):
        first, second = float(raw[0]), float(raw[1])
        if 0 < first <= second <= 1:
            return first, second
    return DEFAULT_CUTOFFS
