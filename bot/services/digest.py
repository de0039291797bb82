"""The team lead's digest and reports: plain figures computed from the tables.

Every figure is one query over an index (or a handful of small ones), so a digest of
a team with 100,000 customers and a million notes stays well under a second. What
the figures mean (loyalty, churn risk, contact rhythm) is decided in
`bot.domain.analytics`; the queries only pre-select the rows those rules look at.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from time import monotonic
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, and_, case, func, literal
from sqlalchemy import select as sql_select  # more columns than sqlmodel's select types
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import analytics, grading, money
from bot.domain.access import Actor, Role, can_manage_team
from bot.domain.card import Stage
from bot.domain.care import zone
from bot.domain.errors import NotAllowed, NotFound
from bot.services import customers as customer_service
from bot.services import playbooks as playbook_service
from bot.storage.models import (
    Customer,
    Membership,
    Note,
    OutboxMessage,
    Outcome,
    PlaybookRun,
    Purchase,
    Task,
    Team,
    User,
)

log = logging.getLogger(__name__)

LIST_MAX = 5  # items of each list in the digest itself; the buttons open the rest
PAGE = 10  # items per page of a drill-down list
CHART_DAYS = 14  # a daily digest's activity chart shows the last two weeks; a report's, its period
NOTE_KINDS = ("note", "call", "visit", "message")  # what a rep writes (not system entries)
CONTACT_KINDS = ("call", "visit", "message")
INTERNAL_OCCASIONS = ("agenda", "digest")  # outbox rows that are not care messages
STAGES = [stage.value for stage in Stage]


@dataclass(frozen=True)
class Period:
    """Whole local days, first to last inclusive, in one timezone."""

    first: date
    last: date
    tz: str

    @property
    def start(self) -> datetime:
        """The first moment of the period, in UTC."""
        return datetime.combine(self.first, time(0), tzinfo=ZoneInfo(self.tz)).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The first moment after the period, in UTC."""
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=ZoneInfo(self.tz)).astimezone(
            UTC
        )

    @property
    def days(self) -> int:
        """How many days it covers."""
        return (self.last - self.first).days + 1

    @classmethod
    def ending(cls, last: date, days: int, tz: str) -> Period:
        """The `days` days up to and including `last`."""
        return cls(last - timedelta(days=days - 1), last, tz)


def period_for(kind: str, *, now: datetime, tz: str) -> Period:
    """The period of a digest (yesterday) or a report (the last 7 or 30 days, today included)."""
    today = now.astimezone(zone(tz, "UTC")).date()
    if kind == "day":
        return Period(today - timedelta(days=1), today - timedelta(days=1), tz)
    return Period.ending(today, 7 if kind == "week" else 30, tz)


@dataclass
class RepActivity:
    """What one member of the team did in the period."""

    user_id: int
    name: str
    role: str
    notes: int = 0
    contacts: int = 0  # notes marked as a call, visit or message
    playbooks: int = 0  # playbook runs finished
    new_customers: int = 0
    stage_moves: int = 0
    wins: int = 0  # purchases recorded for the period
    amount: Decimal = Decimal(0)
    behind: int = 0  # their customers behind the contact rhythm, now
    overdue: int = 0  # their follow-ups past due, now

    @property
    def idle(self) -> bool:
        """Nothing done in the period."""
        return not (self.notes or self.playbooks or self.new_customers or self.stage_moves or self.wins)


@dataclass(frozen=True)
class Objection:
    """One objection type of the period: how often, and the method that won most."""

    type: str
    tries: int
    wins: int
    best_method: str | None
    best_wins: int
    best_tries: int = 0  # the best method's own tries against this type, as /stats counts them


@dataclass(frozen=True)
class Item:
    """A line of a list: a customer (or a follow-up about one) and what is due."""

    customer_id: int | None
    name: str
    owner: str
    detail: dict[str, Any] = field(default_factory=dict)
    ref: int | None = None  # the row the line is about, for its buttons (a complaint's outcome id)


@dataclass(frozen=True)
class Listing:
    """A page of one of the digest's lists, and how many there are in all."""

    items: list[Item]
    total: int


@dataclass
class Digest:
    """Everything a lead's digest or report shows."""

    team_id: int
    team: str
    kind: str  # day | week | month
    period: Period
    today: date
    reps: list[RepActivity]
    pipeline: dict[str, int]
    moved_in: dict[str, int]
    objections: list[Objection]
    closings: tuple[int, int]  # (won, tries)
    care: dict[str, int]
    overdue: Listing
    complaints: Listing
    at_risk: Listing
    quiet_a: Listing
    activity: list[tuple[date, int, int]]  # (day, notes, wins) for the chart
    chart_period: Period  # the days `activity` covers (the chart's title names them)
    currency: str = money.DEFAULT_CURRENCY
    behind_total: int = 0

    @property
    def listed(self) -> list[RepActivity]:
        """Members with a line of their own: whoever did something or has something overdue."""
        return [r for r in self.reps if not r.idle or r.behind or r.overdue]

    @property
    def idle_reps(self) -> list[RepActivity]:
        """Reps who did nothing; a lead reads the digest, so an idle lead is not listed as one."""
        return [r for r in self.reps if r.role != "lead" and r not in self.listed]

    @property
    def totals(self) -> RepActivity:
        """The whole team's activity."""
        out = RepActivity(0, self.team, "team")
        for rep in self.reps:
            for name in ("notes", "contacts", "playbooks", "new_customers", "stage_moves", "wins", "amount"):
                setattr(out, name, getattr(out, name) + getattr(rep, name))
        out.behind, out.overdue = self.behind_total, self.overdue.total
        return out


