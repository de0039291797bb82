"""Customer cards, notes and purchases: the rules, applied to the tables."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, bindparam, func, insert, inspect, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import card, grading
from bot.domain.access import Actor, CustomerRef, Role, can_edit_customer, can_view_customer
from bot.domain.card import FieldSpec, Kind, Stage
from bot.domain.dates import DateParseError, parse_date
from bot.domain.errors import Changed, FieldErrors, InvalidInput, NotAllowed, NotFound
from bot.domain.money import parse_number
from bot.domain.search import search_text
from bot.services.customer_search import Page
from bot.services.team import new_code
from bot.storage.models import Customer, Note, Purchase, Task, Team

# Kinds of note a rep can tag an entry with; these count as being in touch.
CONTACT_KINDS = ("call", "visit", "message")
NOTE_KINDS = (
    "note",
    *CONTACT_KINDS,
    "playbook",
    "objection",
    "complaint",
    "purchase",
    "care",
    "system",
)
NOTE_MAX = 5000


def ref(customer: Customer) -> CustomerRef:
    """The ownership facts of a customer, for the access policy."""
    assert customer.id is not None
    return CustomerRef(customer.id, customer.team_id, customer.owner_id)


def reindex(customer: Customer) -> None:
    """Refresh the search text after any change."""
    customer.search_text = search_text(
        name=customer.name,
        nickname=customer.nickname,
        company=customer.company,
        phone_digits=customer.phone_digits,
        email=customer.email,
        tags=customer.tags,
        extra_values=customer.extra.values(),
    )


async def get_customer(
    session: AsyncSession, actor: Actor, customer_id: int, *, edit: bool = False
) -> Customer:
    """A customer the actor may see (or edit); anything else reads as "no longer available"."""
    customer = await session.get(Customer, customer_id)
    if customer is None or customer.archived_at is not None:
        raise NotFound()
    allowed = can_edit_customer if edit else can_view_customer
    if not allowed(actor, ref(customer)):
        raise NotAllowed()
    return customer


_REF = select(col(Customer.team_id), col(Customer.owner_id)).where(
    col(Customer.id) == bindparam("customer_id"), col(Customer.archived_at).is_(None)
)


async def customer_ref(connection: AsyncConnection, customer_id: int) -> CustomerRef | None:
    """Ownership facts only (read by the access gate for every button about a customer)."""
    row = (await connection.execute(_REF, {"customer_id": customer_id})).first()
    return CustomerRef(customer_id, row[0], row[1]) if row else None


def _require_team(actor: Actor) -> int:
    if actor.team_id is None or actor.role not in (Role.LEAD, Role.REP):
        raise NotAllowed("error.need_team")
    return actor.team_id


async def create_customer(
    session: AsyncSession,
    actor: Actor,
    *,
    values: dict[str, str],
    now: datetime,
    lenient: bool = False,
) -> Customer:
    """A new card owned by the actor, from raw values typed or shared (name required).

    With lenient=True (imported contacts), an unreadable optional field is left out
    instead of refusing the whole contact.
    """
    team_id = _require_team(actor)
    customer = Customer(
        team_id=team_id,
        owner_id=actor.user_id,
        name=card.check_name(values.get("name", "")),
        optin_code=new_code(16),
        created_at=now,
        updated_at=now,
    )
    for key, raw in values.items():
        if key != "name" and raw:
            try:
                apply_field(customer, card.field(key), raw, today=now.date())
            except InvalidInput:
                if not lenient:
                    raise
    reindex(customer)
    session.add(customer)
    await session.flush()
    return customer


def apply_field(customer: Customer, spec: FieldSpec, raw: str, *, today: date) -> None:
    """Check a typed value for a field and put it on the card (raises InvalidInput)."""
    value: Any
    match spec.kind:
        case Kind.NAME:
            value = card.check_name(raw, max_length=spec.max_length)
        case Kind.PHONE:
            value, digits = card.check_phone(raw)
            customer.phone_digits = digits
        case Kind.EMAIL:
            value = card.check_email(raw)
        case Kind.CHOICE:
            value = card.check_choice(spec, raw)
        case Kind.DAYS:
            value = card.check_days(raw)
        case Kind.SCORE:
            value = card.check_score(raw)
        case Kind.TAGS:
            value = card.check_tags(raw)
        case Kind.TIMEZONE:
            value = card.check_timezone(raw)
        case Kind.DATE:
            _apply_birthday(customer, raw, today=today)
            return
        case _:
            value = card.check_text(raw, max_length=spec.max_length)
    if spec.column:
        setattr(customer, spec.key, value)
    else:
        customer.extra = {**customer.extra, spec.key: value}


def validate_field(key: str, raw: str, *, today: date) -> Customer:
    """Check a value for a field without touching any card; returns a scratch card holding it."""
    scratch = Customer(team_id=0, owner_id=0, name="-", optin_code="-")
    apply_field(scratch, card.field(key), raw, today=today)
    return scratch


def _apply_birthday(customer: Customer, raw: str, *, today: date) -> None:
    try:
        parsed = parse_date(raw, today=today)
    except DateParseError:
        raise InvalidInput("error.date") from None
    if parsed.relative:
        # "tomorrow" is no birthday; ask again with examples.
        raise InvalidInput("error.birthday_relative")
    if parsed.year is not None and not parsed.lunar and parsed.to_date() > today:
        raise InvalidInput("error.birthday_future")
    customer.birthday_year = parsed.year
    customer.birthday_month = parsed.month
    customer.birthday_day = parsed.day
    customer.birthday_lunar = parsed.lunar
    customer.birthday_leap = parsed.leap_month


def clear_field(customer: Customer, spec: FieldSpec) -> None:
    """Empty an optional field."""
    if spec.key == "name":
        raise InvalidInput("error.name_empty")
    if spec.kind is Kind.DATE:
        customer.birthday_year = customer.birthday_month = customer.birthday_day = None
        customer.birthday_lunar = customer.birthday_leap = False
    elif spec.kind is Kind.TAGS:
        customer.tags = []
    elif spec.column:
        setattr(customer, spec.key, None)
        if spec.kind is Kind.PHONE:
            customer.phone_digits = None
    else:
        customer.extra = {k: v for k, v in customer.extra.items() if k != spec.key}


async def update_field(
    session: AsyncSession,
    actor: Actor,
    customer_id: int,
    *,
    key: str,
    raw: str | None,
    now: datetime,
) -> Customer:
    """Set (or, with raw=None, clear) one field of a card."""
    customer = await get_customer(session, actor, customer_id, edit=True)
    spec = card.field(key)
    if raw is None:
        clear_field(customer, spec)
    else:
        apply_field(customer, spec, raw, today=now.date())
    customer.updated_at = now
    reindex(customer)
    session.add(customer)
    return customer


async def update_fields(
    session: AsyncSession,
    actor: Actor,
    customer_id: int,
    *,
    changes: Mapping[str, str | None],
    now: datetime,
    version: str | None = None,
) -> Customer:
    """Save a whole card form: each field set from its text (empty or None clears it).

    Every value is checked first, as `update_field` checks one; if any fails, nothing is
    applied and FieldErrors names each bad field with its reason. With `version` (the
    card's `card_version` when the form was opened), a card whose fields changed since,
    in the bot or another form, is not overwritten (Changed).
    """
    customer = await get_customer(session, actor, customer_id, edit=True)
    if version is not None and card_version(customer) != version:
        raise Changed()
    today = now.date()
    errors: dict[str, InvalidInput] = {}
    checked: list[tuple[FieldSpec, str | None]] = []
    for key, raw in changes.items():
        text = raw.strip() if raw is not None else ""
        try:
            spec = card.field(key)
            if text:
                validate_field(key, text, today=today)
            elif spec.key == "name":
                raise InvalidInput("error.name_empty")
        except InvalidInput as error:
            errors[key] = error
            continue
        checked.append((spec, text or None))
    if errors:
        raise FieldErrors(errors)
    for spec, value in checked:
        if value is None:
            clear_field(customer, spec)
        else:
            apply_field(customer, spec, value, today=today)
    if checked:
        customer.updated_at = now
        reindex(customer)
        session.add(customer)
    return customer


def card_version(customer: Customer) -> str:
    """A short fingerprint of every field of a card (and its stage and grade): a form opened
    at one version is saved only over the same one."""
    values = [
        customer.stage,
        customer.grade,
        customer.birthday_year,
        customer.birthday_month,
        customer.birthday_day,
        customer.birthday_lunar,
        customer.birthday_leap,
        *(
            (getattr(customer, spec.key) if spec.column else customer.extra.get(spec.key))
            for spec in card.FIELDS
            if spec.kind is not Kind.DATE
        ),
    ]
    raw = json.dumps(values, ensure_ascii=False, default=str, sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _field_text(customer: Customer, spec: FieldSpec) -> str:
    """A field's value as text ("" when empty), for a playbook's write to build on."""
    if spec.kind is Kind.DATE:
        return "-" if customer.birthday_month is not None else ""
    value = getattr(customer, spec.key, None) if spec.column else customer.extra.get(spec.key)
    if value is None or value == "" or value == []:
        return ""
    return ", ".join(value) if isinstance(value, list) else str(value)


async def write_field(
    session: AsyncSession,
    actor: Actor,
    customer_id: int,
    *,
    key: str,
    raw: str,
    mode: str,
    now: datetime,
) -> bool:
    """A playbook's write to a field: added to or filled, never over what a rep wrote.

    Returns whether the card changed (an addition already there changes nothing).
    """
    customer = await get_customer(session, actor, customer_id, edit=True)
    spec = card.field(key)
    value = card.merged_value(spec, _field_text(customer, spec), raw, mode=mode, today=now.date())
    if value is None:
        return False
    apply_field(customer, spec, value, today=now.date())
    customer.updated_at = now
    reindex(customer)
    session.add(customer)
    return True


async def _revenue(session: AsyncSession, customer_id: int) -> Decimal:
    total = (
        await session.exec(
            select(func.coalesce(func.sum(Purchase.amount), 0)).where(
                col(Purchase.customer_id) == customer_id
            )
        )
    ).one()
    return Decimal(total)


async def set_stage(
    session: AsyncSession, actor: Actor, customer_id: int, *, stage: str, now: datetime
) -> tuple[Customer, str]:
    """Move a customer to a stage; returns the card and the stage it left."""
    try:
        new = Stage(stage)
    except ValueError:
        raise InvalidInput("error.unknown_choice") from None
    customer = await get_customer(session, actor, customer_id, edit=True)
    old = customer.stage
    if old != new.value:
        customer.stage, customer.updated_at = new.value, now
        session.add(customer)
        session.add(
            Note(
                customer_id=customer_id,
                team_id=customer.team_id,
                author_id=actor.user_id,
                kind="system",
                meta={"event": "stage", "old": old, "new": new.value},
                created_at=now,
            )
        )
    return customer, old


async def lose_deal(
    session: AsyncSession, actor: Actor, customer_id: int, *, now: datetime
) -> tuple[Customer, str]:
    """A deal lost: a prospect moves to lost, a customer who has bought stays a customer."""
    customer = await get_customer(session, actor, customer_id, edit=True)
    paying = await _revenue(session, customer_id) > 0
    stage = card.stage_after_lost_deal(customer.stage, paying=paying)
    return await set_stage(session, actor, customer_id, stage=stage.value, now=now)


async def recompute_grades(session: AsyncSession, team_id: int) -> None:
    """Re-grade the team's paying customers whose grade is not set by hand, from their revenue.

    A customer who has not bought keeps the grade they have: none, or one a playbook
    suggested (see `suggest_grade`), until their purchases decide.
    """
    team = await session.get(Team, team_id)
    cutoffs = grading.cutoffs_from(team.settings if team else {})
    totals = [
        (customer_id, Decimal(total))
        for customer_id, total in (
            await session.exec(
                select(Purchase.customer_id, func.sum(Purchase.amount))
                .where(col(Purchase.team_id) == team_id)
                .group_by(col(Purchase.customer_id))
            )
        ).all()
    ]
    grades = grading.grades_by_revenue(totals, cutoffs)
    if not grades:
        return
    automatic = (
        await session.exec(
            select(Customer).where(
                col(Customer.team_id) == team_id,
                col(Customer.grade_manual).is_(False),
                col(Customer.archived_at).is_(None),
                # A subquery, not the ids themselves: a big team has more paying customers
                # than PostgreSQL takes parameters in one statement.
                col(Customer.id).in_(select(Purchase.customer_id).where(col(Purchase.team_id) == team_id)),
            )
        )
    ).all()
    for customer in automatic:
        grade = grades.get(customer.id or 0)
        if customer.grade != grade:
            customer.grade = grade
            session.add(customer)


async def set_grade(
    session: AsyncSession, actor: Actor, customer_id: int, *, grade: str | None, now: datetime
) -> Customer:
    """Set the grade by hand, or hand it back to the computed grade with None."""
    if grade is not None and grade not in card.GRADES:
        raise InvalidInput("error.unknown_choice")
    customer = await get_customer(session, actor, customer_id, edit=True)
    customer.grade, customer.grade_manual, customer.updated_at = grade, grade is not None, now
    session.add(customer)
    if grade is None:
        await session.flush()
        await recompute_grades(session, customer.team_id)
    return customer


async def suggest_grade(
    session: AsyncSession, actor: Actor, customer_id: int, *, grade: str, now: datetime
) -> Customer:
    """A playbook's grade: kept while the customer has not bought and the rep set none by hand.

    It stays automatic, so the first purchases re-grade the customer by revenue.
    """
    if grade not in card.GRADES:
        raise InvalidInput("error.unknown_choice")
    customer = await get_customer(session, actor, customer_id, edit=True)
    if customer.grade_manual or await _revenue(session, customer_id) > 0:
        return customer
    customer.grade, customer.updated_at = grade, now
    session.add(customer)
    return customer


@functools.cache
def _touch_statement(contact: bool) -> Any:
    """Mark a card as updated (and contacted) now, returning its team and owner."""
    now = bindparam("now", type_=inspect(Customer).columns["updated_at"].type)
    values = {"updated_at": now, "last_contact_at": now} if contact else {"updated_at": now}
    return (
        update(Customer)
        .where(col(Customer.id) == bindparam("customer_id"), col(Customer.archived_at).is_(None))
        .values(values)
        .returning(col(Customer.team_id), col(Customer.owner_id))
    )


_INSERT_NOTE = insert(Note).returning(col(Note.id))


async def add_note(
    session: AsyncSession,
    actor: Actor,
    customer_id: int,
    *,
    text: str,
    now: datetime,
    kind: str = "note",
    file_id: str | None = None,
    file_kind: str | None = None,
    meta: dict[str, Any] | None = None,
) -> Note:
    """Add an entry to the customer's timeline.

    The hottest write of the bot, so it is two plain statements, built once, rather
    than ORM loads and flushes: touching the card (which also proves it exists and
    says whose it is) and inserting the note.
    """
    body = text.strip()
    if not body and not file_id:
        raise InvalidInput("error.empty")
    if len(body) > NOTE_MAX:
        raise InvalidInput("error.too_long", limit=NOTE_MAX, length=len(body))
    if kind not in NOTE_KINDS:
        raise InvalidInput("error.unknown_choice")
    connection = await session.connection()
    touched = (
        await connection.execute(
            _touch_statement(kind in CONTACT_KINDS), {"customer_id": customer_id, "now": now}
        )
    ).first()
    if touched is None:
        raise NotFound()
    if not can_edit_customer(actor, CustomerRef(customer_id, touched[0], touched[1])):
        raise NotAllowed()  # the transaction rolls back, the card is untouched
    note = Note(
        customer_id=customer_id,
        team_id=touched[0],
        author_id=actor.user_id,
        kind=kind,
        text=body,
        file_id=file_id,
        file_kind=file_kind,
        meta=meta or {},
        created_at=now,
    )
    note.id = (await connection.execute(_INSERT_NOTE, note.model_dump(exclude={"id"}))).scalar_one()
    return note


async def set_note_kind(
    session: AsyncSession, actor: Actor, note_id: int, *, kind: str, now: datetime
) -> Note:
    """Tag a note as a call, visit or message (which also counts as a contact)."""
    if kind not in CONTACT_KINDS:
        raise InvalidInput("error.unknown_choice")
    note = await session.get(Note, note_id)
    if note is None or note.author_id != actor.user_id or note.kind not in ("note", *CONTACT_KINDS):
        # Only the author re-tags their own plain notes; purchases and system entries stay.
        raise NotFound()
    customer = await get_customer(session, actor, note.customer_id, edit=True)
    note.kind = kind
    session.add(note)
    customer.last_contact_at = max(customer.last_contact_at or note.created_at, note.created_at)
    customer.updated_at = now  # the card changed (its last contact), as every write to it says
    session.add(customer)
    return note


def parse_amount(raw: str) -> Decimal:
    """A purchase amount: digits with optional decimals, commas, ¥/$ and 元/万 tolerated."""
    amount = parse_number(raw)
    if amount <= 0:
        raise InvalidInput("error.amount")
    return amount


async def add_purchase(
    session: AsyncSession,
    actor: Actor,
    customer_id: int,
    *,
    amount: Decimal,
    items: str,
    purchased_on: date,
    now: datetime,
    note_text: str,
) -> Purchase:
    """Record a sale; a customer still in the pipeline becomes won."""
    customer = await get_customer(session, actor, customer_id, edit=True)
    if purchased_on > now.date() + timedelta(days=1):
        raise InvalidInput("error.purchase_future")
    purchase = Purchase(
        customer_id=customer_id,
        team_id=customer.team_id,
        purchased_on=purchased_on,
        amount=amount,
        items=items.strip()[:500],
        created_by=actor.user_id,
        created_at=now,
    )
    session.add(purchase)
    session.add(
        Note(
            customer_id=customer_id,
            team_id=customer.team_id,
            author_id=actor.user_id,
            kind="purchase",
            text=note_text,
            created_at=now,
        )
    )
    if customer.stage not in (Stage.WON, Stage.AFTER_SALES):
        customer.stage = Stage.WON.value
    customer.updated_at = now
    session.add(customer)
    await session.flush()
    await recompute_grades(session, customer.team_id)
    return purchase


# What a card is shown from: the customer, or a search hit, which is the card's columns
# as a read-only row (same attribute names) and costs less to read than an ORM object.
CardData = Customer | Row[Any]


async def notes_page(
    session: AsyncSession, actor: Actor, customer_id: int, *, offset: int, limit: int
) -> Page:
    """A page of the timeline, newest first."""
    await get_customer(session, actor, customer_id)
    total = (
        await session.exec(select(func.count()).select_from(Note).where(col(Note.customer_id) == customer_id))
    ).one()
    rows = await session.exec(
        select(Note)
        .where(col(Note.customer_id) == customer_id)
        .order_by(col(Note.created_at).desc(), col(Note.id).desc())
        .offset(offset)
        .limit(limit)
    )
    return Page(list(rows.all()), total, offset, limit)


@dataclass(frozen=True)
class History:
    """The history section: purchase totals and the latest entries."""

    purchases: list[Purchase]
    purchase_count: int
    revenue: Decimal
    note_count: int
    reminders: list[Task] = field(default_factory=list)  # open follow-ups, soonest first


async def history(session: AsyncSession, customer: Customer) -> History:
    """Purchase totals and the latest purchases of a card."""
    count, revenue = (
        await session.exec(
            select(func.count(), func.coalesce(func.sum(Purchase.amount), 0)).where(
                col(Purchase.customer_id) == customer.id
            )
        )
    ).one()
    latest = await session.exec(
        select(Purchase)
        .where(col(Purchase.customer_id) == customer.id)
        .order_by(col(Purchase.purchased_on).desc(), col(Purchase.id).desc())
        .limit(5)
    )
    notes = (
        await session.exec(select(func.count()).select_from(Note).where(col(Note.customer_id) == customer.id))
    ).one()
    reminders = await session.exec(
        select(Task)
        .where(col(Task.customer_id) == customer.id, col(Task.done_at).is_(None))
        .order_by(col(Task.due_on), col(Task.id))
        .limit(5)
    )
    return History(list(latest.all()), count, Decimal(revenue), notes, list(reminders.all()))
