"""The planner: turns the cards into outbox rows for the coming week.

Every pass reads each team's customers and plans what is due (birthdays, festivals,
after-sale follow-ups, anniversaries) as rows under a unique key, plus each member's
morning agenda and each lead's digest. Rows already there are left alone; rows still
waiting whose occasion no longer holds (a corrected birthday) are skipped. What to do
with each occasion (send time, too late, weekly cap) is decided by the pure rules of
`bot.domain.care`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select as sql_select  # more columns than sqlmodel's select types
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.care import (
    CareRules,
    Facts,
    Occasion,
    decide,
    holiday_name,
    message_language,
    no_longer_due,
    occasions,
    zone,
)
from bot.domain.dates import ParsedDate
from bot.scheduling import outbox
from bot.services import digest as digest_service
from bot.storage.models import Customer, Membership, OutboxMessage, Purchase, Team, User

HORIZON = timedelta(days=7)


# Rows that count towards a customer's weekly cap.
COUNTED = ("review", "planned", "claimed", "sending", "handed", "sent")


Render = Callable[[str, Occasion, Mapping[str, Any]], str]


@dataclass(frozen=True)
class PlanResult:
    """How many rows a planning pass added."""

    planned: int  # care messages to customers (through their rep or not)
    skipped: int  # planned as skipped (weekly cap, too late)
    agendas: int = 0  # reps' morning agendas and leads' digests


async def plan(
    session: AsyncSession, *, now: datetime, render: Render, horizon: timedelta = HORIZON
) -> PlanResult:
    """Add the rows every team's customers are due in the coming days."""
    planned = skipped = agendas = 0
    for team in (await session.exec(select(Team))).all():
        result = await plan_team(session, team, now=now, render=render, horizon=horizon)
        planned, skipped, agendas = (
            planned + result.planned,
            skipped + result.skipped,
            agendas + result.agendas,
        )
    return PlanResult(planned, skipped, agendas)


