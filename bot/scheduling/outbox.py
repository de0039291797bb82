"""The outbox: one row per message to send, and every step of its life.

The table is the truth. Planning inserts one row per customer (or rep), occasion and
day, under a unique key, so planning again or from another process adds nothing
(`new_row` builds a row, `insert_new` adds the ones whose key is new). Sending claims
due rows for a short lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several
dispatchers share the table), marks a row `sending` just before its one Telegram call
and `sent` right after. A process killed in between leaves that one row `sending`;
when its lease runs out it becomes `failed` ("interrupted"), never resent: a greeting
may be missed in that case, but never arrives twice. So does a row whose call Telegram
may have done without saying so (`unconfirmed`: the answer came too late, or not at
all); a row Telegram certainly did not send goes back to the queue (`retry_later`).

Statuses: review (waiting for the rep's approval) → planned → claimed → sending →
sent (to the customer) or handed (to the rep, to pass on); or failed / skipped, each
with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.care import PLANNED
from bot.storage.models import Customer, Note, OutboxMessage, User

AGENDA = "agenda"  # a rep's morning agenda (written when it goes)
PRACTICE = "practice"  # a member's daily practice reminder (written when it goes)
DIGEST = "digest"  # a lead's daily digest (built ahead: sent only once it has a build)
ONE_OFF = "one_off"  # a message a rep wrote for one customer and one day


def new_row(
    *,
    key: str,
    team_id: int,
    customer_id: int | None,
    rep_id: int,
    occasion: str,
    day: date,
    channel: str,
    chat_id: int | None,
    language: str,
    text: str,
    due_at: datetime,
    now: datetime,
    status: str = "planned",
    reason: str | None = None,
) -> dict[str, Any]:
    """One outbox row, as `insert_new` takes it (the only place a row's columns are listed)."""
    return {
        "key": key,
        "team_id": team_id,
        "customer_id": customer_id,
        "rep_id": rep_id,
        "occasion": occasion,
        "day": day,
        "channel": channel,
        "chat_id": chat_id,
        "language": language,
        "text": text[:4000],
        "status": status,
        "reason": reason,
        "due_at": due_at,
        "created_at": now,
        "updated_at": now,
    }


LEASE = timedelta(seconds=60)


RETRY_DELAYS = (30, 120, 600, 3600)  # seconds, after network errors; then it fails

UNCONFIRMED = "unconfirmed"  # the reason of a row Telegram may have sent without saying so
# Failed rows that may have arrived all the same: never resent, so never twice.
IN_DOUBT = (UNCONFIRMED, "interrupted")


async def insert_new(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert rows whose key is new; a key another process planned meanwhile is left alone."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    for start in range(0, len(rows), 500):
        statement = insert(OutboxMessage).values(rows[start : start + 500])
        await session.exec(statement.on_conflict_do_nothing(index_elements=["key"]))


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
        care_note(session, row, now)
    session.add(row)


def care_note(session: AsyncSession, row: OutboxMessage, now: datetime) -> None:
    """The timeline entry of a care message the customer got."""
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


async def unconfirmed(session: AsyncSession, *, outbox_id: int, now: datetime) -> None:
    """Telegram may have sent it but did not say so: failed ("unconfirmed"), never resent.

    A care message leaves a line on the customer's timeline, so the rep knows it may
    not have arrived and was not sent again.
    """
    row = await session.get(OutboxMessage, outbox_id)
    if row is None:
        return
    row.status, row.reason, row.claimed_by, row.lease_until, row.updated_at = (
        "failed",
        UNCONFIRMED,
        None,
        None,
        now,
    )
    session.add(row)
    if row.customer_id is not None:
        session.add(
            Note(
                customer_id=row.customer_id,
                team_id=row.team_id,
                kind="system",
                text=row.text,
                meta={
                    "event": "care_unconfirmed",
                    "outbox": row.id,
                    "occasion": row.occasion,
                    "to": "customer" if row.channel == "telegram" else "rep",
                },
                created_at=now,
            )
        )


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
    """The customer blocked the bot: the row failed; the customer opted out (None if they were)."""
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
    return await opt_out_blocked(session, customer=customer, now=now)


async def opt_out_blocked(session: AsyncSession, *, customer: Customer, now: datetime) -> Blocked | None:
    """A customer who blocked the bot: opted out, waiting messages skipped, noted on the card.

    None when they were opted out already (Telegram's notice and a refused send both say
    so; the rep hears it once).
    """
    if customer.optin_state == "out":
        return None
    assert customer.id is not None
    customer.optin_state, customer.updated_at = "out", now
    session.add(customer)
    await skip_opted_out(session, customer_id=customer.id, now=now)
    session.add(
        Note(
            customer_id=customer.id,
            team_id=customer.team_id,
            kind="system",
            meta={"event": "blocked"},
            created_at=now,
        )
    )
    rep = await session.get(User, customer.owner_id)
    return Blocked(customer.id, customer.name, customer.owner_id, rep.language if rep else "zh")


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


async def asked(session: AsyncSession, *, outbox_id: int, message_id: int) -> None:
    """Remember which message asked the rep (its buttons act on the row)."""
    await session.exec(
        update(OutboxMessage).where(col(OutboxMessage.id) == outbox_id).values(message_id=message_id)
    )


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


async def _take(
    session: AsyncSession, *, waiting: list[Any], order: list[Any], limit: int, values: dict[str, Any]
) -> list[OutboxMessage]:
    """Mark up to `limit` rows matching `waiting` with `values` and return them, in `order`.

    The one claim of the outbox: rows another transaction holds are skipped (`FOR UPDATE
    SKIP LOCKED` on PostgreSQL), and the conditions are checked again in the update, so
    two workers never take the same row.
    """
    # Materialised once: without it PostgreSQL may run the LIMIT … SKIP LOCKED subquery
    # again for each row of a freshly filled (not yet analysed) table, claiming them all.
    found = (
        select(OutboxMessage.id)
        .where(*waiting)
        .order_by(*order)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("found")
        .prefix_with("MATERIALIZED")
    )
    ids = [
        row[0]
        for row in (
            await session.exec(
                update(OutboxMessage)
                .where(col(OutboxMessage.id).in_(select(found.c.id)), *waiting)
                .values(**values)
                .returning(col(OutboxMessage.id))
            )
        ).all()
    ]
    if not ids:
        return []
    return list(
        (
            await session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(ids)).order_by(*order))
        ).all()
    )