def check_team(actor: Actor, team_id: int) -> None:
    """Leads see their own team's digest, admins every team's."""
    if not can_manage_team(actor, team_id):
        raise NotAllowed()


async def lead_zone(session: AsyncSession, team: Team, user_id: int | None) -> str:
    """The timezone a digest is written in: the reader's own, else the team's."""
    user = await session.get(User, user_id) if user_id is not None else None
    return zone(user.timezone if user else None, team.timezone).key


async def build(
    session: AsyncSession, *, team_id: int, kind: str, now: datetime, tz: str | None = None
) -> Digest:
    """The digest (kind "day") or report ("week", "month") of a team, as of `now`."""
    team = await session.get(Team, team_id)
    if team is None:
        raise NotFound()
    tz = tz or zone(None, team.timezone).key
    period = period_for(kind, now=now, tz=tz)
    today = now.astimezone(ZoneInfo(tz)).date()
    reps = await activity(session, team_id=team_id, period=period)
    rhythm = analytics.rhythm_of(team.settings)
    behind = await behind_by_owner(session, team_id=team_id, now=now, rhythm=rhythm)
    overdue_by_owner = await _overdue_by_owner(session, team_id=team_id, today=today)
    for rep in reps:
        rep.behind = behind.get(rep.user_id, 0)
        rep.overdue = overdue_by_owner.get(rep.user_id, 0)
    pipeline, moved_in = await _pipeline(session, team_id=team_id, period=period)
    stats = await playbook_service.stats(
        session, Actor(0, Role.ADMIN, team_id, True), team_id=team_id, since=period.start, until=period.end
    )
    chart = Period.ending(period.last, CHART_DAYS, tz) if kind == "day" else period
    return Digest(
        team_id=team_id,
        team=team.name,
        kind=kind,
        period=period,
        today=today,
        reps=reps,
        pipeline=pipeline,
        moved_in=moved_in,
        objections=_objections(stats),
        closings=_closings(stats),
        care=await care_counts(session, team_id=team_id, period=period),
        overdue=await overdue(session, team_id=team_id, today=today, limit=LIST_MAX),
        complaints=await complaints(session, team_id=team_id, today=today, limit=LIST_MAX),
        at_risk=await at_risk(session, team=team, today=today, limit=LIST_MAX),
        quiet_a=await quiet_a(session, team=team, now=now, limit=LIST_MAX),
        activity=await daily_activity(session, team_id=team_id, period=chart),
        chart_period=chart,
        currency=money.currency_of(team.settings),
        behind_total=sum(behind.values()),
    )


# ---------------------------------------------------------------- activity


async def members(session: AsyncSession, team_id: int) -> list[tuple[int, str, str]]:
    """The team's active members: (user id, name, role), leads first."""
    rows = (
        await session.exec(
            select(User.telegram_id, User.name, Membership.role)
            .join(Membership, col(Membership.user_id) == col(User.telegram_id))
            .where(col(Membership.team_id) == team_id, col(Membership.active))
            .order_by(col(Membership.role), col(User.name))
        )
    ).all()
    return [(int(user_id), str(name), str(role)) for user_id, name, role in rows]


async def activity(session: AsyncSession, *, team_id: int, period: Period) -> list[RepActivity]:
    """Each member's activity in the period, the busiest first (members who left, if active)."""
    reps = {
        user_id: RepActivity(user_id, name, role) for user_id, name, role in await members(session, team_id)
    }

    def rep(user_id: int | None) -> RepActivity | None:
        return reps.get(user_id) if user_id is not None else None

    start, end = period.start, period.end
    for author, kind, count in (
        await session.exec(
            select(Note.author_id, Note.kind, func.count())
            .where(col(Note.team_id) == team_id, col(Note.created_at) >= start, col(Note.created_at) < end)
            .group_by(col(Note.author_id), col(Note.kind))
        )
    ).all():
        found = rep(author)
        if found is None:
            continue
        if kind in NOTE_KINDS:
            found.notes += int(count)
        if kind in CONTACT_KINDS:
            found.contacts += int(count)
    for author, meta in (
        await session.exec(
            select(Note.author_id, Note.meta).where(
                col(Note.team_id) == team_id,
                col(Note.created_at) >= start,
                col(Note.created_at) < end,
                col(Note.kind) == "system",
            )
        )
    ).all():
        found = rep(author)
        if found is not None and isinstance(meta, dict) and meta.get("event") == "stage":
            found.stage_moves += 1
    for user_id, count in (
        await session.exec(
            select(PlaybookRun.user_id, func.count())
            .where(
                col(PlaybookRun.team_id) == team_id,
                col(PlaybookRun.status) == "done",
                col(PlaybookRun.ended_at) >= start,
                col(PlaybookRun.ended_at) < end,
            )
            .group_by(col(PlaybookRun.user_id))
        )
    ).all():
        if (found := rep(user_id)) is not None:
            found.playbooks += int(count)
    for owner, count in (
        await session.exec(
            select(Customer.owner_id, func.count())
            .where(
                col(Customer.team_id) == team_id,
                col(Customer.created_at) >= start,
                col(Customer.created_at) < end,
            )
            .group_by(col(Customer.owner_id))
        )
    ).all():
        if (found := rep(owner)) is not None:
            found.new_customers += int(count)
    seller = func.coalesce(col(Purchase.created_by), col(Customer.owner_id))
    for user_id, count, amount in (
        await session.exec(
            select(seller, func.count(), func.sum(Purchase.amount))
            .join(Customer, col(Customer.id) == col(Purchase.customer_id))
            .where(
                col(Purchase.team_id) == team_id,
                col(Purchase.purchased_on) >= period.first,
                col(Purchase.purchased_on) <= period.last,
            )
            .group_by(seller)
        )
    ).all():
        if (found := rep(user_id)) is not None:
            found.wins += int(count)
            found.amount += Decimal(amount or 0)
    return sorted(
        reps.values(),
        key=lambda r: (-(r.notes + r.playbooks + r.new_customers + r.stage_moves + r.wins), r.name),
    )


