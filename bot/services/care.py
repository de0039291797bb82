"""The care outbox: planning messages from the cards, and every step of sending them.

The table is the truth. Planning inserts one row per customer, occasion and day (a
unique key, so planning again or from another process adds nothing). Sending claims
due rows for a short lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several
dispatchers share the table), marks a row `sending` just before its one Telegram
call and `sent` right after. A process killed in between leaves that one row
`sending`; when its lease runs out it becomes `failed` ("interrupted"), never resent:
a greeting may be missed in that case, but never arrives twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, or_, update
from sqlalchemy import select as sql_select  # more columns than sqlmodel's select types
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import workdays
from bot.domain.access import Actor, Role
from bot.domain.care import (
    CareRules,
    Due,
    Facts,
    Occasion,
    holiday_name,
    message_language,
    next_allowed,
    occasions,
    send_time,
    zone,
)
from bot.domain.dates import ParsedDate
from bot.domain.errors import InvalidInput, NotAllowed, Stale
from bot.services import digest as digest_service
from bot.storage.models import Customer, Membership, Note, OutboxMessage, Purchase, Team, User

HORIZON = timedelta(days=7)
AGENDA = "agenda"
ONE_OFF = "one_off"  # a message a rep wrote for one customer and one day
PLANNED_OCCASIONS = frozenset(o.value for o in Occasion)  # what the planner makes (and unmakes)
LEASE = timedelta(seconds=60)
RETRY_DELAYS = (30, 120, 600, 3600)  # seconds, after network errors; then it fails
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
        stale += [
            row_id
            for row_id, key, day in waiting.get(customer.id, ())
            if today <= day <= today + horizon
            and key not in wanted
            and key.split(":")[1] in PLANNED_OCCASIONS
        ]
        for due in dues:
            key = f"{customer.id}:{due.occasion.value}:{due.day.isoformat()}"
            if key in taken:
                continue
            taken.add(key)
            year, week, _ = due.day.isocalendar()
            status, reason = ("review" if rules.review else "planned"), None
            due_at = send_time(due.day, tz, rules)
            if due_at < now:
                due_at = next_allowed(now, tz, rules)
                if due_at.astimezone(tz).date() != due.day:
                    status, reason = "skipped", "too_late"
            if status != "skipped" and per_week[(customer.id, year, week)] >= rules.weekly_cap:
                status, reason = "skipped", "weekly_cap"
            if status == "skipped":
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
                {
                    "key": key,
                    "team_id": team.id,
                    "customer_id": customer.id,
                    "rep_id": customer.owner_id,
                    "occasion": due.occasion.value,
                    "day": due.day,
                    "channel": "telegram" if on_telegram else "via_rep",
                    "chat_id": customer.telegram_chat_id if on_telegram else customer.owner_id,
                    "language": language,
                    "text": render(language, due.occasion, params)[:4000],
                    "status": status,
                    "reason": reason,
                    "due_at": due_at,
                    "created_at": now,
                    "updated_at": now,
                }
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
        await _insert_new(session, rows)
    return PlanResult(messages - skipped, skipped, len(rows) - messages)


AGENDA_LATEST_HOUR = 12  # an agenda planned after noon waits for the next morning


async def _agendas(
    session: AsyncSession, team: Team, rules: CareRules, *, now: datetime, taken: set[str]
) -> list[dict[str, Any]]:
    """One morning agenda row per member per day (today's if the morning is not over)."""
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
                {
                    "key": key,
                    "team_id": team.id,
                    "customer_id": None,
                    "rep_id": user.telegram_id,
                    "occasion": AGENDA,
                    "day": day,
                    "channel": "telegram",
                    "chat_id": user.telegram_id,
                    "language": user.language,
                    "text": "",  # written when it goes, so that it is current
                    "status": "planned",
                    "reason": None,
                    "due_at": max(due_at, now),
                    "created_at": now,
                    "updated_at": now,
                }
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


async def _insert_new(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert rows whose key is new; a key another process planned meanwhile is left alone."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    for start in range(0, len(rows), 500):
        statement = insert(OutboxMessage).values(rows[start : start + 500])
        await session.exec(statement.on_conflict_do_nothing(index_elements=["key"]))


# ---------------------------------------------------------------- sending


async def recover(session: AsyncSession, *, now: datetime) -> int:
    """Rows whose lease ran out: never tried → due again; cut off mid-send → failed."""
    reclaimed = await session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.status) == "claimed", col(OutboxMessage.lease_until) < now)
        .values(status="planned", claimed_by=None, lease_until=None, updated_at=now)
    )
    interrupted = await session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.status) == "sending", col(OutboxMessage.lease_until) < now)
        .values(status="failed", reason="interrupted", claimed_by=None, lease_until=None, updated_at=now)
    )
    return int(reclaimed.rowcount or 0) + int(interrupted.rowcount or 0)


