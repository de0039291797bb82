"""Importing contacts: a .vcf file or a shared Telegram contact becomes customer cards."""

from __future__ import annotations

import asyncio

from telegram import Contact, Document, Update

from bot.domain.contacts import SHOWN_MAX, Imported, check_vcard_file, contact_name
from bot.domain.errors import InvalidInput
from bot.services import contacts as svc
from bot.services import vcard
from bot.telegram import cards
from bot.telegram.context import BotContext
from bot.telegram.ui import button, keyboard, reply


async def import_vcard(update: Update, context: BotContext, document: Document) -> None:
    """Read a .vcf file and make a card per contact."""
    actor, services = context.actor, context.services
    try:
        check_vcard_file(
            actor, file_name=document.file_name, mime_type=document.mime_type, size=document.file_size
        )
    except InvalidInput as error:
        await reply(update, context, context.t(error.key, **error.params))
        return
    content = bytes(await (await document.get_file()).download_as_bytearray())
    # Reading 500 cards takes about 0.1 s of CPU: off the event loop.
    contacts = await asyncio.to_thread(vcard.parse_vcards, content)
    now = services.now()
    imported = await services.db(lambda s: svc.import_contacts(s, actor, contacts=contacts, now=now))
    if not imported.found:
        await reply(update, context, context.t("import.nothing"))
        return
    await _show(update, context, imported)


async def import_contact(update: Update, context: BotContext, contact: Contact) -> None:
    """A shared Telegram contact becomes a customer card in one tap."""
    actor, services = context.actor, context.services
    if actor.team_id is None:
        await reply(update, context, context.t("error.need_team"))
        return
    values = {"name": contact_name(contact.first_name, contact.last_name), "phone": contact.phone_number}
    now = services.now()
    imported = await services.db(lambda s: svc.import_contacts(s, actor, contacts=[values], now=now))
    await _show(update, context, imported)


async def _show(update: Update, context: BotContext, imported: Imported) -> None:
    """The one new card, or what was created, skipped as a duplicate and rejected."""
    if imported.single is not None:
        await cards.show_card(update, context, imported.single, notice=context.t("card.created"))
        return
    rows = [[button(name, "cv", cid, "basic")] for cid, name in imported.created[:SHOWN_MAX]]
    rows.append([button(context.t("btn.menu"), "m")])
    hidden = context.t("import.someone_elses")
    duplicates = [name if name is not None else hidden for name in imported.duplicates]
    text = context.t(
        "import.done", created=len(imported.created), duplicates=duplicates, rejected=imported.rejected
    )
    await reply(update, context, text, keyboard(rows))