async def rep_day(
    session: AsyncSession, *, team_id: int, user_id: int, period: Period, offset: int = 0, limit: int = PAGE
) -> Listing:
    """What one member wrote in the period, newest first: the drill-down of a rep's day."""
    where = (
        col(Note.team_id) == team_id,
        col(Note.author_id) == user_id,
        col(Note.created_at) >= period.start,
        col(Note.created_at) < period.end,
    )
    total = (await session.exec(select(func.count()).select_from(Note).where(*where))).one()
    rows = (
        await session.exec(
            select(Note, Customer.name)
            .join(Customer, col(Customer.id) == col(Note.customer_id))
            .where(*where)
            .order_by(col(Note.created_at).desc(), col(Note.id).desc())
            .offset(offset)
            .limit(limit)
        )
    ).all()
    tz = ZoneInfo(period.tz)
    items = [
        Item(
            note.customer_id,
            name,
            "",
            {
                "at": note.created_at.astimezone(tz).strftime("%m-%d %H:%M"),
                "kind": note.kind,
                "text": note.text,
                "meta": note.meta,
                "file": note.file_kind,
            },
        )
        for note, name in rows
    ]
    return Listing(items, int(total))


async def daily_activity(
    session: AsyncSession, *, team_id: int, period: Period
) -> list[tuple[date, int, int]]:
    """Notes written and purchases made per local day of the period (for the chart)."""
    days = [period.first + timedelta(days=n) for n in range(period.days)]
    # Each local day's first moment in UTC, so the database sorts notes into days
    # exactly, clock changes included, without knowing about timezones.
    bounds = [Period(day, day, period.tz).start for day in days[1:]]
    bucket = case(
        *((col(Note.created_at) < bound, index) for index, bound in enumerate(bounds)), else_=len(bounds)
    )
    notes = dict(
        (
            await session.exec(
                select(bucket, func.count())
                .where(
                    col(Note.team_id) == team_id,
                    col(Note.created_at) >= period.start,
                    col(Note.created_at) < period.end,
                    col(Note.kind).in_(NOTE_KINDS),
                )
                .group_by(bucket)
            )
        ).all()
    )
    wins: dict[date, int] = dict(
        (
            await session.exec(
                select(col(Purchase.purchased_on), func.count())
                .where(
                    col(Purchase.team_id) == team_id,
                    col(Purchase.purchased_on) >= period.first,
                    col(Purchase.purchased_on) <= period.last,
                )
                .group_by(col(Purchase.purchased_on))
            )
        ).all()
    )
    return [(day, int(notes.get(index, 0)), int(wins.get(day, 0))) for index, day in enumerate(days)]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# ---------------------------------------------------------------- pipeline and outcomes


async def _pipeline(
    session: AsyncSession, *, team_id: int, period: Period
) -> tuple[dict[str, int], dict[str, int]]:
    """Customers per stage now, and how many moved into each stage in the period."""
    counts = dict(
        (
            await session.exec(
                select(Customer.stage, func.count())
                .where(col(Customer.team_id) == team_id, col(Customer.archived_at).is_(None))
                .group_by(col(Customer.stage))
            )
        ).all()
    )
    moved: Counter[str] = Counter()
    for (meta,) in (
        await session.exec(  # type: ignore[call-overload]  # one column as rows
            sql_select(col(Note.meta)).where(
                col(Note.team_id) == team_id,
                col(Note.created_at) >= period.start,
                col(Note.created_at) < period.end,
                col(Note.kind) == "system",
            )
        )
    ).all():
        if isinstance(meta, dict) and meta.get("event") == "stage":
            moved[str(meta.get("new"))] += 1
    return {stage: int(counts.get(stage, 0)) for stage in STAGES}, {
        stage: moved[stage] for stage in STAGES if moved[stage]
    }


def best_methods(rows: list[playbook_service.StatRow], kind: str) -> dict[str, playbook_service.StatRow]:
    """The method that won most against each type, with its own wins and tries.

    One definition for the digest and /stats: `stats` counts wins and tries per method
    and type and ranks them (most wins, then the best rate, then the name); the best is
    the first of a type's rows as /stats lists them.
    """
    out: dict[str, playbook_service.StatRow] = {}
    for row in rows:
        if row.kind == kind and row.type not in out:
            out[row.type] = row
    return out


def _objections(stats: playbook_service.Stats) -> list[Objection]:
    by_type: dict[str, list[playbook_service.StatRow]] = defaultdict(list)
    for row in stats.team:
        if row.kind == "objection":
            by_type[row.type].append(row)
    best = best_methods(stats.team, "objection")
    out = []
    for type_, rows in by_type.items():
        top = best[type_]
        out.append(
            Objection(
                type_,
                sum(r.tries for r in rows),
                sum(r.wins for r in rows),
                top.method if top.wins else None,
                top.wins,
                top.tries,
            )
        )
    return sorted(out, key=lambda o: (-o.tries, o.type))


def _closings(stats: playbook_service.Stats) -> tuple[int, int]:
    results = stats.results.get("closing", {})
    return results.get("won", 0), sum(results.values())


