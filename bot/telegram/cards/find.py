"""Finding customers: search by name, pinyin, company, phone or tag; lists and filters."""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.domain import card
from bot.domain.access import Perm
from bot.domain.card import Stage
from bot.domain.errors import InvalidInput
from bot.services import customer_search
from bot.telegram import flows
from bot.telegram.cards.view import show_card, stage_label
from bot.telegram.context import BotContext
from bot.telegram.flows import Flow, Input, Step
from bot.telegram.menu import leave_to_menu
from bot.telegram.routes import router
from bot.telegram.ui import Button, answer_query, button, chunk, keyboard, reply

PAGE = 8


# ---------------------------------------------------------------- finding


def _filters_from(context: BotContext) -> customer_search.Filters | None:
    saved = context.user_data.get("search") if context.user_data is not None else None
    return saved if isinstance(saved, customer_search.Filters) else None


async def search_and_show(
    update: Update,
    context: BotContext,
    filters: customer_search.Filters,
    offset: int = 0,
    *,
    edit: bool = False,
) -> None:
    """Run a search and show one page of results (a single match opens the card)."""
    actor, now = context.actor, context.services.now()
    page = await context.services.read(
        lambda c: customer_search.search(c, actor, filters, offset=offset, limit=PAGE, now=now)
    )
    if context.user_data is not None:
        context.user_data["search"] = filters
    if page.total == 1 and offset == 0 and filters.query:
        await show_card(update, context, page.items[0].id, loaded=page.items[0])
        return
    if page.total == 0:
        key = "find.none" if filters.query else "find.empty_list"
        none = keyboard([[button(context.t("btn.new"), "nw"), button(context.t("btn.menu"), "m")]])
        await reply(update, context, context.t(key, query=filters.query), none, edit=edit)
        return
    rows = _result_rows(context, page, filters, offset)
    await reply(update, context, _results_text(context, page, filters, offset), keyboard(rows), edit=edit)


def _results_text(
    context: BotContext, page: customer_search.Page, filters: customer_search.Filters, offset: int
) -> str:
    """The heading of a page of results: what was asked and which of how many are shown."""
    return context.t(
        "find.results",
        query=filters.query,
        total=page.total,
        first=offset + 1,
        last=offset + len(page.items),
        stage=stage_label(context, filters.stage) if filters.stage else None,
        grade=filters.grade,
        idle=filters.idle_days,
    )


def _result_rows(
    context: BotContext, page: customer_search.Page, filters: customer_search.Filters, offset: int
) -> list[list[Button]]:
    """A button per customer found, paging, the filters (for lists) and the menu."""
    items = [
        button(
            " · ".join(x for x in (c.name, c.company or "", stage_label(context, c.stage)) if x),
            "cv",
            c.id,
            "basic",
        )
        for c in page.items
    ]
    rows: list[list[Button]] = [[item] for item in items]
    nav: list[Button] = []
    if page.has_prev:
        nav.append(button(context.t("btn.prev"), "sp", max(0, offset - PAGE)))
    if page.has_next:
        nav.append(button(context.t("btn.next"), "sp", offset + PAGE))
    rows.append(nav)
    if not filters.query:
        rows.append(
            [
                button(context.t("btn.filter_stage"), "fl", "s"),
                button(context.t("btn.filter_grade"), "fl", "g"),
                button(context.t("btn.filter_idle"), "fl", "i"),
            ]
        )
    rows.append([button(context.t("btn.menu"), "m")])
    return rows


@router.command("find", Perm.MEMBER)
async def cmd_find(update: Update, context: BotContext) -> None:
    """/find [words]: search now, or ask what to look for."""
    query = " ".join(context.args or [])
    if query:
        await search_and_show(update, context, customer_search.Filters(query=query))
    else:
        await flows.start(update, context, "find", {})


@router.callback("fd", Perm.MEMBER)
async def on_find(update: Update, context: BotContext) -> None:
    """The Find button: ask what to look for."""
    await answer_query(update)
    await flows.start(update, context, "find", {})


@router.callback("my", Perm.MEMBER)
async def on_my_customers(update: Update, context: BotContext) -> None:
    """List the customers the actor sees, most recently updated first."""
    await answer_query(update)
    offset = context.arg_id(0, default=0)
    await search_and_show(update, context, customer_search.Filters(), offset, edit=True)


# "Not contacted for N days": the choices offered (a week, two, a month, a quarter).
IDLE_CHOICES = (7, 14, 30, 90)


@router.callback("fl", Perm.MEMBER)
async def on_filter(update: Update, context: BotContext) -> None:
    """Filter the list by stage, grade, or customers not contacted lately."""
    await answer_query(update)
    args = context.route_args
    kind, value = (args[0] if args else ""), (args[1] if len(args) > 1 else None)
    if kind in ("s", "g", "i") and value is None:
        text, choices = _filter_choices(context, kind)
        await reply(
            update, context, text, keyboard([*choices, [button(context.t("btn.back"), "my", 0)]]), edit=True
        )
        return
    if kind == "s" and value in {s.value for s in Stage}:
        filters = customer_search.Filters(stage=value)
    elif kind == "g" and value in card.GRADES:
        filters = customer_search.Filters(grade=value)
    elif kind == "i" and 1 <= context.arg_id(1) <= 365:
        filters = customer_search.Filters(idle_days=context.arg_id(1))
    else:
        await reply(update, context, context.t("error.stale"))
        return
    await search_and_show(update, context, filters, edit=True)


def _filter_choices(context: BotContext, kind: str) -> tuple[str, list[list[Button]]]:
    """The question and the choices of a filter: stage (s), grade (g) or not contacted lately (i)."""
    if kind == "s":
        stages = [button(stage_label(context, s.value), "fl", "s", s.value) for s in Stage]
        return context.t("stage.filter"), chunk(stages, 3)
    if kind == "g":
        return context.t("grade.filter"), [[button(g, "fl", "g", g) for g in card.GRADES]]
    days = [button(context.t("btn.idle_days", days=d), "fl", "i", d) for d in IDLE_CHOICES]
    return context.t("find.idle_filter"), [days]


@router.callback("sp", Perm.MEMBER)
async def on_search_page(update: Update, context: BotContext) -> None:
    """Another page of the last search."""
    filters = _filters_from(context)
    args = context.route_args
    if filters is None or not args:
        await answer_query(update, context.alert("error.search_again"))
        return
    await answer_query(update)
    await search_and_show(update, context, filters, context.arg_id(0), edit=True)


async def _check_find(context: BotContext, data: dict[str, Any], step: Step, given: Input) -> str:
    query = given.text.strip()
    if not query:
        raise InvalidInput("error.empty")
    if len(query) > 100:
        raise InvalidInput("error.too_long", limit=100, length=len(query))
    return query


async def _finish_find(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    await flows.end(context)
    await search_and_show(update, context, customer_search.Filters(query=data["query"]))


flows.register(Flow("find", (Step("query", "find.prompt"),), _check_find, _finish_find, leave=leave_to_menu))
