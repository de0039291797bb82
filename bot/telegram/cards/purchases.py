"""Recording a purchase: amount, items, date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from telegram import Update

from bot.domain import card
from bot.domain.access import Perm
from bot.domain.dates import DateParseError, ParsedDate, parse_date
from bot.domain.errors import InvalidInput
from bot.services import customers as svc
from bot.telegram import flows
from bot.telegram.cards.view import leave_to_card, money, show_card
from bot.telegram.context import BotContext
from bot.telegram.flows import Flow, Input, Step
from bot.telegram.routes import Target, router
from bot.telegram.ui import answer_query

# ---------------------------------------------------------------- purchases


@router.callback("cp", Perm.EDIT_CUSTOMER, Target.CUSTOMER, edit=True)
async def on_purchase(update: Update, context: BotContext) -> None:
    """Record a purchase: amount, items, date."""
    await answer_query(update)
    cid = context.arg_id(0)
    actor = context.actor
    customer = await context.services.db(lambda s: svc.get_customer(s, actor, cid, edit=True))
    await flows.start(update, context, "purchase", {"customer_id": cid, "name": customer.name})


async def _check_purchase(context: BotContext, data: dict[str, Any], step: Step, given: Input) -> Any:
    text = given.text
    if step.key == "amount":
        return str(svc.parse_amount(text))
    if step.key == "items":
        return card.check_text(text, max_length=500)
    try:
        parsed = parse_date(text, today=context.services.now().date(), past=True)
    except DateParseError:
        raise InvalidInput("error.date") from None
    if parsed.lunar:
        raise InvalidInput("error.date")
    when = parsed.to_date() if parsed.year is not None else _this_year(parsed, context)
    if when > context.services.now().date():
        raise InvalidInput("error.purchase_future")
    return when.isoformat()


def _this_year(parsed: ParsedDate, context: BotContext) -> date:
    """A year-less purchase date is the latest such day on or before today."""
    today = context.services.now().date()
    for year in (today.year, today.year - 1):
        try:
            candidate = date(year, parsed.month, parsed.day)
        except ValueError:
            continue  # 29 February in a common year: try the year before
        if candidate <= today:
            return candidate
    raise InvalidInput("error.date")


async def _finish_purchase(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    actor, now = context.actor, context.services.now()
    cid = int(data["customer_id"])
    amount = Decimal(data["amount"])
    when = date.fromisoformat(data["date"]) if data.get("date") else now.date()
    items = data.get("items") or ""
    note_text = context.t("purchase.note", amount=money(amount), items=items, date=when.isoformat())

    await flows.complete(
        context,
        lambda s: svc.add_purchase(
            s, actor, cid, amount=amount, items=items, purchased_on=when, now=now, note_text=note_text
        ),
    )
    await show_card(update, context, cid, "history", notice=context.t("purchase.saved"))


flows.register(
    Flow(
        "purchase",
        (
            Step("amount", "purchase.amount"),
            Step("items", "purchase.items", optional=True),
            Step("date", "purchase.date", optional=True),
        ),
        _check_purchase,
        _finish_purchase,
        leave=leave_to_card,
    )
)
