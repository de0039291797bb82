"""The outbox's state machine on a real database: planning once, claiming once, leases, outcomes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.scheduling import outbox
from bot.storage.db import make_session_factory, transaction
from bot.storage.models import OutboxMessage, Team

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


async def _team(engine: AsyncEngine) -> int:
    async with transaction(make_session_factory(engine)) as session:
        team = Team(name="Outbox")
        session.add(team)
        await session.flush()
        assert team.id is not None
        return team.id


def _row(team_id: int, n: int, *, due: datetime = NOW, status: str = "planned") -> dict[str, object]:
    return outbox.new_row(
        key=f"rep:{n}:{due.date().isoformat()}",
        team_id=team_id,
        customer_id=None,
        rep_id=1000 + n,
        occasion=outbox.AGENDA,
        day=due.date(),
        channel="telegram",
        chat_id=1000 + n,
        language="zh",
        text=f"message {n}",
        due_at=due,
        now=NOW,
        status=status,
    )


async def _rows(engine: AsyncEngine) -> list[OutboxMessage]:
    async with transaction(make_session_factory(engine)) as session:
        return list((await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all())


async def test_planning_a_key_twice_keeps_the_first_row(engine: AsyncEngine) -> None:
    team_id = await _team(engine)
    sessions = make_session_factory(engine)
    async with transaction(sessions) as session:
        await outbox.insert_new(session, [_row(team_id, 1), _row(team_id, 2)])
    again = {**_row(team_id, 1), "text": "planned again"}
    async with transaction(sessions) as session:
        await outbox.insert_new(session, [again])
    assert [r.text for r in await _rows(engine)] == ["message 1", "message 2"]


async def test_due_rows_are_claimed_once_in_order_and_a_lapsed_send_fails(engine: AsyncEngine) -> None:
    team_id = await _team(engine)
    sessions = make_session_factory(engine)
    later = NOW + timedelta(hours=1)
    async with transaction(sessions) as session:
        await outbox.insert_new(
            session,
            [_row(team_id, 1, due=NOW - timedelta(minutes=5)), _row(team_id, 2), _row(team_id, 3, due=later)],
        )
    async with transaction(sessions) as session:
        first = await outbox.claim(session, now=NOW, worker="a", limit=10)
    async with transaction(sessions) as session:
        second = await outbox.claim(session, now=NOW, worker="b", limit=10)
    assert [r.text for r in first] == ["message 1", "message 2"]  # the earliest due first; not yet due left
    assert second == []
    one, two = first
    async with transaction(sessions) as session:
        assert await outbox.start_sending(session, outbox_id=one.id or 0, worker="a", now=NOW)
        assert not await outbox.start_sending(session, outbox_id=two.id or 0, worker="b", now=NOW)
    async with transaction(sessions) as session:  # both leases run out: one was mid-send, one never tried
        assert await outbox.recover(session, now=NOW + outbox.LEASE + timedelta(seconds=1)) == 2
    by_text = {r.text: r for r in await _rows(engine)}
    assert (by_text["message 1"].status, by_text["message 1"].reason) == ("failed", "interrupted")
    assert by_text["message 2"].status == "planned"


async def test_a_review_row_is_asked_about_once(engine: AsyncEngine) -> None:
    team_id = await _team(engine)
    sessions = make_session_factory(engine)
    async with transaction(sessions) as session:
        await outbox.insert_new(session, [_row(team_id, 1, due=NOW + timedelta(hours=3), status="review")])
    async with transaction(sessions) as session:
        asked = await outbox.claim_reviews(session, now=NOW, limit=10)
    async with transaction(sessions) as session:
        again = await outbox.claim_reviews(session, now=NOW, limit=10)
        nothing_due = await outbox.claim(session, now=NOW + timedelta(hours=4), worker="a", limit=10)
    assert [r.text for r in asked] == ["message 1"]
    assert again == [] and nothing_due == []


async def test_network_errors_retry_with_backoff_then_fail(engine: AsyncEngine) -> None:
    team_id = await _team(engine)
    sessions = make_session_factory(engine)
    async with transaction(sessions) as session:
        await outbox.insert_new(session, [_row(team_id, 1)])
    moment = NOW
    for attempt in range(1, len(outbox.RETRY_DELAYS) + 2):
        async with transaction(sessions) as session:
            (row,) = await outbox.claim(session, now=moment, worker="a", limit=1)
            assert row.attempts == attempt
            await outbox.retry_later(
                session, outbox_id=row.id or 0, now=moment, delay=outbox.backoff(attempt), reason="timed out"
            )
        moment += timedelta(seconds=outbox.backoff(attempt))
    (row,) = await _rows(engine)
    assert (row.status, row.reason) == ("failed", "timed out")
    assert date(2026, 11, 23) == row.day
