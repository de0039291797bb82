"""The timeline: notes as text, photo, voice or file, and reading them back."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from telegram import Update

from bot.domain.access import Perm
from bot.domain.errors import InvalidInput
from bot.services import cards as card_service
from bot.services import customer_search
from bot.services import customers as svc
from bot.storage.models import Note
from bot.telegram import flows, words
from bot.telegram.cards.find import PAGE
from bot.telegram.cards.view import leave_to_card, stage_label
from bot.telegram.context import BotContext
from bot.telegram.flows import Flow, Input, Step
from bot.telegram.routes import Target, router
from bot.telegram.ui import Button, answer_query, button, chunk, fits, keyboard, reply, shorten

TIMELINE_PAGE = 5


# ---------------------------------------------------------------- notes


@router.callback("cn", Perm.EDIT_CUSTOMER, Target.CUSTOMER, edit=True)
async def on_note(update: Update, context: BotContext) -> None:
    """Ask for a note: text, photo, voice note or file."""
    await answer_query(update)
    await start_note(update, context, context.arg_id(0))


async def start_note(update: Update, context: BotContext, cid: int) -> None:
    """Begin the note flow for a customer."""
    actor = context.actor
    customer = await context.services.db(lambda s: svc.get_customer(s, actor, cid, edit=True))
    await flows.start(update, context, "note", {"customer_id": cid, "name": customer.name})


@router.command("note", Perm.MEMBER)
async def cmd_note(update: Update, context: BotContext) -> None:
    """/note: pick a recent customer, then write the note."""
    actor, now = context.actor, context.services.now()
    page = await context.services.read(
        lambda c: customer_search.search(c, actor, customer_search.Filters(), offset=0, limit=PAGE, now=now)
    )
    if not page.items:
        await reply(
            update,
            context,
            context.t("find.empty_list"),
            keyboard([[button(context.t("btn.new"), "nw")]]),
        )
        return
    rows = [[button(c.name, "cn", c.id)] for c in page.items]
    rows.append([button(context.t("btn.find"), "fd")])
    await reply(update, context, context.t("note.pick_customer"), keyboard(rows))


async def _check_note(context: BotContext, data: dict[str, Any], step: Step, given: Input) -> Any:
    if given.file_id:
        return {"text": given.text, "file_id": given.file_id, "file_kind": given.file_kind}
    text = given.text.strip()
    if not text:
        raise InvalidInput("error.empty")
    if len(text) > svc.NOTE_MAX:
        raise InvalidInput("error.too_long", limit=svc.NOTE_MAX, length=len(text))
    return {"text": text, "file_id": None, "file_kind": None}


async def _finish_note(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    actor, now = context.actor, context.services.now()
    cid, body = int(data["customer_id"]), data["body"]

    text, file_id, file_kind = body["text"], body["file_id"], body["file_kind"]
    note = await flows.complete(
        context,
        lambda s: svc.add_note(s, actor, cid, text=text, file_id=file_id, file_kind=file_kind, now=now),
    )
    kinds = [button(context.t(f"note_kind.{k}"), "nk", cid, note.id, k) for k in svc.CONTACT_KINDS]
    rows = [
        kinds,
        [
            button(context.t("btn.note_more"), "cn", cid),
            button(context.t("btn.open_card"), "cv", cid, "basic"),
        ],
    ]
    await reply(update, context, context.t("note.saved", name=data["name"]), keyboard(rows))


flows.register(
    Flow(
        "note",
        (Step("body", "note.prompt", media=True),),
        _check_note,
        _finish_note,
        leave=leave_to_card,
    )
)


@router.callback("nk", Perm.EDIT_CUSTOMER, Target.CUSTOMER, edit=True)
async def on_note_kind(update: Update, context: BotContext) -> None:
    """Tag the note just written as a call, visit or message."""
    actor, now = context.actor, context.services.now()
    cid, note_id, kind = context.arg_id(0), context.arg_id(1), context.arg(2)

    await context.services.db(lambda s: card_service.tag_note(s, actor, cid, note_id, kind=kind, now=now))
    await answer_query(update, context.alert("note.kind_set", kind=context.t(f"note_kind.{kind}")))
    rows = [
        [
            button(context.t("btn.note_more"), "cn", cid),
            button(context.t("btn.open_card"), "cv", cid, "basic"),
        ]
    ]
    await reply(
        update,
        context,
        context.t("note.kind_saved", kind=context.t(f"note_kind.{kind}")),
        keyboard(rows),
        edit=True,
    )


@router.callback("cl", Perm.VIEW_CUSTOMER, Target.CUSTOMER)
async def on_timeline(update: Update, context: BotContext) -> None:
    """A page of the customer's timeline, newest first."""
    await answer_query(update)
    cid = context.arg_id(0)
    offset = context.arg_id(1, default=0)
    actor = context.actor

    found = await context.services.db(
        lambda s: card_service.timeline(s, actor, cid, offset=offset, limit=TIMELINE_PAGE)
    )
    text, shown = _timeline_text(context, found, offset)
    await reply(
        update, context, text, keyboard(_timeline_rows(context, cid, found.page, offset, shown)), edit=True
    )