async def claim(session: AsyncSession, *, now: datetime, worker: str, limit: int) -> list[OutboxMessage]:
    """Take up to `limit` due rows for this worker (rows another worker holds are skipped)."""
    # Materialised once: without it PostgreSQL may run the LIMIT … SKIP LOCKED subquery
    # again for each row of a freshly filled (not yet analysed) table, claiming them all.
    due = (
        select(OutboxMessage.id)
        .where(col(OutboxMessage.status) == "planned", col(OutboxMessage.due_at) <= now)
        .order_by(col(OutboxMessage.due_at), col(OutboxMessage.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("due")
        .prefix_with("MATERIALIZED")
    )
    ids = [
        row[0]
        for row in (
            await session.exec(
                update(OutboxMessage)
                .where(col(OutboxMessage.id).in_(select(due.c.id)), col(OutboxMessage.status) == "planned")
                .values(
                    status="claimed",
                    claimed_by=worker,
                    lease_until=now + LEASE,
                    attempts=col(OutboxMessage.attempts) + 1,
                    updated_at=now,
                )
                .returning(col(OutboxMessage.id))
            )
        ).all()
    ]
    if not ids:
        return []
    rows = (
        await session.exec(
            select(OutboxMessage)
            .where(col(OutboxMessage.id).in_(ids))
            .order_by(col(OutboxMessage.due_at), col(OutboxMessage.id))
        )
    ).all()
    return list(rows)


async def start_sending(session: AsyncSession, *, outbox_id: int, worker: str, now: datetime) -> bool:
    """Mark a claimed row as being sent right now; False if it is no longer this worker's."""
    result = await session.exec(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id) == outbox_id,
            col(OutboxMessage.status) == "claimed",
            col(OutboxMessage.claimed_by) == worker,
        )
        .values(status="sending", lease_until=now + LEASE, updated_at=now)
    )
    return bool(result.rowcount)


async def delivered(
    session: AsyncSession, *, outbox_id: int, message_id: int | None, now: datetime, to_rep: bool
) -> None:
    """The customer got it (sent), or their rep got it to pass on (handed)."""
    row = await session.get(OutboxMessage, outbox_id)
    if row is None:
        return
    row.status = "handed" if to_rep else "sent"
    row.message_id, row.claimed_by, row.lease_until, row.updated_at = message_id, None, None, now
    if not to_rep:
        row.sent_at = now
        _care_note(session, row, now)
    session.add(row)


def _care_note(session: AsyncSession, row: OutboxMessage, now: datetime) -> None:
    if row.customer_id is not None:
        session.add(
            Note(
                customer_id=row.customer_id,
                team_id=row.team_id,
                kind="care",
                text=row.text,
                meta={"outbox": row.id, "occasion": row.occasion},
                created_at=now,
            )
        )


async def retry_later(
    session: AsyncSession, *, outbox_id: int, now: datetime, delay: float, reason: str
) -> None:
    """Back to the queue after `delay` seconds (429 or a network error), or failed after too many tries."""
    row = await session.get(OutboxMessage, outbox_id)
    if row is None:
        return
    if row.attempts > len(RETRY_DELAYS):
        row.status, row.reason = "failed", reason[:300]
    else:
        row.status, row.reason = "planned", reason[:300]
        row.due_at = now + timedelta(seconds=delay)
    row.claimed_by, row.lease_until, row.updated_at = None, None, now
    session.add(row)


def backoff(attempts: int) -> float:
    """Seconds to wait after a network error on the given attempt."""
    return float(RETRY_DELAYS[min(max(attempts - 1, 0), len(RETRY_DELAYS) - 1)])


async def skip(session: AsyncSession, *, outbox_id: int, now: datetime, reason: str) -> None:
    """Nothing to send after all (an empty agenda)."""
    await session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == outbox_id)
        .values(status="skipped", reason=reason, claimed_by=None, lease_until=None, updated_at=now)
    )


async def give_up(session: AsyncSession, *, outbox_id: int, now: datetime, reason: str) -> None:
    """Telegram refused it for good (not a block): failed, with the reason."""
    await session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == outbox_id)
        .values(status="failed", reason=reason[:300], claimed_by=None, lease_until=None, updated_at=now)
    )


@dataclass(frozen=True)
class Blocked:
    """A customer who blocked the bot, and the rep to tell."""

    customer_id: int
    name: str
    rep_id: int
    rep_language: str