async def claim(session: AsyncSession, *, now: datetime, worker: str, limit: int) -> list[OutboxMessage]:
    """Take up to `limit` due rows for this worker (rows another worker holds are skipped).

    A digest row waits for its build (`bot.scheduling.digests`): sending it is only sending.
    """
    return await _take(
        session,
        waiting=[
            col(OutboxMessage.status) == "planned",
            col(OutboxMessage.due_at) <= now,
            or_(col(OutboxMessage.occasion) != DIGEST, col(OutboxMessage.build_id).is_not(None)),
        ],
        order=[col(OutboxMessage.due_at), col(OutboxMessage.id)],
        limit=limit,
        values={
            "status": "claimed",
            "claimed_by": worker,
            "lease_until": now + LEASE,
            "attempts": col(OutboxMessage.attempts) + 1,
            "updated_at": now,
        },
    )


async def claim_reviews(session: AsyncSession, *, now: datetime, limit: int) -> list[OutboxMessage]:
    """Rows waiting for their rep's approval that the rep has not been asked about yet.

    They are asked up to a day ahead. Asking is marked (`message_id` 0 until the
    request's own message id is known), so two dispatchers never both ask.
    """
    return await _take(
        session,
        waiting=[
            col(OutboxMessage.status) == "review",
            col(OutboxMessage.message_id).is_(None),
            col(OutboxMessage.due_at) <= now + timedelta(days=1),
        ],
        order=[col(OutboxMessage.due_at), col(OutboxMessage.id)],
        limit=limit,
        values={"message_id": 0, "updated_at": now},
    )


@dataclass(frozen=True)
class Addressee:
    """Whom a row is about, as a message to its rep names them."""

    rep_language: str
    customer_name: str


async def addressee(session: AsyncSession, row: OutboxMessage) -> Addressee:
    """The rep's language and the customer's name, for a message the rep gets about a row."""
    rep = await session.get(User, row.rep_id)
    customer = await session.get(Customer, row.customer_id) if row.customer_id is not None else None
    return Addressee(rep.language if rep is not None else "zh", customer.name if customer is not None else "")


async def hand_over(
    session: AsyncSession, *, team_id: int, from_user: int, to_user: int, now: datetime
) -> None:
    """A rep's customers go to another rep: what still waits for them follows.

    Call it before the customers change owner. Waiting greetings and follow-ups were
    written and addressed for the old rep (signed with their name, handed to them to
    pass on), so they are taken back and the next planning pass writes them again for
    the new one. A rep's own message keeps its words and goes to the new rep to approve
    or pass on. Rows already claimed or sent are history and stay as they are.
    """
    theirs = select(Customer.id).where(col(Customer.team_id) == team_id, col(Customer.owner_id) == from_user)
    waiting = (
        col(OutboxMessage.customer_id).in_(theirs),
        col(OutboxMessage.status).in_(("review", "planned")),
    )
    await session.exec(
        delete(OutboxMessage).where(*waiting, col(OutboxMessage.occasion).in_(sorted(PLANNED)))
    )
    await session.exec(
        update(OutboxMessage)
        .where(*waiting, col(OutboxMessage.occasion) == ONE_OFF)
        .values(
            rep_id=to_user,
            chat_id=case(
                (col(OutboxMessage.channel) == "via_rep", to_user), else_=col(OutboxMessage.chat_id)
            ),
            message_id=None,
            updated_at=now,
        )
    )
