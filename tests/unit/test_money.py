"""Amounts as people type them (bot.domain.money): digits, 万/千 shorthand, Chinese numerals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.domain.errors import InvalidInput
from bot.domain.money import parse_number


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        # The spoken shorthand: the digit after a unit counts in the next unit down.
        ("3万5", "35000"),
        ("三万五", "35000"),
        ("1万2", "12000"),
        ("两万", "20000"),
        ("五千", "5000"),
        ("3千5", "3500"),
        ("一百五", "150"),
        ("3k5", "3500"),
        # Written out in full.
        ("三万五千", "35000"),
        ("3万5千元", "35000"),
        ("一万零五", "10005"),
        ("十万", "100000"),
        ("十五万", "150000"),
        ("一百二十万", "1200000"),
        ("两千三百", "2300"),
        ("1亿2000万", "120000000"),
        ("2.5万", "25000"),
        ("3w", "30000"),
        ("¥3万5", "35000"),
        ("3万5千块", "35000"),
        ("３万５", "35000"),
        ("3 万 5", "35000"),
    ],
)
def test_chinese_amounts(typed: str, amount: str) -> None:
    assert parse_number(typed) == Decimal(amount)


@pytest.mark.parametrize("typed", ["万", "千五", "五五", "3万万", "三百五千", "万3", "3万5万", "一二三"])
def test_chinese_amounts_that_make_no_number(typed: str) -> None:
    with pytest.raises(InvalidInput):
        parse_number(typed)
