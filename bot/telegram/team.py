"""Leads and admins: teams, invitations, reassigning a departing rep's customers, export."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from telegram import BotCommandScopeChat, InputFile, Update
from telegram.error import TelegramError

from bot.domain.access import Perm
from bot.domain.errors import InvalidInput
from bot.runtime import Runtime
from bot.services import export as export_service
from bot.services import team as svc
from bot.telegram import flows, mini_app, words
from bot.telegram.context import BotContext
from bot.telegram.flows import Flow, Input, Step
from bot.telegram.routes import Target, router
from bot.telegram.ui import Button, answer_query, button, chunk, keyboard, reply

# ---------------------------------------------------------------- a team

log = logging.getLogger(__name__)


MEMBERS_PAGE = 20


async def show_team(
    update: Update, context: BotContext, team_id: int, *, edit: bool = False, offset: int = 0
) -> None:
    """Members with their customer counts (a page at a time), and what a lead can do."""
    actor = context.actor
    team = await context.services.db(lambda s: svc.team_view(s, actor, team_id=team_id))
    members = team.members[offset : offset + MEMBERS_PAGE]
    text = context.t(
        "team.view",
        team=team.name,
        members=[
            {"name": m.name, "role": context.t(f"role.{m.role}"), "customers": m.customers} for m in members
        ],
    )
    rows: list[list[Button]] = chunk(
        [button(f"{m.name} ({m.customers})", "tu", team_id, m.user_id) for m in members], 2
    )
    rows += _team_actions(context, team_id, offset=offset, total=len(team.members))
    await reply(update, context, text, keyboard(rows), edit=edit)


def _team_actions(context: BotContext, team_id: int, *, offset: int, total: int) -> list[list[Button]]:
    """Paging, invitations, export and the menu under a team's members."""
    nav: list[Button] = []
    if offset > 0:
        nav.append(button(context.t("btn.prev"), "tm", team_id, max(0, offset - MEMBERS_PAGE)))
    if offset + MEMBERS_PAGE < total:
        nav.append(button(context.t("btn.next"), "tm", team_id, offset + MEMBERS_PAGE))
    rows = [nav, [button(context.t("btn.invite_rep"), "ti", team_id)]]
    if context.actor.is_admin:
        rows.append([button(context.t("btn.invite_lead"), "tl", team_id)])
    rows.append(
        [
            button(context.t("btn.export_xlsx"), "tx", team_id, "xlsx"),
            button(context.t("btn.export_csv"), "tx", team_id, "csv"),
        ]
    )
    rows.append([button(context.t("btn.menu"), "m")])
    return rows


@router.command("team", Perm.LEAD)
async def cmd_team(update: Update, context: BotContext) -> None:
    """/team: the lead's team."""
    if context.actor.team_id is None:
        await cmd_admin(update, context)
        return
    await show_team(update, context, context.actor.team_id)


@router.callback("tm", Perm.LEAD, Target.TEAM)
async def on_team(update: Update, context: BotContext) -> None:
    """Open a team."""
    await answer_query(update)
    await show_team(update, context, context.arg_id(0), edit=True, offset=context.arg_id(1, default=0))


async def _invite(update: Update, context: BotContext, kind: str) -> None:
    team_id = context.arg_id(0)
    actor, services = context.actor, context.services
    ttl = timedelta(hours=services.settings.invite_ttl_hours)
    code = await services.db(
        lambda s: svc.create_invite(s, actor, kind=kind, team_id=team_id, now=services.now(), ttl=ttl)
    )
    await answer_query(update)
    await reply(
        update,
        context,
        context.t(
            f"invite.{kind}",
            link=services.deep_link(code),
            hours=services.settings.invite_ttl_hours,
        ),
        keyboard([[button(context.t("btn.back"), "tm", team_id)]]),
    )


@router.callback("ti", Perm.LEAD, Target.TEAM)
async def on_invite_rep(update: Update, context: BotContext) -> None:
    """A single-use link that makes whoever opens it a rep of this team."""
    await _invite(update, context, "rep")


@router.callback("tl", Perm.ADMIN, Target.TEAM)
async def on_invite_lead(update: Update, context: BotContext) -> None:
    """A single-use link that makes whoever opens it the lead of this team."""
    await _invite(update, context, "lead")


@router.callback("tu", Perm.LEAD, Target.TEAM)
async def on_member(update: Update, context: BotContext) -> None:
    """One member: reassign their customers, or remove them from the team."""
    await answer_query(update)
    team_id, user_id = context.arg_id(0), context.arg_id(1, user=True)
    actor = context.actor
    members = await context.services.db(lambda s: svc.team_members(s, actor, team_id=team_id))
    member = next((m for m in members if m.user_id == user_id), None)
    if member is None:
        await reply(update, context, context.t("error.stale"))
        return
    rows = [
        [button(context.t("btn.reassign"), "tr", team_id, user_id)],
        [button(context.t("btn.remove_member"), "tk", team_id, user_id)],
        [button(context.t("btn.back"), "tm", team_id)],
    ]
    await reply(
        update,
        context,
        context.t(
            "team.member",
            name=member.name,
            role=context.t(f"role.{member.role}"),
            customers=member.customers,
        ),
        keyboard(rows),
        edit=True,
    )


