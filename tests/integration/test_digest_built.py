"""Digests built ahead, on both databases: when a stored build is still exactly what a fresh one
would give (each kind of write, the settings, the members, time itself), how builds are kept
and linked to their rows, and that the dispatcher only takes a digest row once it has one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.access import Actor, Role
from bot.domain.errors import NotAllowed
from bot.scheduling import outbox
from bot.services import digest as svc
from bot.storage.db import make_session_factory, transaction
from bot.storage.models import (
    Customer,
    DigestBuild,
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
from tests.integration.test_digest import AMY, BOB, LEAD, NOW, OTHER, _build

LATER = NOW + timedelta(minutes=10)  # well past WRITE_SLACK after the build
Write = Callable[[AsyncSession, int, dict[str, int]], Awaitable[None]]


async def _data(engine: AsyncEngine) -> tuple[int, int, dict[str, int]]:
    """The digest tests' data set, every row written before NOW (the bot stamps writes with its
    clock; rows the data set left to the tables' defaults carry the real time)."""
    team_id, other_id, ids = await _build(engine)
    earlier = NOW - timedelta(days=1)
    async with transaction(make_session_factory(engine)) as session:
        for stamp in (col(Customer.updated_at), col(Purchase.created_at), col(Task.created_at)):
            await session.exec(update(stamp.class_).where(stamp > NOW).values({stamp.key: earlier}))
    return team_id, other_id, ids


async def _snapshot_and_store(engine: AsyncEngine, team_id: int, *, now: datetime) -> svc.Built:
    """Build the lead's digest as of `now` (its figures; a stand-in for its texts) and keep it."""
    async with transaction(make_session_factory(engine)) as session:
        snap = await svc.snapshot(session, team_id=team_id, kind="day", reader=LEAD, language="zh", now=now)
    built = svc.Built(
        snap.key, {"figures": repr(snap.digest)}, b"png", now, snap.valid_until, snap.fingerprint
    )
    async with transaction(make_session_factory(engine)) as session:
        await svc.store(session, built)
    return built


async def _fresh(engine: AsyncEngine, team_id: int, *, now: datetime) -> bool:
    lead = Actor(LEAD, Role.LEAD, team_id)
    async with transaction(make_session_factory(engine)) as session:
        return await svc.fresh_for(session, lead, team_id=team_id, language="zh", now=now) is not None


async def _note(session: AsyncSession, team: int, ids: dict[str, int]) -> None:
    session.add(Note(customer_id=ids["c1"], team_id=team, author_id=AMY, text="new", created_at=LATER))


async def _card(session: AsyncSession, team: int, ids: dict[str, int]) -> None:
    await session.exec(
        update(Customer).where(col(Customer.id) == ids["c7"]).values(stage="contact", updated_at=LATER)
    )


async def _purchase(session: AsyncSession, team: int, ids: dict[str, int]) -> None:
    session.add(
        Purchase(
            customer_id=ids["c4"],
            team_id=team,
            purchased_on=date(2026, 11, 22),  # a sale recorded late, for yesterday
            amount=Decimal(10),
            created_at=LATER,
        )
    )


async def _follow_up(session: AsyncSession, team: int, ids: dict[str, int]) -> None:
    session.add(Task(team_id=team, owner_id=AMY, due_on=date(2026, 11, 21), text="late", created_at=LATER))


async def _follow_up_done(session: AsyncSession, team: int, ids: dict[str, int]) -> None:
    await session.exec(update(Task).where(col(Task.text) == "call").values(done_at=LATER))


async def _outcome(session: AsyncSession, team: int, ids: dict[str, int]) -> None:
    session.add(
        Outcome(
            team_id=team,
            customer_id=ids["c3"],
            user_id=AMY,
            playbook="objection",
            kind="objection",
            type="price",
            method="yes_but",
            result="won",
            created_at=LATER,
        )
    )


async def _complaint_resolved(session: AsyncSession, team: int, ids: dict[str, int]) -> None:
    await session.exec(
        update(Outcome)
        .where(col(Outcome.kind) == "complaint", col(Outcome.resolved_at).is_(None))
        .values(resolved_at=LATER)
    )


async def _run_finished(session: AsyncSession, team: int, ids: dict[str, int]) -> None:
    session.add(
        PlaybookRun(
            team_id=team,
            customer_id=ids["c1"],
            user_id=BOB,
            playbook="qualify",
            status="done",
            step="end",
            ended_at=LATER,
        )
    )


async def _care_sent(session: AsyncSession, team: int, ids: dict[str, int]) -> None:
    await session.exec(
        update(OutboxMessage).where(col(OutboxMessage.key) == "k7").values(status="planned", updated_at=LATER)
    )


async def _care_for_review(session: AsyncSession, team: int, ids: dict[str, int]) -> None:
    session.add(_care_row(team, ids, "new-review", "review"))


async def _currency(session: AsyncSession, team: int, ids: dict[str, int]) -> None:
    found = await session.get(Team, team)
    assert found is not None
    found.settings = {**found.settings, "currency": "US$"}
    session.add(found)


