"""The planner: turns the cards into outbox rows for the coming week.

A pass plans each customer's birthdays, festivals, after-sale follow-ups and anniversaries
as rows under a unique key, plus each member's morning agenda, their daily practice
reminder if they asked for one, and each lead's digest.
Rows already there are left alone; rows still waiting whose occasion no longer holds (a
corrected birthday) are skipped. What to do with each occasion (send time, too late,
weekly cap) is decided by the pure rules of `bot.domain.care`.

A team is planned in full at a process's first pass, when a new local day begins in any
of its timezones (the week ahead gains a day; festivals are dates) and when its care
rules change. In between, a pass plans only what changed: the customers and teams that
the triggers of `bot.storage.plan_marks` marked, in the same transaction as each change.
That is what a full pass every time would plan: a full pass adds or skips a customer's
rows only when their inputs changed, their week ahead gained a day or one of their rows
was removed or came back to the queue, and each of these leaves a mark or begins a day.
Planning a customer again changes nothing, so a mark too many costs time, never a message.

Passes may overlap (`salesbot dispatch` workers beside the bot). A pass reads each team's
`seq` (`plan_passes`) before anything else, and writes that team's rows only if `seq` has
not moved since, moving it: of two passes that read the same state, one plans the team
and the other leaves it, with its marks, to the next pass. Marks are deleted by id, only
the ones the pass read: a change committed while a pass runs keeps its mark, whatever
order transactions commit in, and no clocks are compared.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, or_, update
from sqlalchemy import select as sql_select  # more columns than sqlmodel's select types
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
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
    own_time,
    zone,
)
from bot.domain.dates import ParsedDate
from bot.scheduling import outbox
from bot.services import digest as digest_service
from bot.storage.models import (
    Customer,
    Membership,
    OutboxMessage,
    PlanMark,
    PlanPass,
    PracticeReminder,
    Purchase,
    Team,
    User,
)
from bot.storage.plan_marks import CUSTOMER, MEMBERS, TEAM

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

    def __add__(self, other: PlanResult) -> PlanResult:
        return PlanResult(
            self.planned + other.planned, self.skipped + other.skipped, self.agendas + other.agendas
        )


# More customers marked than this in one team: planning the whole team costs less.
MOST_MARKED = 1000


@dataclass
class TeamPlan:
    """One team's share of a pass, worked out before anything is written."""

    rows: list[dict[str, Any]]  # new rows
    stale: list[int]  # waiting rows whose occasion no longer holds
    messages: int  # how many of the rows are care messages (the rest: agendas and digests)
    skipped: int  # care messages planned as skipped
    zones: set[str]  # the timezones of the customers and members it planned
    now: datetime

    @property
    def result(self) -> PlanResult:
        """What writing it adds."""
        return PlanResult(self.messages - self.skipped, self.skipped, len(self.rows) - self.messages)


async def plan(
    session: AsyncSession, *, now: datetime, render: Render, horizon: timedelta = HORIZON
) -> PlanResult:
    """Plan every team in full: every customer's coming days, every member's agenda and digest."""
    return await _pass(session, now=now, render=render, horizon=horizon, everything=True)


async def plan_changes(
    session: AsyncSession, *, now: datetime, render: Render, horizon: timedelta = HORIZON
) -> PlanResult:
    """Plan what changed since the last pass, and in full each team a new local day began for."""
    return await _pass(session, now=now, render=render, horizon=horizon, everything=False)


async def plan_team(
    session: AsyncSession, team: Team, *, now: datetime, render: Render, horizon: timedelta = HORIZON
) -> PlanResult:
    """Plan one team's care messages from now to `horizon` ahead."""
    work = await _work_out(session, team, now=now, render=render, horizon=horizon)
    await _write(session, work)
    return work.result


