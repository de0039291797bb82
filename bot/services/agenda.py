"""A rep's day: follow-ups due and overdue, birthdays, customers behind their contact rhythm.

Also the rep's own reminders (`/remind`, and those playbooks create), kept as tasks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import analytics
from bot.domain.access import Actor
from bot.domain.dates import ParsedDate
from bot.domain.errors import InvalidInput, NotAllowed, NotFound
from bot.services import complaints as complaint_service
from bot.services import customers as customer_service
from bot.storage.models import Customer, Outcome, Purchase, Task, Team

LIST_MAX = 10
TASK_TEXT_MAX = 1000


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
    listed: list[tuple[Task, str | None]] = [(task, name) for task, name in tasks]
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


async def add_reminder(
    session: AsyncSession,
    actor: Actor,
    *,
    due_on: date,
    text: str,
    today: date,
    customer_id: int | None = None,
    now: datetime,
) -> Task:
    """A reminder for the actor, about a customer or not."""
    body = text.strip()
    if not body:
        raise InvalidInput("error.empty")
    if len(body) > TASK_TEXT_MAX:
        raise InvalidInput("error.too_long", limit=TASK_TEXT_MAX, length=len(body))
    if due_on < today:
        raise InvalidInput("remind.past")
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
        text=body,
        source="manual",
        created_at=now,
    )
    session.add(task)
    await session.flush()
    return task


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
        if complaint is not None and complaint.resolved_at is None:
            await complaint_service.resolve(session, actor, task.outcome_id, now=now)
    return task