async def _renamed(session: AsyncSession, team: int, ids: dict[str, int]) -> None:
    await session.exec(update(User).where(col(User.telegram_id) == BOB).values(name="Robert"))


async def _left(session: AsyncSession, team: int, ids: dict[str, int]) -> None:
    await session.exec(
        update(Membership).where(col(Membership.user_id) == BOB).values(active=False, left_at=LATER)
    )


def _care_row(team: int, ids: dict[str, int], key: str, status: str) -> OutboxMessage:
    return OutboxMessage(
        key=key,
        team_id=team,
        customer_id=ids["c1"],
        rep_id=AMY,
        occasion="birthday",
        day=date(2026, 11, 28),
        channel="telegram",
        chat_id=1,
        text="hi",
        status=status,
        due_at=LATER + timedelta(days=5),
        created_at=LATER,
        updated_at=LATER,
    )


WRITES: dict[str, Write] = {
    "a note": _note,
    "a card changed": _card,
    "a purchase": _purchase,
    "a follow-up": _follow_up,
    "a follow-up done": _follow_up_done,
    "an objection's outcome": _outcome,
    "a complaint resolved": _complaint_resolved,
    "a playbook finished": _run_finished,
    "a message approved": _care_sent,
    "a message waiting for review": _care_for_review,
    "the team's currency": _currency,
    "a member renamed": _renamed,
    "a member left": _left,
}


@pytest.mark.parametrize("write", list(WRITES))
async def test_a_stored_digest_is_fresh_until_something_it_shows_is_written(
    engine: AsyncEngine, write: str
) -> None:
    team_id, _, ids = await _data(engine)
    await _snapshot_and_store(engine, team_id, now=NOW)
    assert await _fresh(engine, team_id, now=LATER), "nothing written since"
    async with transaction(make_session_factory(engine)) as session:
        await WRITES[write](session, team_id, ids)
    assert not await _fresh(engine, team_id, now=LATER + timedelta(minutes=1)), write


async def test_writes_that_change_no_figure_leave_it_fresh(engine: AsyncEngine) -> None:
    team_id, other_id, ids = await _data(engine)
    await _snapshot_and_store(engine, team_id, now=NOW)
    async with transaction(make_session_factory(engine)) as session:
        session.add(_care_row(team_id, ids, "planned-later", "planned"))  # the planner's next week
        session.add(
            Note(customer_id=ids["o1"], team_id=other_id, author_id=OTHER, text="x", created_at=LATER)
        )
    assert await _fresh(engine, team_id, now=LATER + timedelta(minutes=1))


async def test_a_write_stamped_just_before_the_build_counts_as_after_it(engine: AsyncEngine) -> None:
    team_id, _, ids = await _data(engine)
    built = await _snapshot_and_store(engine, team_id, now=NOW)
    async with transaction(make_session_factory(engine)) as session:  # stamped before, committed after
        session.add(Note(customer_id=ids["c1"], team_id=team_id, author_id=AMY, text="x", created_at=NOW))
    assert not await _fresh(engine, team_id, now=LATER)
    async with transaction(make_session_factory(engine)) as session:
        stored = (await session.exec(select(DigestBuild))).one()
        assert not await svc.is_fresh(session, stored, now=LATER)
        assert stored.built_at == built.built_at


async def test_valid_until_is_the_moment_time_alone_changes_the_figures(engine: AsyncEngine) -> None:
    team_id, _, _ = await _data(engine)
    async with transaction(make_session_factory(engine)) as session:
        at_midnight = await svc.snapshot(
            session, team_id=team_id, kind="day", reader=LEAD, language="zh", now=NOW
        )
    # Midnight in Shanghai comes before any customer falls behind, or any shown number of days changes.
    assert at_midnight.valid_until == datetime(2026, 11, 23, 16, 0, tzinfo=NOW.tzinfo)

    async with transaction(make_session_factory(engine)) as session:  # A: every 14 days, behind after 15
        session.add(
            Customer(
                team_id=team_id,
                owner_id=BOB,
                name="soon",
                stage="contact",
                grade="A",
                optin_code="code-soon",
                created_at=NOW - timedelta(days=40),
                last_contact_at=NOW - timedelta(days=15) + timedelta(hours=1),
                updated_at=NOW - timedelta(days=1),
            )
        )
    crossing = NOW + timedelta(hours=1)

    async def at(moment: datetime) -> svc.Snapshot:
        async with transaction(make_session_factory(engine)) as session:
            return await svc.snapshot(
                session, team_id=team_id, kind="day", reader=LEAD, language="zh", now=moment
            )

    before, just_before, after = await at(NOW), await at(crossing - timedelta(seconds=1)), await at(crossing)
    assert before.valid_until == crossing
    behind = {r.name: r.behind for r in before.digest.reps}
    assert {r.name: r.behind for r in just_before.digest.reps} == behind, "nothing moves before it"
    assert {r.name: r.behind for r in after.digest.reps} == {**behind, "Bob": behind["Bob"] + 1}
    assert after.digest.quiet_a.total == before.digest.quiet_a.total + 1
    assert after.valid_until > crossing
    await _snapshot_and_store(engine, team_id, now=NOW)
    assert await _fresh(engine, team_id, now=crossing - timedelta(seconds=1))
    assert not await _fresh(engine, team_id, now=crossing)


