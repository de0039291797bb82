"""What the Mini App's API answers, as plain JSON data: the web's counterpart of the bot's handlers.

Each function reads the request's parameters, calls one service in one transaction (the
same services and access rules as the bot), and words the result in the user's language
from the same catalogues. The HTTP layer (`bot.web.server`) only checks who is asking and
turns these into responses; a `SalesbotError` raised here becomes the error reply.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain import card, money
from bot.domain.access import Actor, Role
from bot.domain.card import Kind, Section
from bot.domain.dates import ParsedDate, format_date
from bot.domain.errors import InvalidInput, NotAllowed
from bot.runtime import Runtime
from bot.services import board as board_service
from bot.services import cards as card_service
from bot.services import customers as customer_service
from bot.services import dashboard as dashboard_service
from bot.services import digest as digest_service
from bot.services.digest import figures

TIMELINE_LIMIT = 30  # the newest notes shown under the card form
COLUMN_PAGE = 40  # cards of a board's column sent at once
FORM_SECTIONS = (Section.BASIC, Section.BUSINESS, Section.PERSONAL, Section.LOGISTICS)


def _iso(moment: datetime | date | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def texts(services: Runtime, actor: Actor) -> dict[str, str]:
    """The page's own texts (`web.*`) in the user's language."""
    prefix = "web."
    return {
        key: services.text(actor.language, key)
        for key in sorted(services.catalogue.keys())
        if key.startswith(prefix)
    }


def me(actor: Actor, name: str | None) -> dict[str, Any]:
    return {
        "user_id": actor.user_id,
        "role": actor.role.value,
        "team_id": actor.team_id,
        "language": actor.language,
        "name": name,
    }


def _flag(value: str | None) -> bool:
    return value in ("1", "true", "yes")


def _int(value: str | None) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput("error.invalid") from None


def _board_card(c: board_service.Card) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "company": c.company,
        "owner_id": c.owner_id,
        "stage": c.stage,
        "grade": c.grade,
        "tags": list(c.tags),
        "last_contact_at": _iso(c.last_contact_at),
        "behind_days": c.behind_days,
        "next_due_on": _iso(c.next_due_on),
        "next_text": c.next_text,
    }


async def board(services: Runtime, actor: Actor, query: Mapping[str, str]) -> dict[str, Any]:
    """The pipeline board with the query's filters (grade, tag, behind, owner).

    Each column carries its count and its first COLUMN_PAGE cards (a phone shows no more at
    once); `stage` and `offset` ask for the next cards of one column.
    """
    filters = board_service.Filters(
        grade=query.get("grade") or None,
        tag=query.get("tag") or None,
        behind=_flag(query.get("behind")),
        owner_id=_int(query.get("owner")),
    )
    only, offset = query.get("stage") or None, _int(query.get("offset")) or 0
    if offset < 0:
        raise InvalidInput("error.invalid")
    now = services.now()

    async def read(session: Any) -> tuple[board_service.Board, list[tuple[int, str, str]]]:
        found = await board_service.board(session, actor, filters, now=now)
        lead = actor.role is Role.LEAD and actor.team_id is not None
        members = await figures.members(session, actor.team_id or 0) if lead else []
        return found, members

    found, members = await services.db(read, handles_update=False)
    lang = actor.language
    return {
        "columns": [
            {
                "stage": stage,
                "title": services.text(lang, f"stage.{stage}"),
                "count": len(cards),
                "offset": offset if stage == only else 0,
                "cards": [_board_card(c) for c in cards[offset : offset + COLUMN_PAGE]]
                if stage == only
                else [_board_card(c) for c in cards[:COLUMN_PAGE]],
            }
            for stage, cards in found.columns
            if only is None or stage == only
        ],
        "tags": found.tags,
        "total": found.total,
        "reps": [{"id": uid, "name": name} for uid, name, role in members if role == "rep"],
    }


async def move_stage(
    services: Runtime, actor: Actor, customer_id: int, body: Mapping[str, Any]
) -> dict[str, Any]:
    """Move a customer to another stage, as the bot's stage buttons do."""
    stage = body.get("stage")
    if not isinstance(stage, str):
        raise InvalidInput("error.unknown_choice")
    now = services.now()
    customer, old = await services.db(
        lambda s: customer_service.set_stage(s, actor, customer_id, stage=stage, now=now)
    )
    return {
        "id": customer_id,
        "stage": customer.stage,
        "from": old,
        "title": services.text(actor.language, f"stage.{customer.stage}"),
    }