async def plan_team(
    session: AsyncSession, team: Team, *, now: datetime, render: Render, horizon: timedelta = HORIZON
) -> PlanResult:
    """Plan one team's care messages from now to `horizon` ahead."""
    assert team.id is not None
    rules = CareRules.from_settings(team.settings)
    customers = (
        await session.exec(
            select(Customer).where(
                col(Customer.team_id) == team.id,
                col(Customer.archived_at).is_(None),
                col(Customer.optin_state) != "out",
            )
        )
    ).all()
    bought: dict[int, list[tuple[date, str]]] = {}
    for customer_id, day, items in (
        await session.exec(
            select(col(Purchase.customer_id), col(Purchase.purchased_on), col(Purchase.items)).where(
                col(Purchase.team_id) == team.id
            )
        )
    ).all():
        bought.setdefault(customer_id, []).append((day, items))
    reps = {
        user.telegram_id: user
        for user in (
            await session.exec(
                select(User).where(col(User.telegram_id).in_(sorted({c.owner_id for c in customers})))
            )
        ).all()
    }
    start = now.date() - timedelta(days=8)
    taken: set[str] = set()
    per_week: Counter[tuple[int, int, int]] = Counter()
    waiting: dict[int, list[tuple[int, str, date]]] = {}  # not sent yet, by customer
    for row_id, key, owner, day, status in (
        await session.exec(  # type: ignore[call-overload]  # sqlmodel types at most 4 columns
            sql_select(
                col(OutboxMessage.id),
                col(OutboxMessage.key),
                col(OutboxMessage.customer_id),
                col(OutboxMessage.day),
                col(OutboxMessage.status),
            ).where(col(OutboxMessage.team_id) == team.id, col(OutboxMessage.day) >= start)
        )
    ).all():
        taken.add(key)
        if status in COUNTED and owner is not None:
            year, week, _ = day.isocalendar()
            per_week[(owner, year, week)] += 1
        if status in ("review", "planned") and owner is not None:
            waiting.setdefault(owner, []).append((row_id, key, day))
    stale: list[int] = []  # waiting rows whose occasion no longer holds (a birthday corrected…)
    known = {c.id for c in customers}
    for customer_id, entries in waiting.items():
        if customer_id not in known:  # archived, or opted out
            stale += [entry[0] for entry in entries]
    rows: list[dict[str, Any]] = []
    skipped = 0
    for customer in customers:
        assert customer.id is not None
        tz = zone(customer.timezone, team.timezone)
        today = now.astimezone(tz).date()
        on_telegram = customer.optin_state == "in" and customer.telegram_chat_id is not None
        facts = Facts(
            birthday=_birthday(customer),
            purchases=tuple(bought.get(customer.id, ())),
            grade=customer.grade,
            via_rep=not on_telegram,
            buys=customer.extra.get("purchase_kind"),
        )
        rep = reps.get(customer.owner_id)
        dues = occasions(facts, today, today + horizon, rules)
        wanted = {f"{customer.id}:{due.occasion.value}:{due.day.isoformat()}" for due in dues}
        stale += no_longer_due(waiting.get(customer.id, ()), wanted, today, today + horizon)
        for due in dues:
            key = f"{customer.id}:{due.occasion.value}:{due.day.isoformat()}"
            if key in taken:
                continue
            taken.add(key)
            year, week, _ = due.day.isocalendar()
            decision = decide(due.day, tz, rules, now=now, this_week=per_week[(customer.id, year, week)])
            if decision.status == "skipped":
                skipped += 1
            else:
                per_week[(customer.id, year, week)] += 1
            language = message_language(customer.language, rep.language if rep else None, team.language)
            params = {
                "name": customer.nickname or customer.name,
                "rep": rep.name if rep else "",
                "company": team.name,
                **due.params,
            }
            if due.occasion is Occasion.HOLIDAY:
                params["holiday"] = holiday_name(rules.country, due.day, str(params["holiday"]), language)
            rows.append(
                outbox.new_row(
                    key=key,
                    team_id=team.id,
                    customer_id=customer.id,
                    rep_id=customer.owner_id,
                    occasion=due.occasion.value,
                    day=due.day,
                    channel="telegram" if on_telegram else "via_rep",
                    chat_id=customer.telegram_chat_id if on_telegram else customer.owner_id,
                    language=language,
                    text=render(language, due.occasion, params),
                    due_at=decision.due_at,
                    now=now,
                    status=decision.status,
                    reason=decision.reason,
                )
            )
    messages = len(rows)
    rows += await _agendas(session, team, rules, now=now, taken=taken)
    rows += await digest_service.plan_rows(session, team, now=now, taken=taken)
    if stale:
        await session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(stale), col(OutboxMessage.status).in_(("review", "planned")))
            .values(status="skipped", reason="no_longer_due", updated_at=now)
        )
    if rows:
        await outbox.insert_new(session, rows)
    return PlanResult(messages - skipped, skipped, len(rows) - messages)


AGENDA_LATEST_HOUR = 12  # an agenda planned after noon waits for the next morning


async def _agendas(
    session: AsyncSession, team: Team, rules: CareRules, *, now: datetime, taken: set[str]
) -> list[dict[str, Any]]:
    """One morning agenda row per member per day (today's if the morning is not over)."""
    assert team.id is not None
    members = (
        await session.exec(
            select(User)
            .join(Membership, col(Membership.user_id) == col(User.telegram_id))
            .where(col(Membership.team_id) == team.id, col(Membership.active))
        )
    ).all()
    rows = []
    for user in members:
        tz = zone(user.timezone, team.timezone)
        local = now.astimezone(tz)
        for day in (local.date(), local.date() + timedelta(days=1)):
            key = f"agenda:{user.telegram_id}:{day.isoformat()}"
            due_at = datetime.combine(day, time(rules.agenda_hour), tzinfo=tz).astimezone(UTC)
            if key in taken or (due_at < now and local.hour >= AGENDA_LATEST_HOUR):
                continue
            taken.add(key)
            rows.append(
                outbox.new_row(
                    key=key,
                    team_id=team.id,
                    customer_id=None,
                    rep_id=user.telegram_id,
                    occasion=outbox.AGENDA,
                    day=day,
                    channel="telegram",
                    chat_id=user.telegram_id,
                    language=user.language,
                    text="",  # written when it goes, so that it is current
                    due_at=max(due_at, now),
                    now=now,
                )
            )
    return rows


def _birthday(customer: Customer) -> ParsedDate | None:
    if customer.birthday_month is None or customer.birthday_day is None:
        return None
    try:
        return ParsedDate(
            customer.birthday_year,
            customer.birthday_month,
            customer.birthday_day,
            lunar=customer.birthday_lunar,
            leap_month=customer.birthday_leap,
        )
    except ValueError:
        return None