async def care_counts(session: AsyncSession, *, team_id: int, period: Period) -> dict[str, int]:
    """Care messages that reached an end in the period by status, and those awaiting review now."""
    rows = (
        await session.exec(
            select(OutboxMessage.status, func.count())
            .where(
                col(OutboxMessage.team_id) == team_id,
                col(OutboxMessage.occasion).not_in(INTERNAL_OCCASIONS),
                col(OutboxMessage.status).in_(("sent", "handed", "failed", "skipped")),
                col(OutboxMessage.updated_at) >= period.start,
                col(OutboxMessage.updated_at) < period.end,
            )
            .group_by(col(OutboxMessage.status))
        )
    ).all()
    out = {"sent": 0, "handed": 0, "failed": 0, "skipped": 0}
    out.update({str(status): int(count) for status, count in rows})
    out["review"] = int(
        (
            await session.exec(
                select(func.count())
                .select_from(OutboxMessage)
                .where(col(OutboxMessage.team_id) == team_id, col(OutboxMessage.status) == "review")
            )
        ).one()
    )
    return out


# ---------------------------------------------------------------- lists


async def _names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = (
        await session.exec(select(User.telegram_id, User.name).where(col(User.telegram_id).in_(ids)))
    ).all()
    return {int(user_id): str(name) for user_id, name in rows}


async def _overdue_by_owner(session: AsyncSession, *, team_id: int, today: date) -> dict[int, int]:
    rows = (
        await session.exec(
            select(Task.owner_id, func.count())
            .where(col(Task.team_id) == team_id, col(Task.done_at).is_(None), col(Task.due_on) < today)
            .group_by(col(Task.owner_id))
        )
    ).all()
    return {int(owner): int(count) for owner, count in rows}


async def overdue(
    session: AsyncSession, *, team_id: int, today: date, offset: int = 0, limit: int = PAGE
) -> Listing:
    """Follow-ups past their day and not done, the oldest first."""
    where = (col(Task.team_id) == team_id, col(Task.done_at).is_(None), col(Task.due_on) < today)
    total = (await session.exec(select(func.count()).select_from(Task).where(*where))).one()
    tasks = (
        await session.exec(
            select(Task).where(*where).order_by(col(Task.due_on), col(Task.id)).offset(offset).limit(limit)
        )
    ).all()
    customer_ids = [task.customer_id for task in tasks if task.customer_id is not None]
    customer_names = dict(
        (
            await session.exec(
                select(col(Customer.id), Customer.name).where(col(Customer.id).in_(customer_ids))
            )
        ).all()
    )
    rows = [(task, customer_names.get(task.customer_id) if task.customer_id else None) for task in tasks]
    names = await _names(session, {task.owner_id for task, _ in rows})
    items = [
        Item(
            task.customer_id,
            name or "",
            names.get(task.owner_id, ""),
            {"due": task.due_on.isoformat(), "days": (today - task.due_on).days, "text": task.text},
        )
        for task, name in rows
    ]
    return Listing(items, int(total))


async def complaints(
    session: AsyncSession, *, team_id: int, today: date, offset: int = 0, limit: int = PAGE
) -> Listing:
    """Complaints still open after the day promised to the customer, the oldest first."""
    where = (
        col(Outcome.team_id) == team_id,
        col(Outcome.kind) == "complaint",
        col(Outcome.resolved_at).is_(None),
        col(Outcome.due_on) < today,
    )
    total = (await session.exec(select(func.count()).select_from(Outcome).where(*where))).one()
    rows = (
        await session.exec(
            select(Outcome, Customer.name, Customer.owner_id)
            .join(Customer, col(Customer.id) == col(Outcome.customer_id))
            .where(*where)
            .order_by(col(Outcome.due_on), col(Outcome.id))
            .offset(offset)
            .limit(limit)
        )
    ).all()
    names = await _names(session, {owner for _, _, owner in rows})
    items = [
        Item(
            outcome.customer_id,
            name,
            names.get(owner, ""),
            {
                "due": outcome.due_on.isoformat() if outcome.due_on else "",
                "days": (today - outcome.due_on).days if outcome.due_on else 0,
                "type": outcome.type or "",
                "words": outcome.words or "",
            },
            outcome.id,
        )
        for outcome, name, owner in rows
    ]
    return Listing(items, int(total))


def _days_between(later: Any, earlier: Any, dialect: str) -> ColumnElement[Any]:
    """Whole days from `earlier` to `later` (two dates) in SQL."""
    if dialect == "postgresql":
        return later - earlier  # type: ignore[no-any-return]  # date - date is an integer there
    return func.julianday(later) - func.julianday(earlier)


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