def _value(services: Runtime, lang: str, customer: Any, spec: card.FieldSpec) -> str:
    """A field's value as the form shows it for editing ("" when empty)."""
    if spec.kind is Kind.DATE:
        if customer.birthday_month is None or customer.birthday_day is None:
            return ""
        parsed = ParsedDate(
            customer.birthday_year,
            customer.birthday_month,
            customer.birthday_day,
            lunar=customer.birthday_lunar,
            leap_month=customer.birthday_leap,
        )
        return format_date(parsed, lang)
    raw = getattr(customer, spec.key) if spec.column else customer.extra.get(spec.key)
    if raw in (None, "", []):
        return ""
    if spec.kind is Kind.TAGS:
        return ", ".join(raw)
    return str(raw)


async def card_form(services: Runtime, actor: Actor, customer_id: int) -> dict[str, Any]:
    """The whole card as one form, its sections and fields, and the newest notes."""
    today = services.today()

    async def read(session: Any) -> tuple[card_service.CardView, card_service.Timeline]:
        view = await card_service.card_view(session, actor, customer_id, with_history=False, today=today)
        notes = await card_service.timeline(session, actor, customer_id, offset=0, limit=TIMELINE_LIMIT)
        return view, notes

    view, notes = await services.db(read, handles_update=False)
    customer, lang = view.customer, actor.language
    t = services.text
    tz = ZoneInfo(services.settings.default_timezone)  # as the bot's timeline shows times
    sections = []
    for section in FORM_SECTIONS:
        fields = []
        for spec in card.FIELDS:
            if spec.section is not section:
                continue
            fields.append(
                {
                    "key": spec.key,
                    "label": t(lang, f"field.{spec.key}"),
                    "kind": spec.kind.value,
                    "value": _value(services, lang, customer, spec),
                    "choices": [
                        {"value": choice, "label": t(lang, f"choice.{spec.key}.{choice}")}
                        for choice in spec.choices
                    ],
                }
            )
        sections.append(
            {"key": section.value, "title": t(lang, f"section.{section.value}"), "fields": fields}
        )
    subtitle = " · ".join(
        part
        for part in (
            t(lang, f"stage.{customer.stage}"),
            customer.grade,
            view.owner,
        )
        if part
    )
    return {
        "id": customer_id,
        "name": customer.name,
        "subtitle": subtitle,
        "stage": customer.stage,
        "version": customer_service.card_version(customer),  # type: ignore[arg-type]
        "sections": sections,
        "timeline": [
            {
                "id": note.id,
                "when": note.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
                if note.created_at
                else None,
                "author": notes.authors.get(note.author_id or 0),
                "kind": t(lang, f"note_kind.{note.kind}")
                if services.catalogue.has(f"note_kind.{note.kind}")
                else None,
                "text": note.text,
                "file_kind": note.file_kind,
                "file_url": note_file_url(note.id) if note.file_id and note.id is not None else None,
            }
            for note in notes.page.items
            if note.kind != "system"
        ],
    }


def note_file_url(note_id: int) -> str:
    """Where the page fetches a note's file (relative to the page, which may live under a path)."""
    return f"api/notes/{note_id}/file"


async def save_card(
    services: Runtime, actor: Actor, customer_id: int, body: Mapping[str, Any]
) -> dict[str, Any]:
    """Save the card form's changed fields (all or nothing)."""
    changes = body.get("changes")
    if not isinstance(changes, dict) or not all(
        isinstance(key, str) and (value is None or isinstance(value, str)) for key, value in changes.items()
    ):
        raise InvalidInput("error.invalid")
    version = body.get("version")
    if version is not None and not isinstance(version, str):
        raise InvalidInput("error.invalid")
    now = services.now()
    customer = await services.db(
        lambda s: customer_service.update_fields(
            s, actor, customer_id, changes=changes, now=now, version=version
        )
    )
    return {"id": customer_id, "version": customer_service.card_version(customer)}