async def test_a_build_is_kept_per_reader_key_and_only_leads_and_admins_read_it(engine: AsyncEngine) -> None:
    team_id, other_id, _ = await _data(engine)
    built = await _snapshot_and_store(engine, team_id, now=NOW)
    assert built.key == svc.Key(team_id, date(2026, 11, 23), "Asia/Shanghai", "zh")
    lead, admin = Actor(LEAD, Role.LEAD, team_id), Actor(900, Role.ADMIN, None, True)
    async with transaction(make_session_factory(engine)) as session:
        assert await svc.fresh_for(session, admin, team_id=team_id, language="zh", now=LATER) is not None
        assert await svc.fresh_for(session, lead, team_id=team_id, language="en", now=LATER) is None
        for who in (Actor(AMY, Role.REP, team_id), Actor(OTHER, Role.LEAD, other_id)):
            with pytest.raises(NotAllowed):
                await svc.fresh_for(session, who, team_id=team_id, language="zh", now=LATER)

    older = svc.Built(built.key, {"old": True}, b"old", NOW - timedelta(hours=1), LATER, built.fingerprint)
    async with transaction(make_session_factory(engine)) as session:
        await svc.store(session, older)  # a slower build that started earlier finishes last
        kept = (await session.exec(select(DigestBuild))).all()
    assert [(b.payload, b.chart) for b in kept] == [(built.payload, b"png")], "the later build stays"


def _digest_row(team_id: int, due: datetime) -> dict[str, Any]:
    return outbox.new_row(
        key=f"digest:{LEAD}:{due.date().isoformat()}",
        team_id=team_id,
        customer_id=None,
        rep_id=LEAD,
        occasion=svc.DIGEST,
        day=due.date(),
        channel="telegram",
        chat_id=LEAD,
        language="zh",
        text="",
        due_at=due,
        now=NOW,
    )


async def test_a_digest_row_is_claimed_only_once_it_has_a_build(engine: AsyncEngine) -> None:
    team_id, _, _ = await _data(engine)
    sessions = make_session_factory(engine)
    async with transaction(sessions) as session:
        await session.exec(update(OutboxMessage).values(status="sent"))  # the data set's own rows
        await outbox.insert_new(session, [_digest_row(team_id, NOW - timedelta(minutes=1))])
    async with transaction(sessions) as session:
        assert await outbox.claim(session, now=NOW, worker="w", limit=10) == []
        waiting = await svc.waiting(session, now=NOW, ahead=timedelta(minutes=30))
    assert [(w.reader, w.key.language, w.build_id) for w in waiting] == [(LEAD, "zh", None)]
    async with transaction(sessions) as session:
        assert not await svc.usable(session, waiting[0], now=NOW, refresh=timedelta(minutes=5))
    built = await _snapshot_and_store(engine, team_id, now=NOW)
    async with transaction(sessions) as session:
        assert await svc.usable(session, waiting[0], now=NOW, refresh=timedelta(minutes=5)), "links it"
    async with transaction(sessions) as session:
        claimed = await outbox.claim(session, now=NOW, worker="w", limit=10)
        found = await svc.ready(session, claimed[0])
    assert [r.occasion for r in claimed] == [svc.DIGEST]
    assert found is not None and (found.chat_id, found.in_group, found.chart) == (LEAD, False, built.chart)


async def test_builds_of_days_long_gone_are_deleted_and_their_rows_let_go(engine: AsyncEngine) -> None:
    team_id, _, _ = await _data(engine)
    sessions = make_session_factory(engine)
    async with transaction(sessions) as session:
        await session.exec(update(OutboxMessage).values(status="sent"))
        await outbox.insert_new(session, [_digest_row(team_id, NOW - timedelta(minutes=1))])
    await _snapshot_and_store(engine, team_id, now=NOW)
    async with transaction(sessions) as session:
        waiting = await svc.waiting(session, now=NOW, ahead=timedelta(0))
        await svc.usable(session, waiting[0], now=NOW, refresh=timedelta(minutes=5))
    async with transaction(sessions) as session:
        assert await svc.tidy_builds(session, now=NOW + timedelta(days=2)) == 0, "kept a few days"
    async with transaction(sessions) as session:
        assert await svc.tidy_builds(session, now=NOW + timedelta(days=svc.KEEP_DAYS + 1)) == 1
    async with transaction(sessions) as session:
        rows = (
            await session.exec(select(OutboxMessage).where(col(OutboxMessage.occasion) == "digest"))
        ).all()
    assert [r.build_id for r in rows] == [None], "built again if it is still to go"