async def at_risk(
    session: AsyncSession, *, team: Team, today: date, offset: int = 0, limit: int = PAGE
) -> Listing:
    """Customers who have not bought for well over their usual interval, the most valuable first.

    The HAVING clause is `analytics.churn_risk` written in SQL (days since the last
    purchase × (purchases − 1) > factor × days from the first to the last), so the
    database counts and pages; the rule itself then describes each listed customer.
    """
    factor = analytics.churn_factor(team.settings)
    dialect = _dialect(session)
    count = func.count()
    revenue = func.sum(Purchase.amount)
    first, last = func.min(Purchase.purchased_on), func.max(Purchase.purchased_on)
    since_last = _days_between(literal(today, Date), last, dialect)
    grouped = (
        sql_select(
            col(Purchase.customer_id).label("customer_id"),
            count.label("n"),
            revenue.label("revenue"),
            first.label("first"),
            last.label("last"),
        )
        .where(col(Purchase.team_id) == team.id)
        .group_by(col(Purchase.customer_id))
        .having(
            and_(
                count >= 2,
                last > first,
                since_last >= analytics.CHURN_MIN_DAYS,
                since_last * (count - 1) > factor * _days_between(last, first, dialect),
            )
        )
        .subquery("grouped")
    )
    rows = (
        await session.exec(  # type: ignore[call-overload]  # sqlmodel types at most 4 columns
            sql_select(
                grouped.c.customer_id,
                grouped.c.n,
                grouped.c.revenue,
                grouped.c.first,
                grouped.c.last,
                col(Customer.name),
                col(Customer.owner_id),
                func.count().over(),  # how many groups there are in all, before the page
            )
            .join(Customer, col(Customer.id) == grouped.c.customer_id)
            .where(col(Customer.archived_at).is_(None), col(Customer.stage).not_in(analytics.RESTING_STAGES))
            .order_by(grouped.c.revenue.desc(), col(Customer.name), grouped.c.customer_id)
            .offset(offset)
            .limit(limit)
        )
    ).all()
    total = int(rows[0][7]) if rows else 0
    if not rows and offset:
        total = (await at_risk(session, team=team, today=today, offset=0, limit=1)).total
    names = await _names(session, {int(row[6]) for row in rows})
    reference = await cached_reference(session, team)
    details = await loyalty_of(
        session, team=team, ids=[int(row[0]) for row in rows], today=today, reference=reference
    )
    items = []
    for customer_id, n, spent, first_day, last_day, name, owner, _ in rows:
        facts = analytics.PurchaseFacts(int(n), Decimal(spent or 0), _date(first_day), _date(last_day))
        risk = analytics.churn_risk(facts, today=today, factor=factor)
        if risk is None:  # the SQL and the rule disagree: trust the rule, and say so
            log.warning("churn rule and query disagree on customer %s", customer_id)
            continue
        items.append(
            Item(
                int(customer_id),
                str(name),
                names.get(int(owner), ""),
                {
                    "days": risk.days_since,
                    "interval": round(risk.interval),
                    "revenue": facts.revenue,
                    "loyalty": details[int(customer_id)].score,
                },
            )
        )
    return Listing(items, total)


def _date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


_REFERENCE_TTL = 600.0  # seconds; a team's top spend moves slowly
_references: dict[int, tuple[float, Decimal]] = {}


async def cached_reference(session: AsyncSession, team: Team) -> Decimal:
    """`reference_revenue`, remembered for ten minutes (a card should not scan the team)."""
    assert team.id is not None
    found = _references.get(team.id)
    if found is not None and monotonic() - found[0] < _REFERENCE_TTL:
        return found[1]
    value = await reference_revenue(session, team)
    _references[team.id] = (monotonic(), value)
    return value


@dataclass(frozen=True)
class Insight:
    """What the card's history shows about a customer: loyalty, usual interval, risk."""

    loyalty: analytics.Loyalty
    interval: float | None
    risk: analytics.ChurnRisk | None


async def insight(session: AsyncSession, customer: Customer, *, today: date) -> Insight:
    """Loyalty and churn risk of one customer, for their card."""
    team = await session.get(Team, customer.team_id)
    assert team is not None and customer.id is not None
    reference = await cached_reference(session, team)
    scores = await loyalty_of(session, team=team, ids=[customer.id], today=today, reference=reference)
    purchases = [
        (day, Decimal(amount), "")
        for day, amount in (
            await session.exec(
                select(col(Purchase.purchased_on), col(Purchase.amount)).where(
                    col(Purchase.customer_id) == customer.id
                )
            )
        ).all()
    ]
    facts = analytics.PurchaseFacts.of(purchases, today=today)
    risk = analytics.churn_risk(facts, today=today, factor=analytics.churn_factor(team.settings))
    return Insight(scores[customer.id], analytics.usual_interval(facts), risk)


async def reference_revenue(session: AsyncSession, team: Team) -> Decimal:
    """What a top customer of the team spends: the revenue at the A grade's cut-off."""
    where = col(Purchase.team_id) == team.id
    buyers = int(
        (await session.exec(select(func.count(func.distinct(Purchase.customer_id))).where(where))).one()
    )
    if not buyers:
        return Decimal(0)
    a_share, _ = grading.cutoffs_from(team.settings)
    index = max(0, min(buyers - 1, round(buyers * a_share) - 1))
    total = (
        await session.exec(
            select(func.sum(Purchase.amount))
            .where(where)
            .group_by(col(Purchase.customer_id))
            .order_by(func.sum(Purchase.amount).desc())
            .offset(index)
            .limit(1)
        )
    ).first()
    return Decimal(total or 0)


async def loyalty_of(
    session: AsyncSession, *, team: Team, ids: list[int], today: date, reference: Decimal | None = None
) -> dict[int, analytics.Loyalty]:
    """Loyalty scores of a few customers, from their purchases and after-sale visits."""
    if not ids:
        return {}
    if reference is None:
        reference = await reference_revenue(session, team)
    bought: dict[int, list[tuple[date, Decimal, str]]] = defaultdict(list)
    for customer_id, day, amount, items in (
        await session.exec(
            select(
                col(Purchase.customer_id),
                col(Purchase.purchased_on),
                col(Purchase.amount),
                col(Purchase.items),
            ).where(col(Purchase.customer_id).in_(ids))
        )
    ).all():
        bought[int(customer_id)].append((day, Decimal(amount), items or ""))
    satisfaction: dict[int, int] = {}
    for customer_id, score in (
        await session.exec(
            select(Outcome.customer_id, Outcome.score)
            .where(col(Outcome.customer_id).in_(ids), col(Outcome.score).is_not(None))
            .order_by(col(Outcome.created_at), col(Outcome.id))
        )
    ).all():
        satisfaction[int(customer_id)] = int(score or 0)
    return {
        customer_id: analytics.loyalty(
            analytics.PurchaseFacts.of(
                bought.get(customer_id, []), today=today, satisfaction=satisfaction.get(customer_id)
            ),
            today=today,
            reference_revenue=reference,
        )
        for customer_id in ids
    }


