"""Loyalty, churn risk and contact rhythm (METHODOLOGY §8), and how a long digest is split."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from bot.domain import analytics
from bot.domain.analytics import PurchaseFacts
from bot.telegram.digest import pack
from bot.telegram.ui import visible_length

TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 2, tzinfo=UTC)


def facts(
    *days_ago: int, amount: int = 100, items: str = "tea", satisfaction: int | None = None
) -> PurchaseFacts:
    return PurchaseFacts.of(
        [(TODAY - timedelta(days=d), Decimal(amount), items) for d in days_ago],
        today=TODAY,
        satisfaction=satisfaction,
    )


def test_purchase_facts_count_years_and_distinct_items() -> None:
    found = PurchaseFacts.of(
        [
            (date(2026, 11, 1), Decimal(10), "茶叶、茶具"),
            (date(2026, 1, 1), Decimal(20), "茶叶"),
            (date(2025, 6, 1), Decimal(30), "Tea set, cups"),
        ],
        today=TODAY,
    )
    assert (found.count, found.revenue, found.first, found.last) == (
        3,
        Decimal(60),
        date(2025, 6, 1),
        date(2026, 11, 1),
    )
    assert (found.last_year, found.year_before, found.items) == (2, 1, 4)


def test_usual_interval_needs_two_purchases_on_different_days() -> None:
    assert analytics.usual_interval(facts(10)) is None
    assert analytics.usual_interval(facts(10, 10)) is None
    assert analytics.usual_interval(facts(90, 60, 30)) == 30


def test_churn_risk_is_well_over_the_usual_interval() -> None:
    assert analytics.churn_risk(facts(150, 120, 90), today=TODAY) is not None  # 90 days, usually 30
    risk = analytics.churn_risk(facts(150, 120, 90), today=TODAY)
    assert risk is not None and (risk.days_since, risk.interval, risk.ratio) == (90, 30.0, 3.0)
    assert analytics.churn_risk(facts(105, 75, 45), today=TODAY) is None, "1.5× exactly is not yet"
    assert analytics.churn_risk(facts(106, 76, 46), today=TODAY) is not None
    assert analytics.churn_risk(facts(24, 22, 12), today=TODAY) is None, "recent buyers never (under 14 days)"
    assert analytics.churn_risk(facts(24, 22, 20), today=TODAY) is not None
    assert analytics.churn_risk(facts(150, 120, 90), today=TODAY, factor=4) is None
    assert analytics.churn_risk(facts(400), today=TODAY) is None, "one purchase has no usual interval"


def test_churn_factor_comes_from_the_team_within_bounds() -> None:
    assert analytics.churn_factor({}) == analytics.DEFAULT_CHURN_FACTOR
    assert analytics.churn_factor({"analytics": {"churn_factor": 2}}) == 2.0
    assert analytics.churn_factor({"analytics": {"churn_factor": 0.5}}) == analytics.DEFAULT_CHURN_FACTOR
    assert analytics.churn_factor({"analytics": "x"}) == analytics.DEFAULT_CHURN_FACTOR


def test_loyalty_rises_with_each_indicator() -> None:
    reference = Decimal(1000)
    base = analytics.loyalty(facts(300, 200), today=TODAY, reference_revenue=reference)
    longer = analytics.loyalty(facts(1000, 200), today=TODAY, reference_revenue=reference)
    frequent = analytics.loyalty(facts(300, 250, 200, 150, 100, 50), today=TODAY, reference_revenue=reference)
    richer = analytics.loyalty(facts(300, 200, amount=500), today=TODAY, reference_revenue=reference)
    varied = analytics.loyalty(
        facts(300, 200, items="tea, cups, kettle"), today=TODAY, reference_revenue=reference
    )
    happy = analytics.loyalty(facts(300, 200, satisfaction=5), today=TODAY, reference_revenue=reference)
    unhappy = analytics.loyalty(facts(300, 200, satisfaction=1), today=TODAY, reference_revenue=reference)
    for better in (longer, frequent, richer, varied, happy):
        assert better.score > base.score, better
    assert unhappy.score < base.score
    assert 0 <= unhappy.score <= happy.score <= 100


def test_loyalty_trend_compares_this_year_with_the_last() -> None:
    growing = analytics.loyalty(facts(500, 100, 50, 10), today=TODAY, reference_revenue=Decimal(1000))
    fading = analytics.loyalty(facts(500, 450, 400, 10), today=TODAY, reference_revenue=Decimal(1000))
    assert growing.parts["trend"] == 0.83 and fading.parts["trend"] == 0.17
    assert growing.score > fading.score


def test_loyalty_of_a_customer_who_never_bought() -> None:
    assert analytics.loyalty(facts(), today=TODAY, reference_revenue=Decimal(0)).score == 0
    only_satisfaction = analytics.loyalty(facts(satisfaction=5), today=TODAY, reference_revenue=Decimal(0))
    assert only_satisfaction.score == 100 and only_satisfaction.parts["frequency"] is None


def test_contact_rhythm() -> None:
    rhythm = analytics.rhythm_of({"care": {"rhythm": {"A": 7, "B": 400, "X": 3}}})
    assert rhythm == {"A": 7, "B": 30, "C": 90}, "bad values keep the default"
    assert analytics.contact_every("A", None, rhythm) == 7
    assert analytics.contact_every("A", 3, rhythm) == 3, "the customer's own rhythm first"
    assert analytics.contact_every(None, None, rhythm) == analytics.UNGRADED_RHYTHM
    created = NOW - timedelta(days=100)
    assert (
        analytics.rhythm_breach(
            last_contact=NOW - timedelta(days=8), created=created, every=7, stage="won", now=NOW
        )
        == 8
    )
    assert (
        analytics.rhythm_breach(
            last_contact=NOW - timedelta(days=7), created=created, every=7, stage="won", now=NOW
        )
        is None
    )
    assert analytics.rhythm_breach(last_contact=None, created=created, every=90, stage="find", now=NOW) == 100
    assert analytics.rhythm_breach(last_contact=None, created=created, every=7, stage="lost", now=NOW) is None


def test_pack_joins_blocks_and_splits_only_at_line_breaks() -> None:
    lines = [f"• <b>Rep {n}</b>: 📝 {n}" for n in range(400)]
    blocks = ["<b>Head</b>", "\n".join(lines), "tail"]
    messages = pack(blocks, budget=1000)
    assert len(messages) > 5 and all(visible_length(m) <= 1000 for m in messages)
    joined = "\n".join(messages)
    assert all(line in joined for line in lines) and messages[0].startswith("<b>Head</b>\n\n")
    assert all(m.count("<b>") == m.count("</b>") for m in messages), "no tag cut in two"
    assert pack(["a", "b"]) == ["a\n\nb"]
    assert pack([]) == []
