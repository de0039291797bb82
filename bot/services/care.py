"""Care messages as people act on them: a rep's own message, the lead's rules, the rep's
buttons on messages they pass on or approve.

The outbox itself (rows, claiming, sending) is `bot.scheduling.outbox`; the planner
that fills it from the cards is `bot.scheduling.planner`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import workdays
from bot.domain.access import Actor, Role
from bot.domain.care import CareRules, Occasion, message_language, next_allowed, send_time, zone
from bot.domain.errors import InvalidInput, NotAllowed, Stale
from bot.scheduling.outbox import ONE_OFF, UNCONFIRMED, care_note, insert_new, new_row
from bot.storage.models import OutboxMessage, Team, User

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
    language = message_language(customer.language, rep.language if rep else None, team.language)
    await insert_new(
        session,
        [
            new_row(
                key=key,
                team_id=customer.team_id,
                customer_id=customer_id,
                rep_id=actor.user_id,
                occasion=ONE_OFF,
                day=day,
                channel="telegram" if on_telegram else "via_rep",
                chat_id=customer.telegram_chat_id if on_telegram else actor.user_id,
                language=language,
                text=body,
                due_at=due_at,
                now=now,
            )
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
) -> tuple[CareRules, workdays.WorkWeek]:
    """A lead changes one of the team's care rules; returns the rules and work week as they now are."""
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
    return CareRules.from_settings(team.settings), workdays.work_week(team.settings)


# ---------------------------------------------------------------- the rep's side


async def own_row(session: AsyncSession, actor: Actor, outbox_id: int) -> OutboxMessage:
    row = await session.get(OutboxMessage, outbox_id)
    if row is None:
        raise Stale()
    lead_of_team = actor.role is Role.LEAD and actor.team_id == row.team_id
    if not (row.rep_id == actor.user_id or lead_of_team or actor.is_admin):
        raise NotAllowed()
    return row


def _with_rep(row: OutboxMessage) -> bool:
    """Whether the rep has the message to pass on: handed, or sent unconfirmed (their tap proves it came)."""
    unconfirmed = row.status == "failed" and row.reason == UNCONFIRMED
    return row.status == "handed" or (unconfirmed and row.channel == "via_rep")


async def mark_sent_by_rep(
    session: AsyncSession, actor: Actor, outbox_id: int, *, now: datetime
) -> OutboxMessage:
    """The rep passed a message on themselves (phone, WeChat…)."""
    row = await own_row(session, actor, outbox_id)
    if not _with_rep(row):
        raise Stale()
    row.status, row.sent_at, row.updated_at, row.reason = "sent", now, now, "sent by the rep"
    session.add(row)
    care_note(session, row, now)
    return row


async def skip_by_rep(session: AsyncSession, actor: Actor, outbox_id: int, *, now: datetime) -> OutboxMessage:
    """The rep decided not to send it."""
    row = await own_row(session, actor, outbox_id)
    if row.status not in ("review", "planned") and not _with_rep(row):
        raise Stale()
    row.status, row.reason, row.updated_at = "skipped", "skipped by the rep", now
    session.add(row)
    return row


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
