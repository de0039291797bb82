"""Amounts as people type them (`1.5万`, `¥3,000`, `2k`, `12`, `3万5`, `三万五`, `五千`)
and as a team reads them (`¥15,000.00`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from bot.domain.card import clean_text
from bot.domain.errors import InvalidInput
from bot.domain.numerals import CN_DIGITS

AMOUNT_LIMIT = Decimal("1e12")
_SIGNS = ("¥", "￥", "$", "块钱", "块", "元", "rmb", "cny")

# Units below 万 build a section; 万 and 亿 multiply everything before them.
_SMALL_UNITS: Final = {"十": 10, "百": 100, "千": 1000, "k": 1000}
_BIG_UNITS: Final = {"万": 10**4, "w": 10**4, "亿": 10**8}
_TOKEN: Final = re.compile(r"\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千万亿kw]")


def parse_number(raw: str, *, error: str = "error.amount") -> Decimal:
    """A non-negative number: decimals, commas, currency signs, 万/千/k/w and Chinese numerals."""
    text = clean_text(raw).lower().replace(",", "").replace("，", "")
    for sign in _SIGNS:
        text = text.replace(sign, "")
    text = "".join(text.split())
    try:
        amount = Decimal(text)
    except InvalidOperation:
        found = _spoken_amount(text)
        if found is None:
            raise InvalidInput(error) from None
        amount = found
    if not amount.is_finite() or amount < 0 or amount >= AMOUNT_LIMIT:
        raise InvalidInput(error)
    return amount.quantize(Decimal("0.01"))


def _spoken_amount(text: str) -> Decimal | None:
    """`3万5`, `三万五千`, `1.5万`, `一万零五`, `3k5`; None when the units make no number.

    A digit right after a unit counts in the next unit down, as it is said:
    `3万5` is 35,000 and `3千5` is 3,500, unless a 零 marks a skipped place (`一万零五`).
    """
    tokens = _TOKEN.findall(text)
    if not tokens or "".join(tokens) != text:
        return None
    total = Decimal(0)  # whole 亿 groups
    big = Decimal(0)  # the 万 part of the current 亿 group
    small = Decimal(0)  # the part below 万
    pending: Decimal | None = None  # a number not yet multiplied by its unit
    last_unit = 0  # the last unit used, for the spoken shorthand
    small_unit = 10**5  # units within a section must fall (千 before 百 before 十)
    big_unit = 10**9  # 亿 before 万
    skipped = False
    for token in tokens:
        if token in ("零", "〇"):
            skipped = True
            continue
        if token in CN_DIGITS or token[0].isdigit():
            if pending is not None:
                return None  # two numbers in a row: 五五, 一二三
            pending = Decimal(CN_DIGITS[token]) if token in CN_DIGITS else Decimal(token)
            continue
        if token in _SMALL_UNITS:
            unit = _SMALL_UNITS[token]
            if unit >= small_unit or (pending is None and token != "十"):
                return None  # 三百五千, or 千 with nothing before it
            small += (Decimal(1) if pending is None else pending) * unit
            small_unit = unit
        else:
            unit = _BIG_UNITS[token]
            section = small + (pending or 0)
            if unit >= big_unit or section == 0:
                return None  # 3万5万, or 万 with nothing before it
            if unit == _BIG_UNITS["亿"]:
                total += (big + section) * unit
                big = Decimal(0)
            else:
                big += section * unit
            small, small_unit, big_unit = Decimal(0), 10**5, unit
        pending, last_unit, skipped = None, unit, False
    if pending is not None and last_unit >= 10 and not skipped and pending == pending.to_integral_value():
        if pending >= 10:
            return None  # 3万50: neither the shorthand nor a written-out number
        pending *= last_unit // 10
    return total + big + small + (pending or 0)


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