def _timeline_text(context: BotContext, found: card_service.Timeline, offset: int) -> tuple[str, int]:
    """The page as one message, and how many of its entries fit in it."""
    tz = context.services.settings.default_timezone
    entries = [
        {
            "when": _local(note.created_at, tz),
            "kind": context.t(f"note_kind.{note.kind}"),
            "author": found.authors.get(note.author_id or 0, ""),
            "text": note_text(context, note),
            "file": words.file_kind(context.services, context.lang, note.file_kind),
        }
        for note in found.page.items
    ]
    # Show as many entries as fit in one message; the next page starts after them.
    shown = len(entries)
    while True:
        text = context.t(
            "timeline.view",
            name=found.customer_name,
            entries=entries[:shown],
            total=found.page.total,
            first=offset + 1,
            last=offset + shown,
        )
        if fits(text) or shown == 1:
            return text, shown
        shown -= 1


def _timeline_rows(
    context: BotContext, cid: int, page: customer_search.Page, offset: int, shown: int
) -> list[list[Button]]:
    """A button per file shown, paging, a new note and the card."""
    next_offset = offset + shown
    files = [
        button(context.t(f"btn.file.{n.file_kind}"), "nf", cid, n.id) for n in page.items[:shown] if n.file_id
    ]
    nav: list[Button] = []
    if page.has_prev:
        nav.append(button(context.t("btn.prev"), "cl", cid, max(0, offset - TIMELINE_PAGE)))
    if next_offset < page.total:
        nav.append(button(context.t("btn.next"), "cl", cid, next_offset))
    return [
        *chunk(files, 3),
        nav,
        [
            button(context.t("btn.note"), "cn", cid),
            button(context.t("btn.open_card"), "cv", cid, "basic"),
        ],
    ]


def note_text(context: BotContext, note: Note) -> str:
    """A timeline entry's text; system entries are rendered from their facts in the reader's language."""
    return entry_text(context, note.kind, note.text, note.meta)


def entry_text(context: BotContext, kind: str, text: str, meta: dict[str, Any]) -> str:
    """`note_text` from a note's kind, text and facts (lists that read them without the Note)."""
    if kind == "system" and meta.get("event"):
        facts = {k: str(v) for k, v in meta.items() if k != "event"}
        if meta["event"] == "stage":
            facts = {k: stage_label(context, v) for k, v in facts.items()}
        elif meta["event"] == "care_unconfirmed":
            occasion = f"care.occasion.{facts.get('occasion', '')}"
            if context.services.catalogue.has(occasion):
                facts["occasion"] = context.t(occasion)
            # The message itself; the timeline escapes the whole entry, so not escaped here too.
            facts["text"] = Markup(shorten(text, 600))
        key = f"timeline.system.{meta['event']}"
        if context.services.catalogue.has(key):
            return context.t(key, **facts)
    return shorten(text, 600)


def _local(moment: Any, tz: str) -> str:
    from zoneinfo import ZoneInfo

    return str(moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M"))


@router.callback("nf", Perm.VIEW_CUSTOMER, Target.CUSTOMER)
async def on_note_file(update: Update, context: BotContext) -> None:
    """Send a note's photo, voice note or file again."""
    cid, note_id = context.arg_id(0), context.arg_id(1)
    note = await context.services.db(lambda s: card_service.note_file(s, customer_id=cid, note_id=note_id))
    if note is None or not note.file_id:
        await answer_query(update, context.alert("error.stale"))
        return
    await answer_query(update)
    chat_id = update.effective_chat.id if update.effective_chat else context.actor.user_id
    caption = shorten(note.text, 1000) or None
    if note.file_kind == "photo":
        await context.bot.send_photo(chat_id, note.file_id, caption=caption, parse_mode=None)
    elif note.file_kind == "voice":
        await context.bot.send_voice(chat_id, note.file_id, caption=caption, parse_mode=None)
    else:
        await context.bot.send_document(chat_id, note.file_id, caption=caption, parse_mode=None)
