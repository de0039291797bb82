"""The pure rules: access policy, card input checks, search text."""

from __future__ import annotations

import pytest

from bot.domain import card
from bot.domain.access import Actor, CustomerRef, Perm, Role, allows, can_manage_team, can_view_customer
from bot.domain.errors import InvalidInput
from bot.domain.search import normalise, search_text

ADMIN = Actor(1, Role.ADMIN, None, True)
LEAD = Actor(2, Role.LEAD, 10)
REP = Actor(3, Role.REP, 10)
OTHER_REP = Actor(4, Role.REP, 10)
OTHER_TEAM_REP = Actor(5, Role.REP, 20)
CUSTOMER = Actor(6, Role.CUSTOMER)
STRANGER = Actor(7, Role.STRANGER)
CARD = CustomerRef(100, 10, 3)


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        (ADMIN, True),
        (LEAD, True),
        (REP, True),
        (OTHER_REP, False),
        (OTHER_TEAM_REP, False),
        (CUSTOMER, False),
        (STRANGER, False),
    ],
)
def test_who_sees_a_card(actor: Actor, expected: bool) -> None:
    assert can_view_customer(actor, CARD) is expected


def test_team_management_is_for_its_lead_and_admins() -> None:
    assert can_manage_team(LEAD, 10) and can_manage_team(ADMIN, 20)
    assert not can_manage_team(LEAD, 20) and not can_manage_team(REP, 10)


def test_role_permissions() -> None:
    assert allows(STRANGER, Perm.ANY) and not allows(STRANGER, Perm.MEMBER)
    assert not allows(CUSTOMER, Perm.VIEW_CUSTOMER)
    assert allows(REP, Perm.EDIT_CUSTOMER) and not allows(REP, Perm.EXPORT)
    assert allows(LEAD, Perm.REASSIGN) and not allows(LEAD, Perm.ADMIN)


@pytest.mark.parametrize("bad", ["", "   ", "😀😀", "🎉 !!", "x" * 101])
def test_bad_names_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        card.check_name(bad)


def test_names_are_tidied() -> None:
    assert card.check_name("  张　伟 ") == "张 伟"
    assert card.check_name("Anna 😀") == "Anna 😀"


def test_phones() -> None:
    shown, digits = card.check_phone("138 0013 8000")
    assert digits == "8613800138000" and shown.startswith("+86")
    assert card.check_phone("+49 170 1234567")[1] == "491701234567"
    with pytest.raises(InvalidInput):
        card.check_phone("hello")


def test_tags_scores_days_timezones() -> None:
    assert card.check_tags("#VIP, golf 高尔夫、VIP") == ["VIP", "golf", "高尔夫"]
    assert card.check_score("3") == 3
    with pytest.raises(InvalidInput):
        card.check_score("6")
    assert card.check_days("30") == 30
    with pytest.raises(InvalidInput):
        card.check_days("0")
    assert card.check_timezone("Asia/Shanghai") == "Asia/Shanghai"
    with pytest.raises(InvalidInput):
        card.check_timezone("Mars/Olympus")


def test_search_text_has_pinyin_initials_and_tags() -> None:
    text = search_text(
        name="张伟",
        nickname=None,
        company="华东 建材",
        phone_digits="8613800138001",
        email=None,
        tags=["VIP"],
        extra_values=["钓鱼"],
    )
    for needle in ("张伟", "zhangwei", "zw", "华东建材", "13800138001", "#vip", "钓鱼"):
        assert normalise(needle) in text


def test_grades_by_revenue_rank() -> None:
    from decimal import Decimal

    from bot.domain.grading import cutoffs_from, grades_by_revenue

    totals = [(i, Decimal(1000 - i * 10)) for i in range(10)] + [(99, Decimal(0))]
    grades = grades_by_revenue(totals)
    assert [grades[i] for i in range(10)] == ["A", "A", "B", "B", "B", "C", "C", "C", "C", "C"]
    assert 99 not in grades
    assert grades_by_revenue([(1, Decimal(5)), (2, Decimal(5))]) == {1: "A", 2: "A"}
    assert cutoffs_from({"grade_cutoffs": [0.1, 0.4]}) == (0.1, 0.4)
    assert cutoffs_from({"grade_cutoffs": "junk"}) == (0.2, 0.5)
    assert cutoffs_from({"grade_cutoffs": [0.1, "x"]}) == (0.2, 0.5)