async def quiet_a(
    session: AsyncSession, *, team: Team, now: datetime, offset: int = 0, limit: int = PAGE
) -> Listing:
    """A-grade customers nobody has been in touch with for longer than their rhythm, the longest first."""
    rhythm = analytics.rhythm_of(team.settings)
    last = func.coalesce(col(Customer.last_contact_at), col(Customer.created_at))
    base = (
        col(Customer.team_id) == team.id,
        col(Customer.grade) == "A",
        col(Customer.archived_at).is_(None),
        col(Customer.stage).not_in(analytics.RESTING_STAGES),
    )
    # `rhythm_breach` counts whole days: behind once a full day past the rhythm.
    usual = (*base, col(Customer.contact_every_days).is_(None), last <= now - timedelta(days=rhythm["A"] + 1))
    total = int((await session.exec(select(func.count()).select_from(Customer).where(*usual))).one())
    found: list[Any] = list(
        (
            await session.exec(  # type: ignore[call-overload]  # sqlmodel types at most 4 columns
                sql_select(
                    col(Customer.id),
                    col(Customer.name),
                    col(Customer.owner_id),
                    last,
                    col(Customer.last_contact_at),
                )
                .where(*usual)
                .order_by(last, col(Customer.id))
                .limit(offset + limit)
            )
        ).all()
    )
    for row in await _own_rhythm_breaches(session, base, rhythm=rhythm, now=now):
        total += 1
        found.append(row)
    found.sort(key=lambda row: (_aware(row[3]), row[0]))
    page = found[offset : offset + limit]
    names = await _names(session, {int(row[2]) for row in page})
    items = [
        Item(
            int(cid),
            str(name),
            names.get(int(owner), ""),
            {"days": (now - _aware(seen)).days, "never": contacted is None},
        )
        for cid, name, owner, seen, contacted in page
    ]
    return Listing(items, total)


async def _own_rhythm_breaches(
    session: AsyncSession, base: tuple[Any, ...], *, rhythm: dict[str, int], now: datetime
) -> list[tuple[int, str, int, datetime, datetime | None]]:
    """Customers with a rhythm of their own who are behind it: (id, name, owner, last seen, last contact).

    They are few, so the rule itself decides each one rather than a query.
    """
    out = []
    for cid, name, owner, grade, own, contacted, created, stage in (
        await session.exec(  # type: ignore[call-overload]  # sqlmodel types at most 4 columns
            sql_select(
                col(Customer.id),
                col(Customer.name),
                col(Customer.owner_id),
                col(Customer.grade),
                col(Customer.contact_every_days),
                col(Customer.last_contact_at),
                col(Customer.created_at),
                col(Customer.stage),
            ).where(*base, col(Customer.contact_every_days).is_not(None))
        )
    ).all():
        every = analytics.contact_every(grade, own, rhythm)
        breach = analytics.rhythm_breach(
            last_contact=contacted, created=created, every=every, stage=stage, now=now
        )
        if breach is not None:
            out.append((int(cid), str(name), int(owner), contacted or created, contacted))
    return out


async def behind_by_owner(
    session: AsyncSession, *, team_id: int, now: datetime, rhythm: dict[str, int]
) -> dict[int, int]:
    """How many of each owner's customers are behind their contact rhythm."""
    last = func.coalesce(col(Customer.last_contact_at), col(Customer.created_at))
    cutoff = case(
        # `rhythm_breach` counts whole days: behind once a full day past the rhythm.
        *(
            (col(Customer.grade) == grade, literal(now - timedelta(days=days + 1)))
            for grade, days in rhythm.items()
        ),
        else_=literal(now - timedelta(days=analytics.UNGRADED_RHYTHM + 1)),
    )
    base = (
        col(Customer.team_id) == team_id,
        col(Customer.archived_at).is_(None),
        col(Customer.stage).not_in(analytics.RESTING_STAGES),
    )
    out: Counter[int] = Counter()
    for _, owner, count in (
        await session.exec(
            select(Customer.grade, Customer.owner_id, func.count())
            .where(*base, col(Customer.contact_every_days).is_(None), last <= cutoff)
            .group_by(col(Customer.grade), col(Customer.owner_id))
        )
    ).all():
        out[int(owner)] += int(count)
    for _, _, owner, _, _ in await _own_rhythm_breaches(session, base, rhythm=rhythm, now=now):
        out[int(owner)] += 1
    return dict(out)


__all__ = ["Digest", "Period", "build"]


# ---------------------------------------------------------------- when and where it goes

DIGEST = "digest"  # the outbox occasion
DEFAULT_HOUR = 8
LATEST_AFTER = 3  # hours after its time; a digest first planned later waits for the next day
HOURS = tuple(range(6, 12))


@dataclass(frozen=True)
class Prefs:
    """A lead's digest: at what hour, whether at all, and the team group it may go to."""

    hour: int
    off: bool
    group: dict[str, Any] | None  # {"chat_id", "thread_id", "title"} when set for the team


def prefs(team: Team, user_id: int) -> Prefs:
    """The lead's digest preferences, from `team.settings["digest"]`."""
    found = team.settings.get("digest") if isinstance(team.settings, dict) else None
    raw: dict[str, Any] = found if isinstance(found, dict) else {}
    hours = raw.get("hours")
    hour = hours.get(str(user_id), DEFAULT_HOUR) if isinstance(hours, dict) else DEFAULT_HOUR
    group = raw.get("group")
    return Prefs(
        hour if isinstance(hour, int) and 0 <= hour <= 23 else DEFAULT_HOUR,
        user_id in (raw.get("off") or []),
        group if isinstance(group, dict) and isinstance(group.get("chat_id"), int) else None,
    )


