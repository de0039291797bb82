"""What a customer does in the bot: open their personal link, `/stop`, write to their rep."""

from __future__ import annotations

import logging

from telegram import ChatMember, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot.domain.access import Perm
from bot.domain.errors import NotAllowed, Stale
from bot.domain.optin import RELAY_MAX
from bot.services import optin as svc
from bot.telegram.context import BotContext
from bot.telegram.routes import router
from bot.telegram.ui import button, keyboard, reply

log = logging.getLogger(__name__)


async def _notify(
    context: BotContext, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Tell a rep something; a rep who blocked the bot must not break this update."""
    try:
        await context.bot.send_message(chat_id, text, reply_markup=markup)
    except TelegramError as error:
        log.warning("could not notify %s: %s", chat_id, error)


async def open_personal_link(update: Update, context: BotContext, code: str) -> None:
    """A customer opened the link their rep sent: link the card to this chat, tell the rep."""
    actor, now = context.actor, context.services.now()
    try:
        opted = await context.services.db(lambda s: svc.opt_in(s, actor, code=code, now=now))
    except (NotAllowed, Stale) as error:
        await reply(update, context, context.t(error.key))
        return
    context.services.identities.forget(actor.user_id)  # a stranger no more: a customer
    rep = opted.rep
    await reply(
        update, context, context.t("optin.welcome", name=opted.customer_name, rep=rep.name if rep else "")
    )
    if rep is not None:
        told = context.services.text(rep.language, "optin.rep_told", name=opted.customer_name)
        await _notify(context, rep.chat_id, told)


@router.command("stop", Perm.ANY)
async def cmd_stop(update: Update, context: BotContext) -> None:
    """/stop: a customer opts out of all messages at once."""
    actor, now = context.actor, context.services.now()
    try:
        await context.services.db(lambda s: svc.opt_out(s, actor, now=now))
    except NotAllowed as error:
        await reply(update, context, context.t(error.key))
        return
    await reply(update, context, context.t("stop.done"))


async def on_my_chat_member(update: Update, context: BotContext) -> None:
    """Telegram says a user blocked the bot: a customer opts out at once, and their rep is told."""
    changed = update.my_chat_member
    if changed is None or changed.chat.type != ChatType.PRIVATE:
        return
    if changed.new_chat_member.status != ChatMember.BANNED:
        return  # unblocking is not opting in again: that takes their personal link
    services, actor = context.services, context.actor
    now = services.now()
    for found in await services.db(lambda s: svc.blocked(s, actor, now=now)):
        try:
            await services.senders.blocked(context.bot, found)
        except TelegramError as error:
            log.warning("could not tell rep %s that a customer blocked the bot: %s", found.rep_id, error)


async def relay_to_rep(update: Update, context: BotContext, text: str) -> None:
    """Keep a customer's message on their card and forward it to their rep, with the card a tap away."""
    actor, services = context.actor, context.services
    now = services.now()
    for relayed in await services.db(lambda s: svc.relay(s, actor, text=text, now=now)):
        lang = relayed.rep.language
        forwarded = services.text(lang, "relay.to_rep", name=relayed.customer_name, text=text[:RELAY_MAX])
        card = keyboard([[button(services.text(lang, "btn.open_card"), "cv", relayed.customer_id, "basic")]])
        await _notify(context, relayed.rep.chat_id, forwarded, card)
    await reply(update, context, context.t("relay.thanks"))
