"""One error handler: expected errors become friendly replies, the rest are logged once.

Handlers' errors reach `report` from the handler's own context (`bot.app._reporting`),
with the actor and their language; `on_error` takes what happens outside an update.
"""

from __future__ import annotations

import logging
import time

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.domain.errors import Busy, SalesbotError
from bot.telegram.context import BotContext, plain
from bot.telegram.ui import button, keyboard

log = logging.getLogger(__name__)

# A polling conflict this soon after start-up, before any update came in, means another
# process was already polling with the same token: this one is the newcomer.
STARTUP_GRACE = 60.0

# Telegram's words for a callback query that can no longer be answered.
QUERY_TOO_OLD = "query is too old"


async def on_error(update: object, context: BotContext) -> None:
    """Answer the user in their language; never let one update break the conversation."""
    if not isinstance(update, Update):
        if isinstance(context.error, Conflict):
            _polling_conflict(context, context.error)
            return
        if isinstance(context.error, NetworkError) and not isinstance(context.error, BadRequest):
            # getUpdates failed (Telegram answered 5xx, or not at all): the Updater polls
            # again by itself, and nothing is lost while it does.
            log.warning("telegram unavailable while polling (%s); polling goes on", context.error)
            return
        log.error("error outside an update", exc_info=context.error)
        return
    await report(update, context, context.error)


def _polling_conflict(context: BotContext, error: Conflict) -> None:
    """Another process polls with this token: the newcomer stops, a bot already serving goes on.

    Telegram ends the older of two long polls with 409 Conflict, so both processes see it;
    left alone, each would get about half of the updates.
    """
    data = context.bot_data
    newcomer = not data.updates_seen and (
        data.started_at is None or time.monotonic() - data.started_at < STARTUP_GRACE
    )
    if not newcomer:
        log.warning("another process is polling with this bot's token (%s); keep only one running", error)
        return
    data.refused = True
    log.error("another process is already polling with this bot's token (%s); this one stops", error)
    context.application.stop_running()


async def report(update: Update, context: BotContext, error: BaseException | None) -> None:
    """Tell the user about an error in their language (and log the unexpected ones once)."""
    if update.effective_user is not None:
        # Whatever failed, read this user's role and form afresh next time.
        context.services.identities.forget(update.effective_user.id)
    if isinstance(error, SalesbotError):
        key, markup = error.key, None
        if isinstance(error, Busy):
            _keep_pending(update, context)
            if update.callback_query is None:
                markup = keyboard([[button(context.t("btn.retry"), "rt")]])
            else:
                key = "error.busy_press"  # a press is not replayed: the user presses again
        await _tell(update, context, context.t(key, **error.params), markup)
        return
    if isinstance(error, Forbidden):
        # The user blocked the bot mid-conversation: nothing to tell them.
        log.info("forbidden while answering %s: %s", update.update_id, error)
        return
    if isinstance(error, BadRequest) and QUERY_TOO_OLD in str(error).lower():
        # A tap that can no longer be answered: Telegram delivered it again to a restarted
        # process, or it waited too long. The phone stopped spinning; a tap again will do.
        log.info("button press %s could not be answered any more: %s", update.update_id, error)
        return
    if isinstance(error, (RetryAfter, TimedOut, NetworkError)) and not isinstance(error, BadRequest):
        log.warning("telegram unavailable for update %s: %s", update.update_id, error)
        return
    log.error("unexpected error in update %s", update.update_id, exc_info=error)
    await _tell(update, context, context.t("error.unexpected"), None)


def _keep_pending(update: Update, context: BotContext) -> None:
    """Keep, for the Retry button, what this user sent that could not be saved.

    That is their earlier unsaved messages (the gate set them aside for this update,
    see `gate`) and this one if it is a message. Button presses are not kept (a query
    can be answered only once): the user is asked to press again.
    """
    user = update.effective_user
    if user is None:
        return
    kept = [*context.unsaved]
    if update.message is not None:
        kept.append(update)
    if kept:
        context.bot_data.pending[user.id] = kept


async def _tell(
    update: Update, context: BotContext, text: str, reply_markup: InlineKeyboardMarkup | None
) -> None:
    try:
        if update.callback_query is not None:
            try:
                await update.callback_query.answer(plain(text), show_alert=True)
                if reply_markup is None:
                    return
            except BadRequest:
                pass  # already answered by the handler: say it in the chat instead
        chat = update.effective_chat
        if chat is not None:
            await context.bot.send_message(chat.id, text, reply_markup=reply_markup)
    except Exception:
        log.exception("could not tell the user about an error")
