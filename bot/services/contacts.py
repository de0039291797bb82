"""Contacts imported in bulk (a vCard file, a shared Telegram contact) as new cards, skipping
numbers the team already has."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.access import Actor
from bot.domain.contacts import Imported, duplicate_name
from bot.domain.errors import InvalidInput
from bot.services import customer_search
from bot.services import customers as customer_service
from bot.services.vcard import parse_vcards


async def import_contacts(
    session: AsyncSession, actor: Actor, *, contacts: list[dict[str, str]], now: datetime
) -> Imported:
    """A card per contact owned by the actor; a phone the team has is a duplicate, a bad contact rejected."""
    team_id = actor.team_id
    if team_id is None:
        raise InvalidInput("error.need_team")
    created: list[tuple[int, str]] = []
    duplicates: list[str | None] = []
    rejected: list[str] = []
    for values in contacts:
        try:
            if values.get("phone"):
                probe = customer_service.validate_field("phone", values["phone"], today=now.date())
                existing = await customer_search.find_by_phone(
                    session, team_id=team_id, digits=probe.phone_digits or ""
                )
                if existing is not None:
                    duplicates.append(duplicate_name(actor, customer_service.ref(existing), existing.name))
                    continue
            customer = await customer_service.create_customer(
                session, actor, values=values, now=now, lenient=True
            )
            assert customer.id is not None
            created.append((customer.id, customer.name))
        except InvalidInput:
            rejected.append(values.get("name") or "?")
    return Imported(len(contacts), created, duplicates, rejected)


async def import_vcard(session: AsyncSession, actor: Actor, *, content: bytes, now: datetime) -> Imported:
    """The contacts of a .vcf file, imported; `found` is 0 when the file held none."""
    contacts = parse_vcards(content)
    if not contacts:
        return Imported(0)
    return await import_contacts(session, actor, contacts=contacts, now=now)
