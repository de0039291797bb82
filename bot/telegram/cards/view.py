"""Reading a card: its sections, tabs and actions, and the customer's opt-in link."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from telegram import InlineKeyboardMarkup, Update

from bot.domain import card, deeplinks
from bot.domain.access import Perm, Role
from bot.domain.card import FieldSpec, Kind, Section
from bot.domain.dates import ParsedDate, format_date
from bot.services import analytics as analytics_service
from bot.services import cards as card_service
from bot.services import customers as svc
from bot.telegram import mini_app
from bot.telegram.context import BotContext
from bot.telegram.routes import Target, router
from bot.telegram.ui import Button, Open, answer_query, button, keyboard, reply, shorten, when_label

VALUE_PREVIEW = 300


# ---------------------------------------------------------------- rendering


def field_value(context: BotContext, customer: svc.CardData, spec: FieldSpec) -> str | None:
    """A field's value as the card shows it, or None when empty."""
    if spec.kind is Kind.DATE:
        if customer.birthday_month is None or customer.birthday_day is None:
            return None
        parsed = ParsedDate(
            customer.birthday_year,
            customer.birthday_month,
            customer.birthday_day,
            lunar=customer.birthday_lunar,
            leap_month=customer.birthday_leap,
        )
        return format_date(parsed, context.lang)
    raw: Any = getattr(customer, spec.key) if spec.column else customer.extra.get(spec.key)
    if raw in (None, "", []):
        return None
    if spec.kind is Kind.CHOICE:
        return context.t(f"choice.{spec.key}.{raw}")
    if spec.kind is Kind.TAGS:
        return " ".join("#" + tag for tag in raw)
    if spec.kind is Kind.SCORE:
        return f"{raw}/5"
    if spec.kind is Kind.DAYS:
        return context.t("card.every_days", days=raw)
    return shorten(str(raw), VALUE_PREVIEW)


def stage_label(context: BotContext, stage: str) -> str:
    """A stage's name in the user's language."""
    return context.t(f"stage.{stage}")


async def show_card(
    update: Update,
    context: BotContext,
    customer_id: int,
    section: str = Section.BASIC,
    *,
    edit: bool = False,
    notice: str | None = None,
    loaded: svc.CardData | None = None,
) -> None:
    """Send (or update) the card at one section, with its tabs and actions.

    `loaded` is the card when the caller already read it within the actor's scope
    (a search hit), which saves reading it again.
    """
    actor = context.actor
    try:
        sect = Section(section)
    except ValueError:
        sect = Section.BASIC

    today, with_history = context.services.today(), sect is Section.HISTORY
    if loaded is not None and not with_history and actor.role is Role.REP:
        view = card_service.CardView(loaded)  # a rep's own search hit: nothing more to read
    else:
        view = await context.services.db(
            lambda s: card_service.card_view(
                s, actor, customer_id, with_history=with_history, today=today, loaded=loaded
            )
        )
    text = _card_text(context, view, sect, notice)
    await reply(update, context, text, card_keyboard(context, customer_id, sect), edit=edit)


def _card_text(context: BotContext, view: card_service.CardView, sect: Section, notice: str | None) -> str:
    """The card at one section, in the reader's language."""
    customer, hist = view.customer, view.history
    rows = [
        (context.t(f"field.{spec.key}"), value)
        for spec in card.fields_of(sect)
        if spec.key != "name" and (value := field_value(context, customer, spec)) is not None
    ]
    total = card.qualification_total({key: getattr(customer, key) for key in card.QUALIFICATION})
    return context.t(
        "card.view",
        name=customer.name,
        company=customer.company,
        stage=stage_label(context, customer.stage),
        grade=customer.grade,
        owner=view.owner,
        section=context.t(f"section.{sect.value}"),
        rows=rows,
        qualification=total if sect is Section.BUSINESS else None,
        history=_history_rows(context, hist, view.insight) if hist else None,
        notice=notice,
    )


