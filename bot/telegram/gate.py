"""The access gate: every update and every button passes through here first."""

from __future__ import annotations

import logging

from telegram import MessageEntity, Update, User
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot.domain.access import (
    Actor,
    allows,
    can_edit_customer,
    can_manage_team,
    can_view_customer,
)
from bot.i18n import pick_language
from bot.services import customers as customer_service
from bot.services import identity
from bot.telegram.context import BotContext
from bot.telegram.errors import report
from bot.telegram.routes import Target, ident, parse, router

log = logging.getLogger(__name__)


GROUP_COMMANDS = frozenset({"digest_here"})


async def gate(update: Update, context: BotContext) -> None:
    """Resolve who is asking and refuse anything they may not do, before any handler.

    It fails closed: if deciding fails for any reason, the user is told and nothing
    after the gate runs.
    """
    context.bot_data.updates_seen = True
    try:
        await _admit(update, context)
    except ApplicationHandlerStop:
        raise
    except Exception as error:
        await report(update, context, error)
        raise ApplicationHandlerStop from error


async def _admit(update: Update, context: BotContext) -> None:
    user = update.effective_user
    chat = update.effective_chat
    if user is None or user.is_bot or update.edited_message is not None:
        # Edits of old messages are not new input; bots and channels are not users.
        raise ApplicationHandlerStop
    if (
        chat is not None
        and chat.type != ChatType.PRIVATE
        and _command_name(update, context) not in GROUP_COMMANDS
    ):
        # The bot talks to people privately; in a group it only hears a lead who asks
        # for the team digest to go there.
        raise ApplicationHandlerStop
    # What this user sent earlier that could not be saved is set aside: if this update
    # goes through, they have moved on and it is dropped (replaying it after a newer
    # input would apply it out of order, or twice when they typed it again); if this
    # one fails the same way, both are kept for Retry (errors.report).
    context.unsaved = context.bot_data.pending.pop(user.id, [])
    await _identify(context, user)
    if update.callback_query is not None:
        await _check_callback(update, context)
        return
    await _check_command(update, context)


async def _identify(context: BotContext, user: User) -> None:
    """Who the user is and their form in progress: remembered, or read (and remembered)."""
    services = context.services
    language = pick_language(user.language_code, services.settings.default_language)
    context.client_language = language  # until the actor is known (their saved choice)
    actor, flow = await identity.identify(
        services, telegram_id=user.id, name=user.full_name, username=user.username, language=language
    )
    context.actor, context.flow_state = actor, flow


async def _check_command(update: Update, context: BotContext) -> None:
    """A /command must exist and be one the actor's role may use."""
    message = update.message
    command = _command_name(update, context)
    if message is None or command is None:
        return
    route = router.commands.get(command)
    if route is None:
        await message.reply_text(context.t("error.unknown_command"))
        raise ApplicationHandlerStop
    if not allows(context.actor, route.perm):
        await message.reply_text(context.t(_refusal_key(context.actor)))
        raise ApplicationHandlerStop
    context.route = route


def _command_name(update: Update, context: BotContext) -> str | None:
    """The /command a message starts with, as Telegram marks it; None for other text.

    A command addressed to another bot (/help@otherbot) stops here without a reply.
    """
    message = update.message
    if message is None or not message.text or not message.entities:
        return None
    first = message.entities[0]
    if first.type != MessageEntity.BOT_COMMAND or first.offset != 0:
        return None
    name, _, addressee = message.text[1 : first.length].partition("@")
    if addressee and addressee.lower() != (context.bot.username or "").lower():
        raise ApplicationHandlerStop
    return name.lower()


def _refusal_key(actor: Actor) -> str:
    return "stranger.intro" if not actor.is_staff else "error.not_allowed"


async def _check_callback(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    prefix, args = parse(query.data or "")
    route = router.callbacks.get(prefix)
    allowed = route is not None and allows(context.actor, route.perm)
    if route is not None and allowed and route.target is not Target.NONE:
        allowed = await _object_allowed(context, route.target, args, edit=route.edit)
    if not allowed or route is None:
        log.info("refused callback %r from %s", query.data, context.actor.user_id)
        await query.answer(context.alert("error.stale"), show_alert=True)
        raise ApplicationHandlerStop
    context.route, context.route_args = route, args


async def _object_allowed(context: BotContext, target: Target, args: list[str], *, edit: bool) -> bool:
    object_id = ident(args[0]) if args else None
    if object_id is None:
        return False
    actor = context.actor
    if target is Target.TEAM:
        return can_manage_team(actor, object_id)
    found = await context.services.read(lambda c: customer_service.customer_ref(c, object_id))
    if found is None:
        return False
    return (can_edit_customer if edit else can_view_customer)(actor, found)
