"""Amounts as people type them: `1.5万`, `¥3,000`, `2k`, `12`."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from bot.domain.card import clean_text
from bot.domain.errors import InvalidInput

AMOUNT_LIMIT = Decimal("1e12")
_SIGNS = ("¥", "￥", "$", "元", "rmb", "RMB", "CNY", "cny")


def parse_number(raw: str, *, error: str = "error.amount") -> Decimal:
    """A non-negative number with optional decimals, commas, currency signs and 万/k."""
    text = clean_text(raw).replace(",", "").replace("，", "")
    multiplier = Decimal(1)
    for sign in _SIGNS:
        text = text.replace(sign, "")
    if text.endswith("万"):
        multiplier, text = Decimal(10000), text[:-1]
    elif text.lower().endswith("k"):
        multiplier, text = Decimal(1000), text[:-1]
    try:
        amount = Decimal(text.strip()) * multiplier
    except InvalidOperation:
        raise InvalidInput(error) from None
    if not amount.is_finite() or amount < 0 or amount >= AMOUNT_LIMIT:
        raise InvalidInput(error)
    return amount.quantize(Decimal("0.01"))
