"""The access gate: every update and every button passes through here first."""

from __future__ import annotations

import logging

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
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
from bot.services import team as team_service
from bot.telegram.context import BotContext
from bot.telegram.routes import Target, parse, router

log = logging.getLogger(__name__)


async def gate(update: Update, context: BotContext) -> None:
    """Resolve who is asking and refuse anything they may not do, before any handler."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or user.is_bot:
        raise ApplicationHandlerStop
    if chat is not None and chat.type != ChatType.PRIVATE:
        # The bot talks to people privately; group digests are sent, never read.
        raise ApplicationHandlerStop
    services = context.services

    async def identify(session: AsyncSession) -> Actor:
        await team_service.ensure_user(
            session,
            telegram_id=user.id,
            name=user.full_name,
            username=user.username,
            language=pick_language(user.language_code, services.settings.default_language),
        )
        return await team_service.resolve_actor(
            session, user_id=user.id, admin_ids=services.settings.admin_ids
        )

    context.actor = await services.db(identify)
    query = update.callback_query
    if query is not None:
        await _check_callback(update, context)
        return
    message = update.effective_message
    if message is not None and message.text and message.text.startswith("/"):
        name = message.text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower()
        route = router.commands.get(name)
        if route is None:
            await message.reply_text(context.t("error.unknown_command"))
            raise ApplicationHandlerStop
        if not allows(context.actor, route.perm):
            await message.reply_text(context.t(_refusal_key(context.actor)))
            raise ApplicationHandlerStop
        context.route = route


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
        await query.answer(context.t("error.stale"), show_alert=True)
        raise ApplicationHandlerStop
    context.route, context.route_args = route, args


async def _object_allowed(context: BotContext, target: Target, args: list[str], *, edit: bool) -> bool:
    if not args or not args[0].isdigit():
        return False
    object_id = int(args[0])
    actor = context.actor
    if target is Target.TEAM:
        return can_manage_team(actor, object_id)
    found = await context.services.db(lambda s: customer_service.customer_ref(s, object_id))
    if found is None:
        return False
    return (can_edit_customer if edit else can_view_customer)(actor, found)
