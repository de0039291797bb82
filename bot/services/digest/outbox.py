"""The daily digests in the outbox: planning the rows (one per lead, or one for the team group,
per local day), and whom a planned row's digest is for.

Kept apart so that it can join the outbox module. The digest itself is built shortly
before the row is due (`bot.scheduling.digests`) and stored with it (`built`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.care import zone
from bot.domain.errors import NotAllowed
from bot.scheduling import outbox
from bot.services.digest.figures import members
from bot.services.digest.model import DIGEST, Digest
from bot.services.digest.settings import DEFAULT_HOUR, prefs
from bot.services.digest.views import reader_digest
from bot.storage.models import OutboxMessage, Team, User

LATEST_AFTER = 3  # hours after its time; a digest first planned later waits for the next day


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
                outbox.new_row(
                    key=key,
                    team_id=team.id,
                    customer_id=None,
                    rep_id=rep_id,
                    occasion=DIGEST,
                    day=day,
                    channel="telegram",
                    chat_id=chat_id,
                    language=lang,
                    text="",  # the digest is built shortly before it is due, and kept apart
                    due_at=max(due_at, now),
                    now=now,
                )
            )
    return rows


@dataclass(frozen=True)
class Destination:
    """Where a planned digest goes, and whose timezone it is written in."""

    reader: int | None  # the lead; None for the team group (the team's timezone and language)
    chat_id: int
    thread_id: int | None  # a forum topic of the team group
    in_group: bool


def destination(team: Team, row: OutboxMessage) -> Destination:
    """A planned digest row's destination: its lead, or the team group if that is where it goes."""
    group = prefs(team, 0).group
    in_group = group is not None and row.chat_id == group["chat_id"]
    thread = group.get("thread_id") if in_group and group is not None else None
    return Destination(None if in_group else row.rep_id, row.chat_id or row.rep_id, thread, in_group)


@dataclass(frozen=True)
class PlannedDigest:
    """A planned daily digest, written now: where it goes, and whether that is the team group."""

    digest: Digest
    chat_id: int
    thread_id: int | None
    in_group: bool


async def planned_digest(session: AsyncSession, row: OutboxMessage, *, now: datetime) -> PlannedDigest:
    """The daily digest a planned row shows if written now: to its lead (in their timezone), or to
    the team group (the figures only; the builder job builds what is sent)."""
    team = await session.get(Team, row.team_id)
    if team is None:
        raise NotAllowed()
    where = destination(team, row)
    digest = await reader_digest(session, team_id=row.team_id, kind="day", reader=where.reader, now=now)
    return PlannedDigest(digest, where.chat_id, where.thread_id, where.in_group)
