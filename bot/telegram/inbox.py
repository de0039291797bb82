"""Plain messages and files (no command): which form, search, import or rep they go to.

The decisions are `bot.domain.inbox`; these handlers read the message and pass it on.
"""

from __future__ import annotations

from telegram import Update

from bot.domain.inbox import Doing, MediaGoes, TextGoes, where_media_goes, where_text_goes
from bot.services import customer_search
from bot.telegram import cards, contacts, customer_side, flows, playbooks
from bot.telegram.context import BotContext
from bot.telegram.flows import Input
from bot.telegram.menu import show_menu
from bot.telegram.ui import reply


def _doing(flow: str | None) -> Doing:
    """A playbook run, another form, or nothing in progress."""
    if flow is None:
        return Doing.NOTHING
    return Doing.PLAYBOOK if flow == playbooks.PLAY_FLOW else Doing.FORM


async def on_text(update: Update, context: BotContext) -> None:
    """Text goes to the current flow; otherwise staff search, customers reach their rep."""
    message = update.effective_message
    assert message is not None and message.text is not None
    state = await flows.current(context) if context.actor.is_staff else None
    match where_text_goes(context.actor, _doing(state.flow if state else None), message.text):
        case TextGoes.PLAYBOOK:
            assert state is not None
            await playbooks.on_typed(update, context, state, message.text)
        case TextGoes.FORM:
            assert state is not None
            await flows.feed(update, context, state, Input(text=message.text))
        case TextGoes.MENU:
            await show_menu(update, context)
        case TextGoes.TOO_LONG:
            await reply(update, context, context.t("find.too_long"))
        case TextGoes.SEARCH:
            filters = customer_search.Filters(query=message.text.strip())
            await cards.search_and_show(update, context, filters)
        case TextGoes.REP:
            await customer_side.relay_to_rep(update, context, message.text)
        case TextGoes.INTRO:
            await reply(update, context, context.t("stranger.intro"))


async def on_media(update: Update, context: BotContext) -> None:
    """A photo, voice note or file: attach it to the note being written, or import contacts."""
    message = update.effective_message
    assert message is not None
    state = await flows.current(context) if context.actor.is_staff else None
    match where_media_goes(
        context.actor, _doing(state.flow if state else None), is_document=message.document is not None
    ):
        case MediaGoes.INTRO | MediaGoes.TEXT_ONLY as goes:
            await reply(
                update, context, context.t("stranger.intro" if goes is MediaGoes.INTRO else "relay.text_only")
            )
        case MediaGoes.PLAYBOOK:
            assert state is not None
            await reply(update, context, context.t("error.text_expected"))
            await playbooks.resume(update, context, state)
        case MediaGoes.FORM:
            assert state is not None
            await flows.feed(update, context, state, _media_input(update))
        case MediaGoes.IMPORT:
            assert message.document is not None
            await contacts.import_vcard(update, context, message.document)
        case MediaGoes.OPEN_CARD_FIRST:
            await reply(update, context, context.t("note.open_card_first"))


def _media_input(update: Update) -> Input:
    """The file a message carries (the largest photo size), with its caption."""
    message = update.effective_message
    assert message is not None
    caption = message.caption or ""
    if message.photo:
        return Input(text=caption, file_id=message.photo[-1].file_id, file_kind="photo")
    if message.voice:
        return Input(text=caption, file_id=message.voice.file_id, file_kind="voice")
    if message.audio:
        return Input(text=caption, file_id=message.audio.file_id, file_kind="voice")
    if message.document:
        return Input(text=caption, file_id=message.document.file_id, file_kind="document")
    if message.video:
        return Input(text=caption, file_id=message.video.file_id, file_kind="document")
    return Input(text=caption)


async def on_contact(update: Update, context: BotContext) -> None:
    """A shared Telegram contact: staff import it as a card."""
    message = update.effective_message
    assert message is not None and message.contact is not None
    if not context.actor.is_staff:
        await reply(update, context, context.t("stranger.intro"))
        return
    await contacts.import_contact(update, context, message.contact)


async def on_other(update: Update, context: BotContext) -> None:
    """Stickers, locations and the like: say what the bot understands."""
    await reply(update, context, context.t("error.unsupported_message"))
