"""Daily digests built ahead: stored as they are sent (texts, buttons, chart), and whether a
stored one is still exactly what a fresh build would give.

A build is kept under its key: the team, the reader's local day, timezone and language
(everyone with the same four reads the same bytes). The builder job
(`bot.scheduling.digests`) builds each planned digest before its hour and links it to its
outbox row; the dispatcher only sends what is linked; `/digest` answers from the build of
its key while that is fresh, and builds (and keeps) a new one when it is not.

Fresh means all of these (checked by `is_fresh`):
- before its `valid_until`: the first moment its figures would change with time alone
  (the reader's midnight; a customer falling behind the contact rhythm; the days shown
  beside a quiet A-grade customer), worked out when it was built;
- the same `fingerprint`: the bot's code and texts (`code_mark`), the team's name,
  timezone, language and settings (⚙️ in the digest, /care), its members with their names
  and roles, how many care messages wait for review and how many drills from the floor
  wait for the lead, read exactly;
- nothing written in the team since it was built: the latest write stamp of each kind of
  row it reads (`last_writes`, one index probe each) is older than the build: cards
  (`updated_at`), notes, purchases, follow-ups (created or done), outcomes (created, or a
  complaint resolved), finished playbook runs, care messages (entering a state it counts)
  and practice answers. Every write stamps one of these; re-tagging a note touches its
  card. A write stamped just before the build may commit just after it, so anything
  stamped up to WRITE_SLACK before the build counts as after it (a needless rebuild at
  worst).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, update
from sqlalchemy import select as sql_select  # more columns than sqlmodel's select types
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.access import Actor
from bot.domain.care import zone
from bot.domain.errors import NotAllowed
from bot.services.digest import lists
from bot.services.digest.model import DIGEST, INTERNAL_OCCASIONS, Digest
from bot.services.digest.outbox import destination
from bot.services.digest.views import build, reader_view, team_view
from bot.storage.models import (
    Customer,
    DigestBuild,
    Membership,
    Note,
    OutboxMessage,
    Outcome,
    PlaybookRun,
    PracticeReview,
    Purchase,
    Task,
    Team,
    TeamDrill,
    User,
)

WRITE_SLACK = timedelta(minutes=2)  # how long a write may take from its stamp to its commit
KEEP_DAYS = 3  # builds of older days are deleted (their rows went long ago)
# Care message states the digest counts: a row entering one is stamped (`updated_at`). One
# leaving "review" for "planned" (approved) is seen by the count of those waiting, which the
# fingerprint holds; rows the planner adds as "planned" change no figure.
CARE_STATES = ("review", "sent", "handed", "failed", "skipped")


@dataclass(frozen=True)
class Key:
    """Whose bytes a build is: a team's digest on a reader's local day, timezone and language."""

    team_id: int
    day: date
    tz: str
    language: str


@dataclass(frozen=True)
class Built:
    """A digest ready to send: what goes (`payload`, `chart`), and what tells whether it is fresh."""

    key: Key
    payload: dict[str, Any]  # {"caption", "filename", "messages", "group_messages", "markup", "group_markup"}
    chart: bytes
    built_at: datetime
    valid_until: datetime
    fingerprint: str


class DigestBuilder(Protocol):
    """Builds a team's digest or report for a reader, in a language, as of `now` (the wiring's)."""

    async def __call__(
        self, *, team_id: int, kind: str, reader: int | None, language: str, now: datetime
    ) -> Built:
        """The figures from the database, then the texts, buttons and chart."""
        ...


@dataclass(frozen=True)
class Snapshot:
    """The database's part of a build: the figures, their key and what tells whether they last."""

    digest: Digest
    key: Key
    fingerprint: str
    valid_until: datetime


async def snapshot(
    session: AsyncSession, *, team_id: int, kind: str, reader: int | None, language: str, now: datetime
) -> Snapshot:
    """A team's digest (or report) as of `now` in the reader's timezone, with its fingerprint first."""
    view = await reader_view(session, team_id=team_id, reader=reader, now=now)
    mark = await fingerprint(session, team_id)  # read before the figures: a change after is seen
    digest = await build(session, team_id=team_id, kind=kind, now=now, tz=view.tz)
    until = await valid_until(session, view.team, digest, now=now) if kind == "day" else now
    return Snapshot(digest, Key(team_id, digest.today, view.tz, language), mark, until)


