"""A rep's day: follow-ups due and overdue, birthdays, customers behind their contact rhythm.

Also the rep's own reminders (`/remind`, and those playbooks create), kept as tasks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import String, func, literal, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import analytics, mentions, workdays
from bot.domain.access import Actor, can_edit_customer
from bot.domain.dates import DAY_PARTS, ParsedDate
from bot.domain.errors import InvalidInput, NotAllowed, NotFound
from bot.services import complaints as complaint_service
from bot.services import customers as customer_service
from bot.storage.models import Customer, Outcome, Purchase, Task, Team

LIST_MAX = 10
TASK_TEXT_MAX = 1000
CANDIDATES_MAX = 6  # customers offered when a reminder's name fits several
_CLOCK = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")
# Where a part of the day falls among clock times, to list a day's reminders in order.
_PART_CLOCK = {"morning": "09:00", "noon": "12:00", "afternoon": "14:00", "evening": "19:00"}


def time_order(time_of_day: str | None) -> str:
    """A sort key: reminders without a time first, then by the clock (上午 as 09:00)."""
    if time_of_day is None:
        return ""
    return _PART_CLOCK.get(time_of_day, time_of_day)


@dataclass(frozen=True)
class Behind:
    """A customer the rep has not been in touch with for longer than their rhythm."""

    customer_id: int
    name: str
    days: int  # since the last contact
    every: int  # the rhythm
    reason: str  # why to get in touch now: birthday_soon | after_purchase | check_in
    detail: str = ""


@dataclass
class Agenda:
    """What a rep sees in the morning."""

    today: date
    due: list[tuple[Task, str | None]] = field(default_factory=list)  # (task, customer name)
    overdue: list[tuple[Task, str | None]] = field(default_factory=list)
    overdue_total: int = 0
    birthdays: list[tuple[int, str]] = field(default_factory=list)
    behind: list[Behind] = field(default_factory=list)
    behind_total: int = 0

    @property
    def empty(self) -> bool:
        """Nothing to do today."""
        return not (self.due or self.overdue or self.birthdays or self.behind)


async def agenda(session: AsyncSession, *, rep_id: int, team_id: int, today: date, now: datetime) -> Agenda:
    """The rep's agenda for a day."""
    out = Agenda(today)
    tasks = (
        await session.exec(
            select(Task, Customer.name)
            .join(Customer, col(Customer.id) == col(Task.customer_id), isouter=True)
            .where(col(Task.owner_id) == rep_id, col(Task.done_at).is_(None), col(Task.due_on) <= today)
            .order_by(col(Task.due_on), col(Task.id))
        )
    ).all()
    listed: list[tuple[Task, str | None]] = sorted(
        ((task, name) for task, name in tasks),
        key=lambda row: (row[0].due_on, time_order(row[0].time_of_day)),
    )
    out.due = [(task, name) for task, name in listed if task.due_on == today][:LIST_MAX]
    overdue = [(task, name) for task, name in listed if task.due_on < today]
    out.overdue, out.overdue_total = overdue[:LIST_MAX], len(overdue)
    customers = (
        await session.exec(
            select(Customer).where(
                col(Customer.owner_id) == rep_id,
                col(Customer.team_id) == team_id,
                col(Customer.archived_at).is_(None),
            )
        )
    ).all()
    team = await session.get(Team, team_id)
    rhythm = analytics.rhythm_of(team.settings if team else {})
    soon: dict[int, date] = {}
    for customer in customers:
        assert customer.id is not None
        if customer.birthday_month is None or customer.birthday_day is None:
            continue
        try:
            birthday = ParsedDate(
                None,
                customer.birthday_month,
                customer.birthday_day,
                lunar=customer.birthday_lunar,
                leap_month=customer.birthday_leap,
            ).next_occurrence(today)
        except ValueError:
            continue
        if birthday == today:
            out.birthdays.append((customer.id, customer.name))
        elif birthday <= today + timedelta(days=7):
            soon[customer.id] = birthday
    bought = await _last_purchases(session, [c.id for c in customers if c.id is not None])
    behind: list[Behind] = []
    for customer in customers:
        assert customer.id is not None
        every = analytics.contact_every(customer.grade, customer.contact_every_days, rhythm)
        days = analytics.rhythm_breach(
            last_contact=customer.last_contact_at,
            created=customer.created_at,
            every=every,
            stage=customer.stage,
            now=now,
        )
        if days is None:
            continue
        if customer.id in soon:
            reason, detail = "birthday_soon", soon[customer.id].isoformat()
        elif customer.id in bought:
            reason, detail = "after_purchase", bought[customer.id]
        else:
            reason, detail = "check_in", ""
        behind.append(Behind(customer.id, customer.name, days, every, reason, detail))
    behind.sort(key=lambda b: (-(b.days - b.every) / b.every, b.name))
    out.behind, out.behind_total = behind[:LIST_MAX], len(behind)
    return out


async def _last_purchases(session: AsyncSession, ids: list[int]) -> dict[int, str]:
    """What each customer bought last (items), for a reason to get in touch."""
    out: dict[int, str] = {}
    if not ids:
        return out
    rows = (
        await session.exec(
            select(Purchase.customer_id, Purchase.items)
            .where(col(Purchase.customer_id).in_(ids))
            .order_by(col(Purchase.purchased_on), col(Purchase.id))
        )
    ).all()
    for customer_id, items in rows:
        out[customer_id] = items or ""
    return out


