"""Amounts as people type them (`1.5万`, `¥3,000`, `2k`, `12`) and as a team reads them (`¥15,000.00`)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

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


# ---------------------------------------------------------------- showing amounts

CURRENCIES = ("¥", "US$", "€", "HK$", "£")  # the signs a team can choose (settings["currency"])
DEFAULT_CURRENCY = CURRENCIES[0]


def currency_of(settings: Mapping[str, Any]) -> str:
    """The team's currency sign (¥ unless the lead chose another)."""
    found = settings.get("currency")
    return found if isinstance(found, str) and found in CURRENCIES else DEFAULT_CURRENCY


def format_money(amount: Decimal, currency: str) -> str:
    """An amount with its currency sign, thousands separators and cents: ¥15,000.00."""
    return f"{currency}{amount:,.2f}"