async def _pass(
    session: AsyncSession, *, now: datetime, render: Render, horizon: timedelta, everything: bool
) -> PlanResult:
    """One pass over the teams: in full where due (or `everything`), else what the marks name."""
    # The counters before anything else: whatever is read after them is at least as new.
    states = {state.team_id: state for state in (await session.exec(select(PlanPass))).all()}
    marked: dict[int, list[tuple[int, int | None, str]]] = {}
    for mark_id, team_id, customer_id, scope in (
        await session.exec(  # type: ignore[call-overload]  # sqlmodel types at most 4 columns
            sql_select(
                col(PlanMark.id), col(PlanMark.team_id), col(PlanMark.customer_id), col(PlanMark.scope)
            )
        )
    ).all():
        marked.setdefault(team_id, []).append((mark_id, customer_id, scope))
    work: list[tuple[int, PlanPass | None, bool, list[int], TeamPlan]] = []
    for team in (await session.exec(select(Team).order_by(col(Team.id)))).all():
        assert team.id is not None
        state, marks = states.get(team.id), marked.pop(team.id, [])
        customers = {customer for _, customer, scope in marks if scope == CUSTOMER and customer is not None}
        full = (
            everything
            or state is None
            or any(scope == TEAM for _, _, scope in marks)
            or len(customers) > MOST_MARKED
            or _new_day(state, team, now)
        )
        people = full or any(scope == MEMBERS for _, _, scope in marks)
        if not (full or people or customers):
            continue
        team_plan = await _work_out(
            session,
            team,
            now=now,
            render=render,
            horizon=horizon,
            only=None if full else customers,
            people=people,
        )
        work.append((team.id, state, full, [mark_id for mark_id, _, _ in marks], team_plan))
    total = PlanResult(0, 0, 0)
    for team_id, state, full, mark_ids, team_plan in work:  # by team id: overlapping passes lock alike
        if not await _advance(session, team_id, state, now=now, full=full, zones=team_plan.zones):
            continue  # another pass planned this team since this one read it: its marks wait
        await _write(session, team_plan)
        await _forget(session, mark_ids)
        total += team_plan.result
    await _forget(session, [mark_id for marks in marked.values() for mark_id, _, _ in marks])  # no team
    return total


def _new_day(state: PlanPass, team: Team, now: datetime) -> bool:
    """Whether a local day began in one of the team's timezones since its last full pass."""
    for name in {*state.zones, team.timezone}:
        tz = zone(name, "UTC")
        if now.astimezone(tz).date() != state.full_at.astimezone(tz).date():
            return True
    return False


async def _advance(
    session: AsyncSession, team_id: int, state: PlanPass | None, *, now: datetime, full: bool, zones: set[str]
) -> bool:
    """Take the team for this pass: its counter moves on only if it is still what the pass read."""
    if state is None:
        dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = insert(PlanPass).values(team_id=team_id, seq=1, full_at=now, zones=sorted(zones))
        created = await session.exec(statement.on_conflict_do_nothing(index_elements=["team_id"]))
        return bool(created.rowcount)
    values: dict[str, Any] = {"seq": state.seq + 1}
    if full:
        values.update(full_at=now, zones=sorted(zones))
    elif not zones <= set(state.zones):
        values["zones"] = sorted({*state.zones, *zones})
    moved = await session.exec(
        update(PlanPass)
        .where(col(PlanPass.team_id) == team_id, col(PlanPass.seq) == state.seq)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(moved.rowcount)


async def _forget(session: AsyncSession, mark_ids: list[int]) -> None:
    """Delete the marks a pass planned from (by id: a mark written since stays)."""
    for start in range(0, len(mark_ids), 500):
        await session.exec(
            delete(PlanMark)
            .where(col(PlanMark.id).in_(mark_ids[start : start + 500]))
            .execution_options(synchronize_session=False)
        )


async def _write(session: AsyncSession, work: TeamPlan) -> None:
    """Skip the stale rows and add the new ones."""
    if work.stale:
        await session.exec(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id).in_(work.stale), col(OutboxMessage.status).in_(("review", "planned"))
            )
            .values(status="skipped", reason="no_longer_due", updated_at=work.now)
        )
    if work.rows:
        await outbox.insert_new(session, work.rows)