def _checked(text: str, *, due_on: date, time_of_day: str | None, today: date) -> str:
    """The reminder's text, stripped; InvalidInput when it or its date cannot be saved."""
    if time_of_day is not None and time_of_day not in DAY_PARTS and not _CLOCK.fullmatch(time_of_day):
        raise InvalidInput("error.date")
    body = text.strip()
    if not body:
        raise InvalidInput("error.empty")
    if len(body) > TASK_TEXT_MAX:
        raise InvalidInput("error.too_long", limit=TASK_TEXT_MAX, length=len(body))
    if due_on < today:
        raise InvalidInput("remind.past")
    return body


async def add_reminder(
    session: AsyncSession,
    actor: Actor,
    *,
    due_on: date,
    text: str,
    today: date,
    customer_id: int | None = None,
    time_of_day: str | None = None,
    now: datetime,
) -> Task:
    """A reminder for the actor, about a customer or not, maybe at a time of day."""
    body = _checked(text, due_on=due_on, time_of_day=time_of_day, today=today)
    team_id = actor.team_id
    if customer_id is not None:
        customer = await customer_service.get_customer(session, actor, customer_id, edit=True)
        team_id = customer.team_id
    if team_id is None:
        raise InvalidInput("error.need_team")
    task = Task(
        team_id=team_id,
        owner_id=actor.user_id,
        customer_id=customer_id,
        due_on=due_on,
        time_of_day=time_of_day,
        text=body,
        source="manual",
        created_at=now,
    )
    session.add(task)
    await session.flush()
    return task


@dataclass(frozen=True)
class Draft:
    """A reminder as typed, not saved yet (it waits in the flow while the rep picks a customer)."""

    due_on: date
    text: str
    time_of_day: str | None = None
    customer_id: int | None = None


@dataclass(frozen=True)
class Placed:
    """A saved reminder and the card it is linked to; or, unsaved, the customers its text may mean."""

    task: Task | None
    customer: Customer | None = None
    candidates: list[Customer] = field(default_factory=list)


async def place_reminder(
    session: AsyncSession, actor: Actor, draft: Draft, *, today: date, now: datetime, link: bool = True
) -> Placed:
    """Save a reminder, linked to the customer its text names.

    When the text names several of the actor's customers, nothing is saved and they are
    returned to ask which; `link=False` saves it as it is (the rep chose no customer).
    """
    _checked(draft.text, due_on=draft.due_on, time_of_day=draft.time_of_day, today=today)
    customer: Customer | None = None
    if draft.customer_id is not None:
        customer = await customer_service.get_customer(session, actor, draft.customer_id, edit=True)
    elif link:
        named = await customers_named(session, actor, draft.text)
        if len(named) > 1:
            return Placed(None, candidates=named)
        customer = named[0] if named else None
    task = await add_reminder(
        session,
        actor,
        due_on=draft.due_on,
        text=draft.text,
        today=today,
        customer_id=customer.id if customer else None,
        time_of_day=draft.time_of_day,
        now=now,
    )
    return Placed(task, customer)


async def customers_named(session: AsyncSession, actor: Actor, text: str) -> list[Customer]:
    """The customers a reminder's text names that the actor may link it to (a rep's own, a lead's team's)."""
    folded = mentions.fold(text)
    if actor.team_id is None or not folded:
        return []
    said = literal(folded, String())
    conditions = [
        col(Customer.team_id) == actor.team_id,
        col(Customer.archived_at).is_(None),
        # A first sieve in the database; mentions.mentioned decides.
        or_(said.contains(func.lower(col(Customer.name))), said.contains(func.lower(col(Customer.nickname)))),
    ]
    if not (actor.is_lead or actor.is_admin):
        conditions.append(col(Customer.owner_id) == actor.user_id)
    found = (await session.exec(select(Customer).where(*conditions).order_by(col(Customer.id)))).all()
    by_id = {c.id: c for c in found if can_edit_customer(actor, customer_service.ref(c))}
    named = [mentions.Named(cid, (c.name, c.nickname or "")) for cid, c in by_id.items() if cid is not None]
    return [by_id[cid] for cid in mentions.mentioned(text, named)][:CANDIDATES_MAX]


async def working_day(session: AsyncSession, team_id: int, day: date) -> date:
    """A date the bot computed ("in 3 days"), moved off the team's days off."""
    team = await session.get(Team, team_id)
    return workdays.shift_for(team.settings if team else {}, day)


async def finish_task(session: AsyncSession, actor: Actor, task_id: int, *, now: datetime) -> Task:
    """Tick a reminder off (only its owner can); a complaint's reminder resolves the complaint."""
    task = await session.get(Task, task_id)
    if task is None or task.done_at is not None:
        raise NotFound()
    if task.owner_id != actor.user_id:
        raise NotAllowed()
    task.done_at = now
    session.add(task)
    if task.outcome_id is not None:
        complaint = await session.get(Outcome, task.outcome_id)
        customer = await session.get(Customer, complaint.customer_id) if complaint is not None else None
        # A card taken out of use keeps its history as it was: the reminder is ticked off alone.
        live = customer is not None and customer.archived_at is None
        if complaint is not None and complaint.resolved_at is None and live:
            await complaint_service.resolve(session, actor, task.outcome_id, now=now)
    return task