def _settings(team: Team) -> dict[str, Any]:
    """A copy of the team's digest settings to change (JSON columns change by assignment)."""
    raw = team.settings.get("digest")
    out = dict(raw) if isinstance(raw, dict) else {}
    out["hours"] = dict(out.get("hours") or {})
    out["off"] = list(out.get("off") or [])
    return out


def _save(team: Team, digest_settings: dict[str, Any]) -> None:
    team.settings = {**team.settings, "digest": digest_settings}


async def _manageable(session: AsyncSession, actor: Actor, team_id: int) -> Team:
    check_team(actor, team_id)
    team = await session.get(Team, team_id)
    if team is None:
        raise NotFound()
    return team


async def set_hour(session: AsyncSession, actor: Actor, *, team_id: int, hour: int, now: datetime) -> Team:
    """The hour the actor's digest comes; a digest planned but not sent yet moves with it."""
    if hour not in HOURS:
        raise NotAllowed()
    team = await _manageable(session, actor, team_id)
    settings = _settings(team)
    settings["hours"][str(actor.user_id)] = hour
    if prefs(team, actor.user_id).group is not None:
        settings["group"] = {**settings["group"], "hour": hour}
    _save(team, settings)
    session.add(team)
    tz = ZoneInfo(await lead_zone(session, team, actor.user_id))
    rows = (
        await session.exec(
            select(OutboxMessage).where(
                col(OutboxMessage.team_id) == team_id,
                col(OutboxMessage.occasion) == DIGEST,
                col(OutboxMessage.status) == "planned",
                col(OutboxMessage.rep_id) == actor.user_id,
            )
        )
    ).all()
    for row in rows:
        row.due_at = max(now, datetime.combine(row.day, time(hour), tzinfo=tz).astimezone(UTC))
        row.updated_at = now
        session.add(row)
    return team


async def set_off(session: AsyncSession, actor: Actor, *, team_id: int, off: bool, now: datetime) -> Team:
    """Turn the actor's daily digest off or on again (today's comes back if not sent)."""
    team = await _manageable(session, actor, team_id)
    settings = _settings(team)
    others = [uid for uid in settings["off"] if uid != actor.user_id]
    settings["off"] = [*others, actor.user_id] if off else others
    _save(team, settings)
    session.add(team)
    old, new = ("planned", "skipped") if off else ("skipped", "planned")
    rows = (
        await session.exec(
            select(OutboxMessage).where(
                col(OutboxMessage.team_id) == team_id,
                col(OutboxMessage.occasion) == DIGEST,
                col(OutboxMessage.rep_id) == actor.user_id,
                col(OutboxMessage.status) == old,
                col(OutboxMessage.day) >= now.date() - timedelta(days=1),
            )
        )
    ).all()
    for row in rows:
        if off or row.reason == "turned_off":
            row.status, row.reason, row.updated_at = new, "turned_off" if off else None, now
            session.add(row)
    return team


async def set_group(
    session: AsyncSession, actor: Actor, *, chat_id: int | None, thread_id: int | None, title: str
) -> Team:
    """Send the actor's team digest to a group (or forum topic); chat_id None sends it privately."""
    if actor.team_id is None:
        raise NotAllowed()
    team = await _manageable(session, actor, actor.team_id)
    settings = _settings(team)
    if chat_id is None:
        settings.pop("group", None)
    else:
        hour = prefs(team, actor.user_id).hour
        settings["group"] = {"chat_id": chat_id, "thread_id": thread_id, "title": title[:100], "hour": hour}
    _save(team, settings)
    session.add(team)
    return team


A_SHARES = (10, 20, 30)  # percent of paying customers graded A
AB_SHARES = (40, 50, 60)  # percent graded A or B
CHURN_FACTORS = (15, 20, 30)  # tenths: at risk after 1.5×, 2× or 3× the usual interval


@dataclass(frozen=True)
class AnalyticsRules:
    """The team's grade cut-offs and churn factor, as the settings screen shows them."""

    a_share: int  # percent
    ab_share: int  # percent
    churn: int  # tenths


def analytics_rules(team: Team) -> AnalyticsRules:
    """The team's current rules (defaults where unset)."""
    a, ab = grading.cutoffs_from(team.settings)
    return AnalyticsRules(round(a * 100), round(ab * 100), round(analytics.churn_factor(team.settings) * 10))


async def set_rule(session: AsyncSession, actor: Actor, *, team_id: int, rule: str, value: int) -> Team:
    """Change a grade cut-off (grades follow at once), the churn factor or the currency (by its index)."""
    team = await _manageable(session, actor, team_id)
    current = analytics_rules(team)
    if rule == "a" and value in A_SHARES:
        team.settings = {**team.settings, "grade_cutoffs": [value / 100, max(value, current.ab_share) / 100]}
    elif rule == "b" and value in AB_SHARES:
        team.settings = {**team.settings, "grade_cutoffs": [min(current.a_share, value) / 100, value / 100]}
    elif rule == "c" and value in CHURN_FACTORS:
        raw = team.settings.get("analytics")
        team.settings = {
            **team.settings,
            "analytics": {**(raw if isinstance(raw, dict) else {}), "churn_factor": value / 10},
        }
    elif rule == "m" and 0 <= value < len(money.CURRENCIES):
        team.settings = {**team.settings, "currency": money.CURRENCIES[value]}
    else:
        raise NotAllowed()
    session.add(team)
    if rule in ("a", "b"):
        await session.flush()
        await customer_service.recompute_grades(session, team_id)
    return team


