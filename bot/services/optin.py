"""A customer's side: opening their personal link (opt-in), `/stop` (opt-out), and their
messages, kept on their cards and relayed to their reps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.access import Actor
from bot.domain.optin import check_optin, check_optout
from bot.scheduling import outbox as care_service
from bot.services.customers import NOTE_MAX
from bot.storage.models import Customer, Note, User


@dataclass(frozen=True)
class Rep:
    """A rep to tell something, in their language."""

    chat_id: int
    name: str
    language: str


@dataclass(frozen=True)
class OptedIn:
    """A customer who opened their link, and their rep (None when the owner is gone)."""

    customer_name: str
    rep: Rep | None


@dataclass(frozen=True)
class Relayed:
    """One card a customer's message was kept on, and the rep to forward it to."""

    customer_id: int
    customer_name: str
    rep: Rep


def _rep(user: User | None) -> Rep | None:
    return Rep(user.telegram_id, user.name, user.language) if user is not None else None


def _event(customer: Customer, event: str, now: datetime) -> Note:
    assert customer.id is not None
    return Note(
        customer_id=customer.id,
        team_id=customer.team_id,
        kind="system",
        meta={"event": event},
        created_at=now,
    )


async def _linked(session: AsyncSession, chat_id: int) -> list[Customer]:
    found = await session.exec(select(Customer).where(col(Customer.telegram_chat_id) == chat_id))
    return list(found.all())


async def opt_in(session: AsyncSession, actor: Actor, *, code: str, now: datetime) -> OptedIn:
    """Link the card with this opt-in code to the actor's chat and note that they opted in."""
    customer = (await session.exec(select(Customer).where(col(Customer.optin_code) == code))).first()
    check_optin(
        actor,
        found=customer is not None,
        archived=customer is not None and customer.archived_at is not None,
        linked_chat_id=customer.telegram_chat_id if customer is not None else None,
    )
    assert customer is not None
    customer.telegram_chat_id, customer.optin_state = actor.user_id, "in"
    customer.language = customer.language or actor.language
    session.add(customer)
    session.add(_event(customer, "optin", now))
    return OptedIn(customer.name, _rep(await session.get(User, customer.owner_id)))


async def opt_out(session: AsyncSession, actor: Actor, *, now: datetime) -> int:
    """Stop every message to the actor's chat at once: their cards opt out, waiting care is skipped."""
    check_optout(actor)
    customers = await _linked(session, actor.user_id)
    for customer in customers:
        assert customer.id is not None
        customer.optin_state = "out"
        session.add(customer)
        await care_service.skip_opted_out(session, customer_id=customer.id, now=now)
        session.add(_event(customer, "optout", now))
    return len(customers)


async def blocked(session: AsyncSession, actor: Actor, *, now: datetime) -> list[care_service.Blocked]:
    """The actor blocked the bot: every card linked to their chat opts out; the reps to tell."""
    found = []
    for customer in await _linked(session, actor.user_id):
        opted_out = await care_service.opt_out_blocked(session, customer=customer, now=now)
        if opted_out is not None:
            found.append(opted_out)
    return found


async def relay(session: AsyncSession, actor: Actor, *, text: str, now: datetime) -> list[Relayed]:
    """Keep a customer's message on each of their cards (a contact) and say which reps to tell."""
    out: list[Relayed] = []
    for customer in await _linked(session, actor.user_id):
        assert customer.id is not None
        session.add(
            Note(
                customer_id=customer.id,
                team_id=customer.team_id,
                kind="message",
                text=text[:NOTE_MAX],
                created_at=now,
            )
        )
        customer.last_contact_at = now
        session.add(customer)
        rep = _rep(await session.get(User, customer.owner_id))
        if rep is not None:
            out.append(Relayed(customer.id, customer.name, rep))
    return out