async def blocked(session: AsyncSession, *, outbox_id: int, now: datetime) -> Blocked | None:
    """The customer blocked the bot: opted out, their waiting messages skipped."""
    row = await session.get(OutboxMessage, outbox_id)
    if row is None or row.customer_id is None:
        return None
    row.status, row.reason, row.claimed_by, row.lease_until, row.updated_at = (
        "failed",
        "blocked",
        None,
        None,
        now,
    )
    session.add(row)
    customer = await session.get(Customer, row.customer_id)
    if customer is None:
        return None
    customer.optin_state, customer.updated_at = "out", now
    session.add(customer)
    await session.exec(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.customer_id) == row.customer_id,
            col(OutboxMessage.channel) == "telegram",
            col(OutboxMessage.status).in_(("review", "planned")),
        )
        .values(status="skipped", reason="opted_out", updated_at=now)
    )
    session.add(
        Note(
            customer_id=row.customer_id,
            team_id=row.team_id,
            kind="system",
            meta={"event": "blocked"},
            created_at=now,
        )
    )
    rep = await session.get(User, customer.owner_id)
    return Blocked(row.customer_id, customer.name, customer.owner_id, rep.language if rep else "zh")


async def skip_opted_out(session: AsyncSession, *, customer_id: int, now: datetime) -> None:
    """A customer said /stop: nothing more waits for them on Telegram."""
    await session.exec(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.customer_id) == customer_id,
            col(OutboxMessage.channel) == "telegram",
            col(OutboxMessage.status).in_(("review", "planned")),
        )
        .values(status="skipped", reason="opted_out", updated_at=now)
    )


# ---------------------------------------------------------------- a rep's own message


@dataclass(frozen=True)
class OneOff:
    """A rep's own message as planned, and which of their messages to that customer that day it is."""

    row: OutboxMessage
    order: int  # 1 for the first message to the customer on that day, 2 for the second…


async def one_off(
    session: AsyncSession,
    actor: Actor,
    customer_id: int,
    *,
    day: date,
    text: str,
    now: datetime,
    form: str,
) -> OneOff:
    """A message the rep wrote, to go on a day at the team's send time.

    Each form makes its own row (several messages to one customer on one day all go,
    in the order written); the key names the form, so finishing the same form twice
    (a repeated update, two taps at once) leaves one row.
    """
    from bot.services.customers import get_customer

    body = text.strip()
    if not body:
        raise InvalidInput("error.empty")
    if len(body) > ONE_OFF_MAX:
        raise InvalidInput("error.too_long", limit=ONE_OFF_MAX, length=len(body))
    customer = await get_customer(session, actor, customer_id, edit=True)
    if customer.optin_state == "out":
        raise InvalidInput("care.opted_out")
    team = await session.get(Team, customer.team_id)
    assert team is not None
    rules = CareRules.from_settings(team.settings)
    tz = zone(customer.timezone, team.timezone)
    if day < now.astimezone(tz).date():
        raise InvalidInput("remind.past")
    due_at = send_time(day, tz, rules)
    if due_at < now:
        due_at = next_allowed(now, tz, rules)
    on_telegram = customer.optin_state == "in" and customer.telegram_chat_id is not None
    rep = await session.get(User, customer.owner_id)
    key = f"{customer_id}:{ONE_OFF}:{day.isoformat()}:{form}"
    await _insert_new(
        session,
        [
            {
                "key": key,
                "team_id": customer.team_id,
                "customer_id": customer_id,
                "rep_id": actor.user_id,
                "occasion": ONE_OFF,
                "day": day,
                "channel": "telegram" if on_telegram else "via_rep",
                "chat_id": customer.telegram_chat_id if on_telegram else actor.user_id,
                "language": message_language(customer.language, rep.language if rep else None, team.language),
                "text": body,
                "status": "planned",
                "reason": None,
                "due_at": due_at,
                "created_at": now,
                "updated_at": now,
            }
        ],
    )
    row = (await session.exec(select(OutboxMessage).where(col(OutboxMessage.key) == key))).one()
    assert row.id is not None
    order = (
        await session.exec(
            select(func.count()).where(
                col(OutboxMessage.customer_id) == customer_id,
                col(OutboxMessage.occasion) == ONE_OFF,
                col(OutboxMessage.day) == day,
                col(OutboxMessage.status).not_in(("skipped", "failed")),
                col(OutboxMessage.id) <= row.id,
            )
        )
    ).one()
    return OneOff(row, int(order))


ONE_OFF_MAX = 2000


# ---------------------------------------------------------------- the lead's rules

CAP_MAX = 14