async def plan_rows(
    session: AsyncSession, team: Team, *, now: datetime, taken: set[str]
) -> list[dict[str, Any]]:
    """Outbox rows for the coming digests: one per lead (or one for the team group) per day.

    The key names the reader and the local day, so a digest is planned once however
    often this runs, from however many processes, across restarts.
    """
    assert team.id is not None
    leads = [(uid, name) for uid, name, role in await members(session, team.id) if role == "lead"]
    users = {
        user.telegram_id: user
        for user in (
            await session.exec(select(User).where(col(User.telegram_id).in_([uid for uid, _ in leads])))
        ).all()
    }
    group = prefs(team, 0).group
    readers: list[tuple[str, int, int, str, int, str]] = []  # key stem, rep_id, chat, tz, hour, lang
    if group is not None:
        hour = group.get("hour", DEFAULT_HOUR)
        first_lead = leads[0][0] if leads else 0
        readers.append((f"g{team.id}", first_lead, group["chat_id"], team.timezone, hour, team.language))
    else:
        for uid, _ in leads:
            user = users.get(uid)
            mine = prefs(team, uid)
            if user is None or mine.off:
                continue
            tz = zone(user.timezone, team.timezone).key
            readers.append((str(uid), uid, uid, tz, mine.hour, user.language))
    rows = []
    for stem, rep_id, chat_id, tz, hour, lang in readers:
        local = now.astimezone(zone(tz, "UTC"))
        for day in (local.date(), local.date() + timedelta(days=1)):
            key = f"{DIGEST}:{stem}:{day.isoformat()}"
            due_at = datetime.combine(day, time(hour), tzinfo=zone(tz, "UTC")).astimezone(UTC)
            if key in taken or (due_at < now and local.hour >= hour + LATEST_AFTER):
                continue
            taken.add(key)
            rows.append(
                {
                    "key": key,
                    "team_id": team.id,
                    "customer_id": None,
                    "rep_id": rep_id,
                    "occasion": DIGEST,
                    "day": day,
                    "channel": "telegram",
                    "chat_id": chat_id,
                    "language": lang,
                    "text": "",  # written when it goes, so that it is current
                    "status": "planned",
                    "reason": None,
                    "due_at": max(due_at, now),
                    "created_at": now,
                    "updated_at": now,
                }
            )
    return rows


# ---------------------------------------------------------------- CSV export


async def report_tables(
    session: AsyncSession, digest: Digest, *, now: datetime
) -> tuple[list[str], list[list[Any]], list[str], list[list[Any]]]:
    """The report as two tables: each member's activity, and every customer's figures."""
    rep_columns = [
        "member",
        "role",
        "notes",
        "contacts",
        "playbooks",
        "new_customers",
        "stage_moves",
        "wins",
        "amount",
        "behind",
        "overdue",
    ]
    rep_rows: list[list[Any]] = [
        [r.name, r.role, *(getattr(r, c) for c in rep_columns[2:])] for r in digest.reps
    ]
    team = await session.get(Team, digest.team_id)
    assert team is not None
    customer_columns = [
        "customer_id",
        "customer",
        "owner",
        "stage",
        "grade",
        "purchases",
        "revenue",
        "first_purchase",
        "last_purchase",
        "usual_interval",
        "days_since_purchase",
        "churn_risk",
        "loyalty",
        "days_since_contact",
        "contact_every",
        "behind_rhythm",
    ]
    today = digest.today
    rhythm = analytics.rhythm_of(team.settings)
    factor = analytics.churn_factor(team.settings)
    reference = await reference_revenue(session, team)
    bought: dict[int, list[tuple[date, Decimal, str]]] = defaultdict(list)
    for customer_id, day, amount, items in (
        await session.exec(
            select(
                col(Purchase.customer_id),
                col(Purchase.purchased_on),
                col(Purchase.amount),
                col(Purchase.items),
            ).where(col(Purchase.team_id) == team.id)
        )
    ).all():
        bought[int(customer_id)].append((day, Decimal(amount), items or ""))
    satisfaction: dict[int, int] = {}
    for customer_id, score in (
        await session.exec(
            select(Outcome.customer_id, Outcome.score)
            .where(col(Outcome.team_id) == team.id, col(Outcome.score).is_not(None))
            .order_by(col(Outcome.created_at), col(Outcome.id))
        )
    ).all():
        satisfaction[int(customer_id)] = int(score or 0)
    names = dict((await session.exec(select(User.telegram_id, User.name))).all())
    customer_rows: list[list[Any]] = []
    for customer in (
        await session.exec(
            select(Customer)
            .where(col(Customer.team_id) == team.id, col(Customer.archived_at).is_(None))
            .order_by(col(Customer.id))
        )
    ).all():
        assert customer.id is not None
        facts = analytics.PurchaseFacts.of(
            bought.get(customer.id, []), today=today, satisfaction=satisfaction.get(customer.id)
        )
        interval = analytics.usual_interval(facts)
        risk = analytics.churn_risk(facts, today=today, factor=factor)
        every = analytics.contact_every(customer.grade, customer.contact_every_days, rhythm)
        behind = analytics.rhythm_breach(
            last_contact=customer.last_contact_at,
            created=customer.created_at,
            every=every,
            stage=customer.stage,
            now=now,
        )
        customer_rows.append(
            [
                customer.id,
                customer.name,
                names.get(customer.owner_id, ""),
                customer.stage,
                customer.grade or "",
                facts.count,
                facts.revenue,
                facts.first.isoformat() if facts.first else "",
                facts.last.isoformat() if facts.last else "",
                round(interval) if interval is not None else "",
                (today - facts.last).days if facts.last else "",
                risk is not None,
                analytics.loyalty(facts, today=today, reference_revenue=reference).score
                if facts.count
                else "",
                (now - customer.last_contact_at).days if customer.last_contact_at else "",
                every,
                behind is not None,
            ]
        )
    return rep_columns, rep_rows, customer_columns, customer_rows
