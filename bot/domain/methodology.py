"""The techniques of the sales method (METHODOLOGY.md), by stable id, per shipped playbook.

A playbook step or option says which techniques it teaches with `covers = [...]`.
The tests hold each shipped playbook to its list here, so a technique cannot quietly
drop out of the bot. The ids name techniques, not wording: texts may change freely.
"""

from __future__ import annotations


def _ids(prefix: str, *names: str) -> tuple[str, ...]:
    return tuple(f"{prefix}.{name}" for name in names)


# §2 step 1: the eight channels customers come from (the card's source_channel choices).
SOURCE_CHANNELS = _ids(
    "qualify.source",
    "acquaintance",
    "business_contact",
    "advertising",
    "directory",
    "press",
    "competitor",
    "referral",
    "internet",
)
# §2 step 2: the five qualification factors.
FACTORS = _ids("qualify.factor", "need", "volume", "power", "credit", "authority")
# §6: the willingness questions.
WILLINGNESS = _ids(
    "qualify.willingness",
    "used_similar",
    "knows_ours",
    "how_much",
    "knows_competitors",
    "knows_users",
    "knows_value",
    "cost_of_poor_quality",
    "knows_our_quality",
    "influence",
    "deciders",
)

# §2 step 3 and the eight true sayings.
APPROACH = _ids("approach", "materials", "product_intro", "customer_type", "visit_plan", "opening")
SAYINGS = _ids(
    "approach.saying",
    "plan_ahead",
    "first_impression",
    "listen",
    "sincere",
    "spark_interest",
    "seize_moment",
    "dig_projects",
    "dissolve_resistance",
)

# §2 step 4.
PRESENT = (
    "present.selling_points",
    "present.psychology",
    *_ids("present.benefit", "product", "company", "differential"),
    *_ids("present.fabv", "feature", "function", "benefit", "value"),
    *_ids("present.sell", "negotiation", "wording", "demonstration"),
)

# §3.
OBJECTION_TYPES = ("need", "money", "authority", "price", "product", "salesperson", "timing")
OBJECTION = (
    *_ids("objection.type", *OBJECTION_TYPES),
    *_ids("objection.principle", "prepare", "timing", "no_argument", "save_face"),
    *_ids("objection.method", "yes_but", "boomerang", "compensate", "tactful", "merge", "rebut", "ignore"),
    *_ids("objection.wording", *OBJECTION_TYPES),  # example wording for each type
    *_ids("objection.listening", "listen_first", "agree_then_guide", "pitfalls"),
)

# §4.
CLOSING = (
    *_ids(
        "closing.signal",
        "praises",
        "asks_use",
        "asks_terms",
        "asks_references",
        "handles_form",
        "touches",
        "voice_firm",
        "relaxes",
        "tries",
    ),
    *_ids(
        "closing.strategy",
        "watch_signals",
        "ready_any_time",
        "attitude",
        "last_chance",
        "setting",
        "weigh",
        "reserve",
    ),
    *_ids("closing.principle", "initiative", "confidence", "persistence"),
    *_ids(
        "closing.method",
        "direct",
        "hint",
        "frank",
        "assumptive",
        "alternative",
        "minor_point",
        "guarantee",
        "benefit_summary",
        "precondition",
        "weakness",
        "sedan_chair",
        "contest",
    ),
)

# §5.
COMPLAINT = (
    *_ids("complaint.step", "listen", "sympathise", "apologise", "propose", "carry_out", "review"),
    *_ids("complaint.need", "fast_fix", "respect", "explanation", "compensation", "assurance"),
)

# §5 upkeep and §8 measuring loyalty.
REVISIT = (
    *_ids("revisit.check", "transaction", "quantities", "training", "documents", "new_ideas"),
    *_ids("revisit.loyalty", "repeat", "choosing_time", "price_sensitivity", "competitors", "tolerance"),
    "revisit.satisfaction",
)

# §5 switching costs and the sixteen ways to raise them.
WINBACK = (
    *_ids("winback.switching", "learning", "economic", "emotional"),
    *_ids(
        "winback.idea",
        "quality",
        "service",
        "bundles",
        "status",
        "brand",
        "personal_care",
        "promote",
        "planned_visits",
        "differentiated",
        "agreements",
        "points",
        "events",
        "clubs",
        "people_around",
        "habits",
        "emotional_bank",
    ),
)

# Each shipped playbook and the techniques it must teach.
REQUIRED: dict[str, tuple[str, ...]] = {
    "qualify": (*SOURCE_CHANNELS, *FACTORS, *WILLINGNESS),
    "approach": (*APPROACH, *SAYINGS),
    "present": PRESENT,
    "objection": OBJECTION,
    "closing": CLOSING,
    "complaint": COMPLAINT,
    "revisit": REVISIT,
    "winback": WINBACK,
}
