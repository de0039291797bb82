"""/start and its deep links (invites, a customer's link, the digest), the command menu
of each role, /menu, /help, /language and /cancel."""

from __future__ import annotations

from telegram import Bot, BotCommand, BotCommandScopeChat, Update

from bot.domain import deeplinks
from bot.domain.access import Actor, Perm, Role
from bot.domain.deeplinks import LinkKind
from bot.domain.errors import InvalidInput, Stale
from bot.i18n import LANGUAGES, Catalogue
from bot.services import team as team_service
from bot.telegram import customer_side, digest, flows, mini_app, playbooks, practice
from bot.telegram.context import BotContext
from bot.telegram.menu import show_menu
from bot.telegram.routes import router
from bot.telegram.ui import button, keyboard, reply

# The command menu per role (texts are `cmd.<name>` in the catalogues).
COMMANDS: dict[Role, tuple[str, ...]] = {
    Role.ADMIN: ("menu", "admin", "new", "find", "digest", "report", "stats", "help", "language", "cancel"),
    Role.LEAD: (
        "menu",
        "digest",
        "report",
        "new",
        "find",
        "note",
        "play",
        "practice",
        "today",
        "remind",
        "stats",
        "care",
        "team",
        "export",
        "help",
        "language",
        "cancel",
    ),
    Role.REP: (
        "menu",
        "new",
        "find",
        "note",
        "play",
        "practice",
        "today",
        "remind",
        "stats",
        "help",
        "language",
        "cancel",
    ),
    Role.CUSTOMER: ("stop", "help", "language"),
    Role.STRANGER: ("start", "help", "language"),
}


def _menu_role(actor: Actor) -> Role:
    """The role whose commands and help an actor sees (an admin outside any team: admin)."""
    return Role.ADMIN if actor.is_admin and actor.team_id is None else actor.role


async def set_commands(context: BotContext, actor: Actor) -> None:
    """Show this user the commands of their role, and the Mini App's menu button, in their language."""
    commands = [BotCommand(name, context.t(f"cmd.{name}")) for name in COMMANDS[_menu_role(actor)]]
    await context.bot.set_my_commands(commands, scope=BotCommandScopeChat(actor.user_id))
    await mini_app.offer(context.bot, context.services, actor)


async def set_default_commands(bot: Bot, catalogue: Catalogue, default_language: str) -> None:
    """The menu strangers see, per language (set once at start-up)."""
    for lang in LANGUAGES:
        commands = [BotCommand(n, catalogue.text(lang, f"cmd.{n}")) for n in COMMANDS[Role.STRANGER]]
        await bot.set_my_commands(commands, language_code=lang)
    fallback = [BotCommand(n, catalogue.text(default_language, f"cmd.{n}")) for n in COMMANDS[Role.STRANGER]]
    await bot.set_my_commands(fallback)


def adopt(context: BotContext, actor: Actor) -> None:
    """The user's role or language changed: use it for the rest of the update and remember it."""
    context.actor = actor
    context.services.identities.remember(actor, context.flow_state)


# ---------------------------------------------------------------- menu and help


@router.command("menu", Perm.ANY)
async def cmd_menu(update: Update, context: BotContext) -> None:
    """/menu: the main menu."""
    await show_menu(update, context)


@router.callback("m", Perm.ANY)
async def on_menu(update: Update, context: BotContext) -> None:
    """The Menu button."""
    if update.callback_query:
        await update.callback_query.answer()
    await show_menu(update, context, edit=True)


@router.command("help", Perm.ANY)
async def cmd_help(update: Update, context: BotContext) -> None:
    """/help: what this user can do here."""
    await reply(update, context, context.t(f"help.{_menu_role(context.actor).value}"))


# ---------------------------------------------------------------- start and deep links