@router.callback("tr", Perm.REASSIGN, Target.TEAM)
async def on_reassign(update: Update, context: BotContext) -> None:
    """Pick who takes over a member's customers (then confirm)."""
    await answer_query(update)
    team_id, from_user = context.arg_id(0), context.arg_id(1, user=True)
    to_user = context.arg_id(2, user=True) if len(context.route_args) > 2 else None
    actor = context.actor
    members = await context.services.db(lambda s: svc.team_members(s, actor, team_id=team_id))
    names = {m.user_id: m.name for m in members}
    if from_user not in names or (to_user is not None and to_user not in names):
        await reply(update, context, context.t("error.stale"))
        return
    if to_user is None:
        pick = [
            button(m.name, "tr", team_id, from_user, m.user_id) for m in members if m.user_id != from_user
        ]
        rows = [*chunk(pick, 2), [button(context.t("btn.back"), "tu", team_id, from_user)]]
        text = context.t("team.reassign_pick", name=names[from_user])
    else:
        confirm = button(context.t("btn.confirm"), "ty", team_id, from_user, to_user)
        rows = [[confirm, button(context.t("btn.back"), "tu", team_id, from_user)]]
        text = context.t("team.reassign_confirm", source=names[from_user], target=names[to_user])
    await reply(update, context, text, keyboard(rows), edit=True)


@router.callback("ty", Perm.REASSIGN, Target.TEAM)
async def on_reassign_confirmed(update: Update, context: BotContext) -> None:
    """Move every customer and open task in one step; the history stays with the cards."""
    team_id, from_user = context.arg_id(0), context.arg_id(1, user=True)
    to_user = context.arg_id(2, user=True)
    actor, services = context.actor, context.services

    result = await services.db(
        lambda s: svc.reassign_customers(
            s, actor, team_id=team_id, from_user=from_user, to_user=to_user, now=services.now()
        )
    )
    await answer_query(update)
    await reply(
        update,
        context,
        context.t("team.reassigned", count=result.count, source=result.source, target=result.target),
        keyboard(
            [
                [button(context.t("btn.remove_member"), "tk", team_id, from_user)],
                [button(context.t("btn.back"), "tm", team_id)],
            ]
        ),
        edit=True,
    )


@router.callback("tk", Perm.LEAD, Target.TEAM)
async def on_remove_member(update: Update, context: BotContext) -> None:
    """Ask before taking a member out of the team."""
    await answer_query(update)
    team_id, user_id = context.arg_id(0), context.arg_id(1, user=True)
    actor = context.actor
    members = await context.services.db(lambda s: svc.team_members(s, actor, team_id=team_id))
    member = next((m for m in members if m.user_id == user_id), None)
    if member is None:
        await reply(update, context, context.t("error.stale"))
        return
    rows = [
        [
            button(context.t("btn.confirm"), "tz", team_id, user_id),
            button(context.t("btn.back"), "tu", team_id, user_id),
        ]
    ]
    await reply(
        update, context, context.t("team.remove_confirm", name=member.name), keyboard(rows), edit=True
    )


@router.callback("tz", Perm.LEAD, Target.TEAM)
async def on_remove_member_confirmed(update: Update, context: BotContext) -> None:
    """Take a member out of the team once their customers have a new owner, and tell them."""
    team_id, user_id = context.arg_id(0), context.arg_id(1, user=True)
    actor, services = context.actor, context.services
    removed = await services.db(
        lambda s: svc.remove_member(s, actor, team_id=team_id, user_id=user_id, now=services.now())
    )
    services.identities.forget(user_id)  # their role is gone from this moment
    await answer_query(update)
    await reply(update, context, context.t("team.removed"))
    try:
        await context.bot.send_message(user_id, services.text(removed.language, "team.you_were_removed"))
        await context.bot.delete_my_commands(scope=BotCommandScopeChat(user_id))
        await mini_app.set_menu_button(context.bot, services, user_id, removed.language, staff=False)
    except TelegramError as error:
        log.info("could not tell removed member %s: %s", user_id, error)
    await show_team(update, context, team_id)


# ---------------------------------------------------------------- export


@router.command("export", Perm.EXPORT)
async def cmd_export(update: Update, context: BotContext) -> None:
    """/export: the team's customers and notes as XLSX."""
    await _send_export(update, context, context.actor.team_id, "xlsx")