def _history_rows(
    context: BotContext, hist: svc.History, found: analytics_service.Insight | None
) -> dict[str, Any]:
    return {
        "loyalty": found.loyalty.score if found else None,
        "interval": round(found.interval) if found and found.interval else None,
        "risk_days": found.risk.days_since if found and found.risk else None,
        "count": hist.purchase_count,
        "revenue": money(hist.revenue),
        "notes": hist.note_count,
        "purchases": [
            {"date": p.purchased_on.isoformat(), "amount": money(p.amount), "what": p.items}
            for p in hist.purchases
        ],
        "reminders": [
            {"date": when_label(context.t, t.due_on, t.time_of_day), "text": t.text} for t in hist.reminders
        ],
    }


def money(amount: Decimal) -> str:
    """An amount with thousands separators and cents."""
    return f"{amount:,.2f}"


# Built keyboards are immutable, so each (catalogue, language, card, section) is built once.
_KEYBOARDS: dict[tuple[int, str | None, str, int, Section], InlineKeyboardMarkup] = {}
_KEYBOARDS_MAX = 4096


def card_keyboard(context: BotContext, cid: int, sect: Section) -> InlineKeyboardMarkup:
    """Section tabs and the card's actions."""
    key = (id(context.services.catalogue), context.services.settings.mini_app_url, context.lang, cid, sect)
    built = _KEYBOARDS.get(key)
    if built is None:
        if len(_KEYBOARDS) >= _KEYBOARDS_MAX:
            _KEYBOARDS.clear()
        built = _KEYBOARDS[key] = _build_card_keyboard(context, cid, sect)
    return built


def _build_card_keyboard(context: BotContext, cid: int, sect: Section) -> InlineKeyboardMarkup:
    tabs = [
        button(("• " if s is sect else "") + context.t(f"btn.section.{s.value}"), "cv", cid, s.value)
        for s in Section
    ]
    rows: list[list[Button | Open]] = [tabs[:3], tabs[3:]]
    play = button(context.t("btn.play"), "pl", cid)
    if sect is not Section.HISTORY:
        rows.append([button(context.t("btn.edit"), "ce", cid, sect.value), play])
    else:
        rows.append([play])
    rows += [
        [
            button(context.t("btn.note"), "cn", cid),
            button(context.t("btn.purchase"), "cp", cid),
            button(context.t("btn.timeline"), "cl", cid, 0),
            button(context.t("btn.one_off"), "mo", cid),
        ],
        [
            button(context.t("btn.stage"), "cs", cid),
            button(context.t("btn.grade"), "cg", cid),
            button(context.t("btn.optin"), "co", cid),
            button(context.t("btn.remind_short"), "rm", cid),
        ],
    ]
    whole = mini_app.button(context.services, context.lang, "btn.mini_app_card", f"card_{cid}")
    menu = button(context.t("btn.menu"), "m")
    rows.append([whole, menu] if whole else [menu])
    return keyboard(rows)


# ---------------------------------------------------------------- viewing


@router.callback("cv", Perm.VIEW_CUSTOMER, Target.CUSTOMER)
async def on_view(update: Update, context: BotContext) -> None:
    """Open a card at a section."""
    await answer_query(update)
    args = context.route_args
    await show_card(update, context, context.arg_id(0), args[1] if len(args) > 1 else "basic", edit=True)


# ---------------------------------------------------------------- opt-in link


@router.callback("co", Perm.EDIT_CUSTOMER, Target.CUSTOMER, edit=True)
async def on_optin_link(update: Update, context: BotContext) -> None:
    """Show the personal link the rep sends the customer to receive care messages."""
    await answer_query(update)
    cid = context.arg_id(0)
    actor = context.actor
    customer = await context.services.db(lambda s: svc.get_customer(s, actor, cid, edit=True))
    link = context.services.deep_link(deeplinks.optin_payload(customer.optin_code))
    text = context.t("optin.link", name=customer.name, link=link, state=customer.optin_state)
    await reply(update, context, text, keyboard([[button(context.t("btn.open_card"), "cv", cid, "basic")]]))


async def leave_to_card(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    """Where Back and /cancel lead from a form about one customer: their card."""
    if "customer_id" in data:
        await show_card(update, context, int(data["customer_id"]), data.get("section", "basic"))