async def change_rule(
    session: AsyncSession, actor: Actor, team_id: int, *, rule: str, arg: str, now: datetime
) -> CareRules:
    """A lead changes one of the team's care rules; returns the rules as they now are."""
    from bot.services.team import get_team

    team = await get_team(session, actor, team_id)
    rules = CareRules.from_settings(team.settings)
    care = dict(team.settings.get("care") or {})
    step = {"+": 1, "-": -1}.get(arg, 0)  # "=" shows the rules again
    if rule == "mode":
        care["review"] = not rules.review
    elif rule in ("send_hour", "quiet_start", "quiet_end", "agenda_hour"):
        care[rule] = (getattr(rules, rule) + step) % 24
    elif rule == "weekly_cap":
        care[rule] = min(max(rules.weekly_cap + step, 0), CAP_MAX)
    elif rule == workdays.SETTING and arg in {w.value for w in workdays.WorkWeek}:
        team.settings = {**team.settings, workdays.SETTING: arg}
    elif rule == "occasion" and arg in {o.value for o in Occasion}:
        switched = dict(care.get("occasions") or {})
        switched[arg] = arg not in rules.occasions
        care["occasions"] = switched
    else:
        raise Stale()
    team.settings = {**team.settings, "care": care}
    session.add(team)
    return CareRules.from_settings(team.settings)


# ---------------------------------------------------------------- the rep's side


async def own_row(session: AsyncSession, actor: Actor, outbox_id: int) -> OutboxMessage:
    row = await session.get(OutboxMessage, outbox_id)
    if row is None:
        raise Stale()
    lead_of_team = actor.role is Role.LEAD and actor.team_id == row.team_id
    if not (row.rep_id == actor.user_id or lead_of_team or actor.is_admin):
        raise NotAllowed()
    return row


async def mark_sent_by_rep(
    session: AsyncSession, actor: Actor, outbox_id: int, *, now: datetime
) -> OutboxMessage:
    """The rep passed a message on themselves (phone, WeChat…)."""
    row = await own_row(session, actor, outbox_id)
    if row.status != "handed":
        raise Stale()
    row.status, row.sent_at, row.updated_at, row.reason = "sent", now, now, "sent by the rep"
    session.add(row)
    _care_note(session, row, now)
    return row


async def skip_by_rep(session: AsyncSession, actor: Actor, outbox_id: int, *, now: datetime) -> OutboxMessage:
    """The rep decided not to send it."""
    row = await own_row(session, actor, outbox_id)
    if row.status not in ("handed", "review", "planned"):
        raise Stale()
    row.status, row.reason, row.updated_at = "skipped", "skipped by the rep", now
    session.add(row)
    return row


async def claim_reviews(session: AsyncSession, *, now: datetime, limit: int) -> list[OutboxMessage]:
    """Rows waiting for their rep's approval that the rep has not been asked about yet.

    They are asked up to a day ahead. Asking is marked (`message_id` 0 until the
    request's own message id is known), so two dispatchers never both ask.
    """
    waiting = (
        select(OutboxMessage.id)
        .where(
            col(OutboxMessage.status) == "review",
            col(OutboxMessage.message_id).is_(None),
            col(OutboxMessage.due_at) <= now + timedelta(days=1),
        )
        .order_by(col(OutboxMessage.due_at), col(OutboxMessage.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("waiting")
        .prefix_with("MATERIALIZED")
    )
    ids = [
        row[0]
        for row in (
            await session.exec(
                update(OutboxMessage)
                .where(
                    col(OutboxMessage.id).in_(select(waiting.c.id)),
                    col(OutboxMessage.message_id).is_(None),
                )
                .values(message_id=0, updated_at=now)
                .returning(col(OutboxMessage.id))
            )
        ).all()
    ]
    if not ids:
        return []
    return list((await session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(ids)))).all())


async def asked(session: AsyncSession, *, outbox_id: int, message_id: int) -> None:
    """Remember which message asked the rep (its buttons act on the row)."""
    await session.exec(
        update(OutboxMessage).where(col(OutboxMessage.id) == outbox_id).values(message_id=message_id)
    )


async def approve(
    session: AsyncSession, actor: Actor, outbox_id: int, *, now: datetime, text: str | None = None
) -> OutboxMessage:
    """The rep approves a message (as it is, or with their own wording); it goes at its time."""
    row = await own_row(session, actor, outbox_id)
    if row.status != "review":
        raise Stale()
    if text is not None:
        row.text = text
    row.updated_at, row.message_id = now, None
    if row.day < (now - timedelta(days=1)).date():
        # Approved too late: a birthday greeting days after the birthday would do harm.
        row.status, row.reason = "skipped", "too_late"
    else:
        row.status, row.due_at = "planned", max(row.due_at, now)
    session.add(row)
    return row


async def counts(session: AsyncSession, *, team_id: int, since: datetime) -> dict[str, int]:
    """Care messages of a team by status since a moment (for the digest and the agenda)."""
    rows = (
        await session.exec(
            select(OutboxMessage.status, func.count())
            .where(col(OutboxMessage.team_id) == team_id, or_(col(OutboxMessage.updated_at) >= since))
            .group_by(col(OutboxMessage.status))
        )
    ).all()
    return {str(status): int(count) for status, count in rows}


__all__ = ["Due", "PlanResult", "plan", "plan_team"]