async def valid_until(session: AsyncSession, team: Team, digest: Digest, *, now: datetime) -> datetime:
    """The first moment a daily digest's figures would change with time alone."""
    tz = ZoneInfo(digest.period.tz)
    midnight = datetime.combine(digest.today + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    moments = [
        midnight,
        await lists.next_crossing(session, team=team, now=now),
        await lists.days_change(session, listing=digest.quiet_a, now=now),
    ]
    return min(moment for moment in moments if moment is not None)


@cache
def code_mark() -> str:
    """A hash of the bot's code and texts (read once per process), so that a build stored by
    another version of the bot (a new section, a reworded line) is never sent as fresh."""
    import bot
    from bot.i18n import TEMPLATES

    files = sorted(Path(bot.__file__).parent.rglob("*.py")) + sorted(TEMPLATES.glob("*.toml"))
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()


async def fingerprint(session: AsyncSession, team_id: int) -> str:
    """A hash of the bot's version (`code_mark`), of the team's name, timezone, language and
    settings, of its members, and of how many care messages wait for their rep's review (read
    exactly, each time)."""
    team = (
        await session.exec(
            select(Team.name, Team.timezone, Team.language, Team.settings).where(col(Team.id) == team_id)
        )
    ).first()
    members = (
        await session.exec(  # type: ignore[call-overload]  # sqlmodel types at most 4 columns
            sql_select(
                col(Membership.id),
                col(Membership.user_id),
                col(Membership.role),
                col(Membership.active),
                col(User.name),
            )
            .join(User, col(User.telegram_id) == col(Membership.user_id))
            .where(col(Membership.team_id) == team_id)
            .order_by(col(Membership.id))
        )
    ).all()
    waiting = (
        await session.exec(
            sql_select(func.count())  # type: ignore[call-overload]
            .select_from(OutboxMessage)
            .where(col(OutboxMessage.team_id) == team_id, col(OutboxMessage.status) == "review")
        )
    ).one()[0]
    proposals = (
        await session.exec(
            sql_select(func.count())  # type: ignore[call-overload]
            .select_from(TeamDrill)
            .where(col(TeamDrill.team_id) == team_id, col(TeamDrill.status) == "proposed")
        )
    ).one()[0]
    raw = json.dumps(
        [code_mark(), list(team) if team else None, [list(m) for m in members], waiting, proposals],
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(raw.encode()).hexdigest()


def _last(stamp: Any, *where: Any) -> Any:
    """The latest of a column among the team's rows (one index probe where there is an index)."""
    return sql_select(func.max(stamp)).where(*where).scalar_subquery()


async def last_writes(session: AsyncSession, team_id: int) -> dict[str, datetime | None]:
    """When each kind of row a digest reads was last written in the team, in one statement.

    The latest stamp, not "any stamp after a moment": a statement whose plan does not
    depend on that moment (PostgreSQL keeps one generic plan of a statement prepared again
    and again, and a generic plan of `created_at >= $1` over a million notes scans them).
    """
    care = (col(OutboxMessage.team_id) == team_id, col(OutboxMessage.occasion).not_in(INTERNAL_OCCASIONS))
    probes = {
        "card": _last(col(Customer.updated_at), col(Customer.team_id) == team_id),
        "note": _last(col(Note.created_at), col(Note.team_id) == team_id),
        "purchase": _last(col(Purchase.created_at), col(Purchase.team_id) == team_id),
        "follow-up": _last(col(Task.created_at), col(Task.team_id) == team_id),
        "follow-up done": _last(col(Task.done_at), col(Task.team_id) == team_id),
        "outcome": _last(col(Outcome.created_at), col(Outcome.team_id) == team_id),
        "complaint resolved": _last(
            col(Outcome.resolved_at), col(Outcome.team_id) == team_id, col(Outcome.kind) == "complaint"
        ),
        "practice": _last(col(PracticeReview.answered_at), col(PracticeReview.team_id) == team_id),
        "playbook finished": _last(
            col(PlaybookRun.ended_at), col(PlaybookRun.team_id) == team_id, col(PlaybookRun.status) == "done"
        ),
        # One probe per state, each down its own stretch of (team, status, updated_at).
        **{
            f"care {status}": _last(col(OutboxMessage.updated_at), *care, col(OutboxMessage.status) == status)
            for status in CARE_STATES
        },
    }
    row = (await session.exec(sql_select(*(p.label(f"p{i}") for i, p in enumerate(probes.values()))))).one()  # type: ignore[call-overload]
    return {name: _stamp(value) for name, value in zip(probes, row, strict=True)}


def _stamp(value: Any) -> datetime | None:
    """A stamp as the database returns an aggregate of it (SQLite: maybe text; maybe naive)."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def changed_since(session: AsyncSession, team_id: int, since: datetime) -> bool:
    """Whether anything a digest reads was written in the team at or after `since`."""
    stamps = await last_writes(session, team_id)
    return any(stamp is not None and stamp >= since for stamp in stamps.values())


async def is_fresh(session: AsyncSession, stored: DigestBuild, *, now: datetime) -> bool:
    """Whether a stored build is exactly what building it again now would give."""
    if now >= stored.valid_until:
        return False
    if await fingerprint(session, stored.team_id) != stored.fingerprint:
        return False
    return not await changed_since(session, stored.team_id, stored.built_at - WRITE_SLACK)


async def _find(session: AsyncSession, key: Key) -> DigestBuild | None:
    return (
        await session.exec(
            select(DigestBuild).where(
                col(DigestBuild.team_id) == key.team_id,
                col(DigestBuild.day) == key.day,
                col(DigestBuild.tz) == key.tz,
                col(DigestBuild.language) == key.language,
            )
        )
    ).first()


@dataclass(frozen=True)
class Stored:
    """A digest as stored: what is sent."""

    payload: dict[str, Any]
    chart: bytes


async def fresh_for(
    session: AsyncSession, actor: Actor, *, team_id: int, language: str, now: datetime
) -> Stored | None:
    """The daily digest the actor asks for, as built earlier, if it is still fresh (else None).

    Leads see their own team's, admins every team's; anyone else is refused.
    """
    view = await team_view(session, actor, team_id=team_id, now=now)
    found = await _find(session, Key(team_id, view.today, view.tz, language))
    if found is None or not await is_fresh(session, found, now=now):
        return None
    return Stored(found.payload, found.chart)


async def store(session: AsyncSession, built: Built, *, outbox_id: int | None = None) -> int:
    """Keep a build under its key (a newer one replaces it), linked to an outbox row if given."""
    key = built.key
    values = {
        "team_id": key.team_id,
        "day": key.day,
        "tz": key.tz,
        "language": key.language,
        "payload": built.payload,
        "chart": built.chart,
        "fingerprint": built.fingerprint,
        "built_at": built.built_at,
        "valid_until": built.valid_until,
    }
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(DigestBuild).values(values)
    changed = ("payload", "chart", "fingerprint", "built_at", "valid_until")
    await session.exec(
        statement.on_conflict_do_update(
            index_elements=["team_id", "day", "tz", "language"],
            set_={name: statement.excluded[name] for name in changed},
            where=col(DigestBuild.built_at) <= statement.excluded.built_at,  # two at once: the later stays
        )
    )
    found = await _find(session, key)
    assert found is not None and found.id is not None
    if outbox_id is not None:
        await link(session, outbox_id=outbox_id, build_id=found.id)
    return found.id


async def link(session: AsyncSession, *, outbox_id: int, build_id: int) -> None:
    """The build an outbox row sends (only while the row still waits)."""
    await session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == outbox_id, col(OutboxMessage.status) == "planned")
        .values(build_id=build_id)
    )


@dataclass(frozen=True)
class Waiting:
    """A planned digest row due soon, and the key its reader's digest has now."""

    outbox_id: int
    reader: int | None  # the lead; None for the team group (written in the team's timezone)
    key: Key
    build_id: int | None  # the build linked so far


async def waiting(session: AsyncSession, *, now: datetime, ahead: timedelta) -> list[Waiting]:
    """Planned digest rows due before `now + ahead` (or overdue), with their readers' keys now."""
    rows = (
        await session.exec(
            select(OutboxMessage)
            .where(
                col(OutboxMessage.status) == "planned",
                col(OutboxMessage.due_at) <= now + ahead,
                col(OutboxMessage.occasion) == DIGEST,
            )
            .order_by(col(OutboxMessage.due_at), col(OutboxMessage.id))
        )
    ).all()
    out = []
    for row in rows:
        assert row.id is not None
        team = await session.get(Team, row.team_id)
        if team is None:
            continue
        reader = destination(team, row).reader
        user = await session.get(User, reader) if reader is not None else None
        tz = zone(user.timezone if user else None, team.timezone).key
        language = user.language if user is not None else team.language
        key = Key(row.team_id, now.astimezone(ZoneInfo(tz)).date(), tz, language)
        out.append(Waiting(row.id, reader, key, row.build_id))
    return out


async def usable(session: AsyncSession, row: Waiting, *, now: datetime, refresh: timedelta) -> bool:
    """Link the row to the stored build of its key if that may go out now; False if it needs a build.

    The team's settings and members must be as built. Its data may have moved on for
    `refresh` at most: a busy team is not rebuilt on every note before the hour.
    """
    found = await _find(session, row.key)
    if found is None or found.id is None:
        return False
    if await fingerprint(session, row.key.team_id) != found.fingerprint:
        return False
    recent = found.built_at > now - refresh
    if not recent and not await is_fresh(session, found, now=now):
        return False
    if row.build_id != found.id:
        await link(session, outbox_id=row.outbox_id, build_id=found.id)
    return True


@dataclass(frozen=True)
class Ready:
    """A digest row's stored build and where it goes."""

    payload: dict[str, Any]
    chart: bytes
    chat_id: int
    thread_id: int | None
    in_group: bool


async def ready(session: AsyncSession, row: OutboxMessage) -> Ready | None:
    """What a built digest row sends, and where: to its lead, or to the team group (None if unbuilt)."""
    found = await session.get(DigestBuild, row.build_id) if row.build_id is not None else None
    team = await session.get(Team, row.team_id)
    if team is None:
        raise NotAllowed()
    if found is None:
        return None
    where = destination(team, row)
    return Ready(found.payload, found.chart, where.chat_id, where.thread_id, where.in_group)


async def tidy_builds(session: AsyncSession, *, now: datetime) -> int:
    """Delete the builds of days long gone (rows still naming one lose it, and are built again)."""
    result = await session.exec(
        delete(DigestBuild).where(col(DigestBuild.day) < now.date() - timedelta(days=KEEP_DAYS))
    )
    return int(result.rowcount or 0)