@router.command("start", Perm.ANY, keeps_flow=True)
async def cmd_start(update: Update, context: BotContext) -> None:
    """/start, with an invite or opt-in payload from a deep link, or plain."""
    link = deeplinks.parse((context.args or [""])[0] if context.args else "")
    if link.kind is LinkKind.INVITE:
        await _accept_invite(update, context, link.code)
        return
    if link.kind is LinkKind.OPTIN:
        await customer_side.open_personal_link(update, context, link.code)
        return
    if link.kind is LinkKind.DIGEST and context.actor.is_lead:
        # The button under a digest sent to a team group opens it here, privately.
        await digest.cmd_digest(update, context)
        return
    if link.kind is not LinkKind.NONE:
        await reply(update, context, context.t("error.invite_used"))
    await _resume_or_menu(update, context)


async def _resume_or_menu(update: Update, context: BotContext) -> None:
    """Back to the form or playbook in progress (if still allowed), otherwise the menu."""
    state = await flows.current(context) if context.actor.is_staff else None
    if state is not None and not await flows.still_allowed(context, state):
        await flows.end(context)
        state = None
    if state is not None and state.flow == playbooks.PLAY_FLOW:
        await reply(update, context, context.t("flow.resume"))
        await playbooks.resume(update, context, state)
        return
    if state is not None and state.flow == practice.FLOW:
        await reply(update, context, context.t("flow.resume"))
        await practice.resume(update, context, state)
        return
    if state is not None and state.flow in flows.FLOWS:
        await reply(update, context, context.t("flow.resume"))
        await flows.prompt(update, context, flows.FLOWS[state.flow], state)
        return
    if context.actor.is_staff:
        await set_commands(context, context.actor)
    await show_menu(update, context)


async def _accept_invite(update: Update, context: BotContext, code: str) -> None:
    """Join a team (or claim admin rights) with an invite link."""
    services, user_id = context.services, context.actor.user_id
    admin_ids = services.settings.admin_ids
    try:
        welcome = await services.db(
            lambda s: team_service.join(
                s, code=code, user_id=user_id, now=services.now(), admin_ids=admin_ids
            )
        )
    except (Stale, InvalidInput) as error:
        await reply(update, context, context.t(error.key, **error.params))
        if context.actor.is_staff:
            await show_menu(update, context)
        return
    adopt(context, welcome.actor)
    await set_commands(context, welcome.actor)
    joined = welcome.joined
    await reply(update, context, context.t(f"welcome.{joined.kind}", team=joined.team_name))
    await show_menu(update, context)


# ---------------------------------------------------------------- language and cancel


@router.command("language", Perm.ANY)
async def cmd_language(update: Update, context: BotContext) -> None:
    """/language: choose 中文 or English."""
    await _language_menu(update, context)


@router.callback("lm", Perm.ANY)
async def on_language_menu(update: Update, context: BotContext) -> None:
    """The Language button."""
    if update.callback_query:
        await update.callback_query.answer()
    await _language_menu(update, context, edit=True)


async def _language_menu(update: Update, context: BotContext, *, edit: bool = False) -> None:
    rows = [[button(context.services.text(lang, "plain.language_name"), "lg", lang) for lang in LANGUAGES]]
    await reply(update, context, context.t("language.pick"), keyboard(rows), edit=edit)


@router.callback("lg", Perm.ANY)
async def on_language(update: Update, context: BotContext) -> None:
    """Switch the user's language."""
    args = context.route_args
    if not args or args[0] not in LANGUAGES:
        if update.callback_query:
            await update.callback_query.answer(context.alert("error.stale"), show_alert=True)
        return
    services, user_id, lang = context.services, context.actor.user_id, args[0]
    admin_ids = services.settings.admin_ids
    actor = await services.db(
        lambda s: team_service.change_language(s, user_id=user_id, language=lang, admin_ids=admin_ids)
    )
    adopt(context, actor)
    if update.callback_query:
        await update.callback_query.answer()
    if actor.is_staff:
        await set_commands(context, actor)
    await reply(update, context, context.t("language.set"), edit=True)
    await show_menu(update, context)


@router.command("cancel", Perm.ANY, keeps_flow=True)
async def cmd_cancel(update: Update, context: BotContext) -> None:
    """/cancel: leave whatever flow the user is in."""
    state = await flows.current(context)
    if state is None:
        await reply(update, context, context.t("flow.nothing_to_cancel"))
        await show_menu(update, context)
        return
    await flows.cancel(update, context, state)