async def dashboard(services: Runtime, actor: Actor, query: Mapping[str, str]) -> dict[str, Any]:
    """The lead's dashboard: the last `days` days' activity (the team's or one rep's) and the
    per-rep table of the same period."""
    days = _int(query.get("days")) or 7
    owner = _int(query.get("owner"))
    last = services.today()
    first = last - timedelta(days=days - 1)

    async def read(session: Any) -> tuple[list[dashboard_service.Day], list[Any], list[tuple[int, str, str]]]:
        bars = await dashboard_service.activity(session, actor, first=first, last=last, owner_id=owner)
        per_rep = await dashboard_service.per_rep(session, actor, first=first, last=last)
        members = await figures.members(session, actor.team_id or 0)
        return bars, per_rep, members

    bars, per_rep, members = await services.db(read, handles_update=False)
    return {
        "first": first.isoformat(),
        "last": last.isoformat(),
        "days": [{"day": d.day.isoformat(), "notes": d.notes, "purchases": d.purchases} for d in bars],
        "reps": [{"id": uid, "name": name} for uid, name, role in members if role == "rep"],
        "per_rep": [
            {"id": row.user_id, "name": row.name, "notes": row.notes, "purchases": row.purchases}
            for row in per_rep
        ],
    }


async def dashboard_day(services: Runtime, actor: Actor, query: Mapping[str, str]) -> dict[str, Any]:
    """The customers behind one day's bar."""
    try:
        day = date.fromisoformat(query.get("day") or "")
    except ValueError:
        raise InvalidInput("error.invalid") from None
    owner = _int(query.get("owner"))
    found = await services.db(
        lambda s: dashboard_service.behind_day(s, actor, day=day, owner_id=owner), handles_update=False
    )
    return {
        "day": day.isoformat(),
        "customers": [
            {
                "id": c.customer_id,
                "name": c.name,
                "owner_id": c.owner_id,
                "notes": c.notes,
                "purchases": c.purchases,
            }
            for c in found
        ],
    }


def _list_json(services: Runtime, lang: str, page: digest_service.ListPage, offset: int) -> dict[str, Any]:
    """A page of one of the digest's lists: its title (the bot's button for it, with the count),
    and each item's customer, owner and why it is listed (amounts in the team's currency)."""
    listing = page.listing

    def detail(values: Mapping[str, Any]) -> dict[str, Any]:
        return {
            key: money.format_money(value, page.currency) if isinstance(value, Decimal) else value
            for key, value in values.items()
        }

    return {
        "name": page.name,
        "title": services.text(lang, f"btn.digest_{page.name}", count=listing.total),
        "total": listing.total,
        "offset": offset,
        "items": [
            {"customer_id": i.customer_id, "name": i.name, "owner": i.owner, "detail": detail(i.detail)}
            for i in listing.items
        ],
    }


def _lead_team(actor: Actor) -> int:
    """The team whose lists the dashboard shows: the actor's own (the digest's rules decide if they may)."""
    if actor.team_id is None:
        raise NotAllowed()
    return actor.team_id


async def dashboard_lists(services: Runtime, actor: Actor, query: Mapping[str, str]) -> dict[str, Any]:
    """The digest's four lists (overdue follow-ups, complaints past due, customers at risk, quiet
    A-grade customers) as the bot's digest shows them: each one's count and first page, the
    team's or one rep's (`owner`)."""
    owner, team_id, now = _int(query.get("owner")), _lead_team(actor), services.now()
    pages = await services.db(
        lambda s: digest_service.list_pages(s, actor, team_id=team_id, now=now, owner_id=owner),
        handles_update=False,
    )
    lang = actor.language
    return {
        "lists": [_list_json(services, lang, page, 0) for page in pages],
        "page": digest_service.PAGE,
        "empty": services.text(lang, "digest.list_empty"),
    }


async def dashboard_list(services: Runtime, actor: Actor, query: Mapping[str, str]) -> dict[str, Any]:
    """A further page of one of the digest's lists (`name`, from `offset`), the team's or one rep's."""
    name = query.get("name") or ""
    if name not in digest_service.LISTS:
        raise InvalidInput("error.invalid")
    offset, owner = _int(query.get("offset")) or 0, _int(query.get("owner"))
    if offset < 0:
        raise InvalidInput("error.invalid")
    team_id, now = _lead_team(actor), services.now()
    page = await services.db(
        lambda s: digest_service.list_page(
            s, actor, team_id=team_id, name=name, offset=offset, now=now, owner_id=owner
        ),
        handles_update=False,
    )
    return _list_json(services, actor.language, page, offset)