@router.callback("tx", Perm.EXPORT, Target.TEAM)
async def on_export(update: Update, context: BotContext) -> None:
    """Export a team as XLSX or CSV."""
    await answer_query(update, context.alert("export.working"))
    args = context.route_args
    fmt = args[1] if len(args) > 1 and args[1] in ("csv", "xlsx") else "xlsx"
    await _send_export(update, context, context.arg_id(0), fmt)


@router.callback("ax", Perm.ADMIN)
async def on_export_all(update: Update, context: BotContext) -> None:
    """An admin exports every team."""
    await answer_query(update, context.alert("export.working"))
    await _send_export(update, context, None, "xlsx")


def _column_label(services: Runtime, lang: str, key: str) -> str:
    """An export column's heading: its own text, or the card field's name."""
    name = f"export.col.{key}"
    return services.text(lang, name) if services.catalogue.has(name) else services.text(lang, f"field.{key}")


async def _send_export(update: Update, context: BotContext, team_id: int | None, fmt: str) -> None:
    actor, services, lang = context.actor, context.services, context.lang
    chat_id = update.effective_chat.id if update.effective_chat else actor.user_id
    files, customers, notes = await export_service.export(
        services, actor, team_id=team_id, wording=_wording(services, lang), fmt=fmt
    )
    caption = context.t("export.caption", customers=customers, notes=notes)
    for index, (content, filename) in enumerate(files):
        await context.bot.send_document(
            chat_id, InputFile(content, filename=filename), caption=caption if index == 0 else None
        )


def _wording(services: Runtime, lang: str) -> export_service.Wording:
    """The export's headings and stored values in the reader's words."""
    columns = (*export_service.CUSTOMER_COLUMNS, *export_service.NOTE_COLUMNS)
    return export_service.Wording(
        labels={key: _column_label(services, lang, key) for key in columns},
        values=words.tokens(services, lang),
        yes=services.text(lang, "plain.yes"),
    )


# ---------------------------------------------------------------- admin


@router.command("admin", Perm.ADMIN)
async def cmd_admin(update: Update, context: BotContext) -> None:
    """/admin: every team, and a new one."""
    await show_admin(update, context)


@router.callback("ad", Perm.ADMIN)
async def on_admin(update: Update, context: BotContext) -> None:
    """The Admin button, and the pages of the teams list."""
    await answer_query(update)
    await show_admin(update, context, edit=True, offset=context.arg_id(0, default=0))


TEAMS_PAGE = 10


async def show_admin(update: Update, context: BotContext, *, edit: bool = False, offset: int = 0) -> None:
    """Teams list for an admin, a page at a time."""
    actor = context.actor
    teams = await context.services.db(lambda s: svc.teams(s, actor))
    rows: list[list[Button]] = chunk(
        [button(t.name, "tm", t.id) for t in teams[offset : offset + TEAMS_PAGE]], 2
    )
    nav: list[Button] = []
    if offset > 0:
        nav.append(button(context.t("btn.prev"), "ad", max(0, offset - TEAMS_PAGE)))
    if offset + TEAMS_PAGE < len(teams):
        nav.append(button(context.t("btn.next"), "ad", offset + TEAMS_PAGE))
    rows.append(nav)
    rows.append([button(context.t("btn.new_team"), "an")])
    if teams:
        rows.append([button(context.t("btn.export_all"), "ax")])
    rows.append([button(context.t("btn.menu"), "m")])
    await reply(update, context, context.t("admin.view", count=len(teams)), keyboard(rows), edit=edit)


@router.callback("an", Perm.ADMIN)
async def on_new_team(update: Update, context: BotContext) -> None:
    """Ask for the new team's name."""
    await answer_query(update)
    await flows.start(update, context, "new_team", {})


async def _check_team(context: BotContext, data: dict[str, Any], step: Step, given: Input) -> str:
    name = " ".join(given.text.split())
    if not name:
        raise InvalidInput("error.empty")
    if len(name) > 100:
        raise InvalidInput("error.too_long", limit=100, length=len(name))
    return name


async def _finish_team(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    actor, services, now = context.actor, context.services, context.services.now()
    name, timezone = data["name"], services.settings.default_timezone
    ttl = timedelta(hours=services.settings.invite_ttl_hours)
    team = await flows.complete(
        context, lambda s: svc.open_team(s, actor, name=name, timezone=timezone, now=now, ttl=ttl)
    )
    await reply(
        update,
        context,
        context.t(
            "admin.team_created",
            team=team.name,
            link=services.deep_link(team.lead_invite),
            hours=services.settings.invite_ttl_hours,
        ),
        keyboard([[button(context.t("btn.open_team"), "tm", team.team_id)]]),
    )


async def _leave_to_admin(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    await show_admin(update, context)


flows.register(
    Flow(
        "new_team",
        (Step("name", "admin.team_name"),),
        _check_team,
        _finish_team,
        leave=_leave_to_admin,
    )
)
