"""The main menu of each role, and where forms lead back to."""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.domain.access import Role
from bot.services import team as team_service
from bot.telegram import mini_app
from bot.telegram.context import BotContext
from bot.telegram.ui import Button, Open, button, keyboard, reply


async def show_menu(update: Update, context: BotContext, *, edit: bool = False) -> None:
    """The main menu of the actor's role."""
    actor = context.actor
    if not actor.is_staff:
        key = "customer.hello" if actor.role is Role.CUSTOMER else "stranger.intro"
        await reply(update, context, context.t(key), edit=edit)
        return
    team_name = None
    if actor.team_id is not None:
        team_id = actor.team_id
        team_name = await context.services.db(lambda s: team_service.team_name(s, team_id))
    rows = _staff_rows(context)
    text = context.t(
        "menu.text",
        role=context.t(f"role.{actor.role.value}"),
        role_key=actor.role.value,
        team=team_name,
        admin=actor.is_admin,
    )
    await reply(update, context, text, keyboard(rows), edit=edit)


def _staff_rows(context: BotContext) -> list[list[Button | Open]]:
    """The buttons of a staff member's menu: customers (and the Mini App's board), team, admin,
    language."""
    actor = context.actor
    rows: list[list[Button | Open]] = []
    if actor.team_id is not None:
        customers: list[Button | Open] = [
            button(
                context.t("btn.my_customers" if actor.role is Role.REP else "btn.team_customers"),
                "my",
                0,
            )
        ]
        board = mini_app.button(context.services, context.lang, "btn.mini_app_board", "board")
        if board is not None:
            customers.append(board)
        rows += [[button(context.t("btn.new"), "nw"), button(context.t("btn.find"), "fd")], customers]
        rows.append([button(context.t("btn.practise"), "xs", "show")])
    if actor.is_lead and actor.team_id is not None:
        rows.append([button(context.t("btn.team"), "tm", actor.team_id)])
    if actor.is_admin:
        if actor.team_id is None:
            rows.append([button(context.t("btn.find"), "fd")])
        rows.append([button(context.t("btn.admin"), "ad")])
    rows.append([button(context.t("btn.language"), "lm")])
    return rows


async def leave_to_menu(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    """Where Back and /cancel lead from a form that is not about one customer."""
    await show_menu(update, context)