async def _work_out(
    session: AsyncSession,
    team: Team,
    *,
    now: datetime,
    render: Render,
    horizon: timedelta = HORIZON,
    only: set[int] | None = None,
    people: bool = True,
) -> TeamPlan:
    """What planning a team adds and skips: every customer, or `only` these; with `people`,
    the members' agendas and the digests too."""
    assert team.id is not None
    rules = CareRules.from_settings(team.settings)
    zones = {zone(team.timezone, "UTC").key}
    chosen = [col(Customer.team_id) == team.id]
    if only is not None:
        chosen.append(col(Customer.id).in_(sorted(only)))
    customers = (
        []
        if only == set()
        else (
            await session.exec(
                select(Customer).where(
                    *chosen,
                    col(Customer.archived_at).is_(None),
                    col(Customer.optin_state) != "out",
                )
            )
        ).all()
    )
    bought: dict[int, list[tuple[date, str]]] = {}
    if only != set():
        of_team = [col(Purchase.team_id) == team.id]
        if only is not None:
            of_team.append(col(Purchase.customer_id).in_(sorted(only)))
        for customer_id, day, items in (
            await session.exec(
                select(col(Purchase.customer_id), col(Purchase.purchased_on), col(Purchase.items)).where(
                    *of_team
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
    rows_of = [col(OutboxMessage.team_id) == team.id, col(OutboxMessage.day) >= start]
    if only is not None:
        whose = [col(OutboxMessage.customer_id).in_(sorted(only))] if only else []
        if people:
            whose.append(col(OutboxMessage.customer_id).is_(None))
        rows_of.append(or_(*whose))
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
            ).where(*rows_of)
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
        zones.add(tz.key)
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
    if people:
        rows += await _agendas(session, team, rules, now=now, taken=taken, zones=zones)
        reminders, dropped = await _practice_reminders(
            session, team, rules, now=now, taken=taken, zones=zones
        )
        rows += reminders
        stale += dropped
        rows += await digest_service.plan_rows(session, team, now=now, taken=taken)
    return TeamPlan(rows, stale, messages, skipped, zones, now)


AGENDA_LATEST_HOUR = 12  # an agenda planned after noon waits for the next morning


async def _agendas(
    session: AsyncSession, team: Team, rules: CareRules, *, now: datetime, taken: set[str], zones: set[str]
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
        zones.add(tz.key)
        local = now.astimezone(tz)
        for day in (local.date(), local.date() + timedelta(days=1)):
            key = f"agenda:{user.telegram_id}:{day.isoformat()}"
            due_at = datetime.combine(day, time(rules.agenda_hour), tzinfo=tz).astimezone(UTC)
            if key in taken or (due_at < now and local.hour >= AGENDA_LATEST_HOUR):
                continue
            taken.add(key)
            rows.append(_to_member(key, team.id, user, outbox.AGENDA, day, due_at=max(due_at, now), now=now))
    return rows


def _to_member(
    key: str, team_id: int, user: User, occasion: str, day: date, *, due_at: datetime, now: datetime
) -> dict[str, Any]:
    """A row for a member's own chat whose text is written when it goes, so that it is current
    (an agenda, a practice reminder)."""
    return outbox.new_row(
        key=key,
        team_id=team_id,
        customer_id=None,
        rep_id=user.telegram_id,
        occasion=occasion,
        day=day,
        channel="telegram",
        chat_id=user.telegram_id,
        language=user.language,
        text="",
        due_at=due_at,
        now=now,
    )


DONE = frozenset({"claimed", "sending", "sent", "failed"})  # a reminder row that went, or tried to
PRACTICE_LATE = timedelta(hours=1)  # a reminder not planned by its time still goes this much later


async def _practice_reminders(
    session: AsyncSession, team: Team, rules: CareRules, *, now: datetime, taken: set[str], zones: set[str]
) -> tuple[list[dict[str, Any]], list[int]]:
    """Each member's practice reminder for today (unless its time passed over `PRACTICE_LATE`
    ago) and tomorrow, at their own time in their timezone, out of the quiet hours
    (`own_time`); and the ids of waiting ones no longer wanted (turned off, moved to another
    time, left the team).

    The key names the member, the local day and the time, so a moved reminder is a new row;
    a day a reminder already went (or tried to) gets no other, so it comes once a day.
    """
    assert team.id is not None
    members = (
        await session.exec(
            select(User, PracticeReminder.at)
            .join(Membership, col(Membership.user_id) == col(User.telegram_id))
            .join(PracticeReminder, col(PracticeReminder.user_id) == col(User.telegram_id))
            .where(col(Membership.team_id) == team.id, col(Membership.active))
        )
    ).all()
    start = now.date() - timedelta(days=2)
    went: set[tuple[int, date]] = set()
    waiting: dict[str, int] = {}
    for row_id, key, rep_id, day, status in (
        await session.exec(  # type: ignore[call-overload]  # sqlmodel types at most 4 columns
            sql_select(
                col(OutboxMessage.id),
                col(OutboxMessage.key),
                col(OutboxMessage.rep_id),
                col(OutboxMessage.day),
                col(OutboxMessage.status),
            ).where(
                col(OutboxMessage.team_id) == team.id,
                col(OutboxMessage.occasion) == outbox.PRACTICE,
                col(OutboxMessage.day) >= start,
            )
        )
    ).all():
        if status in DONE:
            went.add((rep_id, day))
        elif status == "planned":
            waiting[key] = row_id
    rows, wanted = [], set()
    for user, at in members:
        tz = zone(user.timezone, team.timezone)
        zones.add(tz.key)
        local = now.astimezone(tz)
        hour, minute = (int(part) for part in at.split(":"))
        for day in (local.date(), local.date() + timedelta(days=1)):
            key = f"{outbox.PRACTICE}:{user.telegram_id}:{day.isoformat()}:{at}"
            if (user.telegram_id, day) in went:
                continue
            if key in waiting:
                wanted.add(key)
                continue
            due_at = own_time(day, time(hour, minute), tz, rules)
            if key in taken or due_at < now - PRACTICE_LATE:
                continue
            taken.add(key)
            wanted.add(key)
            rows.append(_to_member(key, team.id, user, outbox.PRACTICE, day, due_at=due_at, now=now))
    return rows, [row_id for key, row_id in waiting.items() if key not in wanted]


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
