"""What a customer card and its timeline show, read in one transaction each: the card with
its history and insight, the owner's name, a page of notes with their authors, a note's file."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.access import Actor, Role
from bot.domain.errors import InvalidInput, NotFound
from bot.services import analytics, customer_search
from bot.services import customers as customer_service
from bot.storage.models import Note, User


@dataclass(frozen=True)
class CardView:
    """A card as one section shows it; history and insight only on the history tab."""

    customer: customer_service.CardData
    owner: str | None = None  # the owner's name, for leads and admins
    history: customer_service.History | None = None
    insight: analytics.Insight | None = None


async def _name(session: AsyncSession, user_id: int) -> str | None:
    user = await session.get(User, user_id)
    return user.name if user else None


async def card_view(
    session: AsyncSession,
    actor: Actor,
    customer_id: int,
    *,
    with_history: bool,
    today: date,
    loaded: customer_service.CardData | None = None,
) -> CardView:
    """The card (or the one already `loaded` within the actor's scope), its owner, its history if asked."""
    if with_history:
        full = await customer_service.get_customer(session, actor, customer_id)
        history = await customer_service.history(session, full)
        found = await analytics.insight(session, full, today=today) if history.purchase_count else None
        customer: customer_service.CardData = full
    else:
        customer = (
            loaded if loaded is not None else await customer_service.get_customer(session, actor, customer_id)
        )
        history, found = None, None
    owner = await _name(session, customer.owner_id) if actor.role is not Role.REP else None
    return CardView(customer, owner, history, found)


@dataclass(frozen=True)
class Timeline:
    """A page of a customer's timeline, newest first, with the names of the notes' authors."""

    customer_name: str
    page: customer_search.Page
    authors: dict[int, str] = field(default_factory=dict)


async def timeline(
    session: AsyncSession, actor: Actor, customer_id: int, *, offset: int, limit: int
) -> Timeline:
    """A page of the timeline the actor may see."""
    customer = await customer_service.get_customer(session, actor, customer_id)
    page = await customer_service.notes_page(session, actor, customer_id, offset=offset, limit=limit)
    authors: dict[int, str] = {}
    for note in page.items:
        if note.author_id and note.author_id not in authors:
            authors[note.author_id] = await _name(session, note.author_id) or "?"
    return Timeline(customer.name, page, authors)


async def tag_note(
    session: AsyncSession, actor: Actor, customer_id: int, note_id: int, *, kind: str, now: datetime
) -> Note:
    """Tag the author's note on this customer's card as a call, visit or message."""
    note = await customer_service.set_note_kind(session, actor, note_id, kind=kind, now=now)
    if note.customer_id != customer_id:
        raise InvalidInput("error.stale")
    return note


async def note_file(session: AsyncSession, *, customer_id: int, note_id: int) -> Note | None:
    """A note of this customer's that carries a file, or None (the caller checked the card is visible)."""
    note = await session.get(Note, note_id)
    if note is None or note.customer_id != customer_id or not note.file_id:
        return None
    return note


async def visible_note_file(session: AsyncSession, actor: Actor, note_id: int) -> Note:
    """A note with a file, on a card the actor may see (as the bot's timeline shows it).

    A note that does not exist or has no file reads as NotFound; a note on someone else's
    card as NotAllowed (from the card's own access rule), so neither tells more than the other.
    """
    note = await session.get(Note, note_id)
    if note is None or not note.file_id:
        raise NotFound()
    await customer_service.get_customer(session, actor, note.customer_id)
    return note
