"""The daily practice reminder through the real bot: set in the chat, planned into the outbox,
sent by the dispatcher at the rep's time, once a day, never in quiet hours, and only when
there is something to practise and they have not practised yet that day."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import col, select

from bot.console.driver import Driver
from bot.domain.access import Actor, Role
from bot.scheduling import outbox
from bot.scheduling.dispatcher import Dispatcher
from bot.scheduling.jobs import plan_now
from bot.services import team as team_service
from bot.storage.models import OutboxMessage, PracticeReview
from tests.conftest import FakeClock
from tests.e2e.world import LEAD, REP, REP2, build_world, texts

LANGS = ["zh", "en"]


async def _reminders(bot: Driver, user: int) -> list[OutboxMessage]:
    async def load(session):  # type: ignore[no-untyped-def]
        found = await session.exec(
            select(OutboxMessage)
            .where(col(OutboxMessage.occasion) == outbox.PRACTICE, col(OutboxMessage.rep_id) == user)
            .order_by(col(OutboxMessage.id))
        )
        return list(found.all())

    return await bot.services.db(load)


async def _reviews(bot: Driver, user: int) -> list[PracticeReview]:
    async def load(session):  # type: ignore[no-untyped-def]
        found = await session.exec(select(PracticeReview).where(col(PracticeReview.user_id) == user))
        return list(found.all())

    return await bot.services.db(load)


async def _speak(bot: Driver, user: int, lang: str) -> None:
    if lang == "en":
        await bot.send(user, "/language")
        await bot.press(user, "English")


def _t(bot: Driver, lang: str, key: str, **params: Any) -> str:
    return bot.services.text(lang, key, **params)


async def _set(bot: Driver, lang: str, user: int, at: str) -> None:
    await bot.send(user, "/practice")
    await bot.press(user, _t(bot, lang, "practice.chat.set_time"))
    replies = await bot.send(user, at)
    assert _t(bot, lang, "practice.chat.reminder_set", at=f"{int(at[:-3]):02d}:{at[-2:]}") in texts(replies)


async def _run(bot: Driver, dispatcher: Dispatcher) -> None:
    """What the bot's jobs do each minute: plan what changed, send what is due."""
    await plan_now(bot.services)
    await dispatcher.drain()


@pytest.mark.parametrize("lang", LANGS)
async def test_the_reminder_comes_at_the_reps_time_once_a_day_and_opens_practice(
    bot: Driver, clock: FakeClock, lang: str
) -> None:
    await build_world(bot)
    await _speak(bot, REP, lang)
    dispatcher = Dispatcher(bot.services, bot.app.bot, per_chat=0.0)
    await _run(bot, dispatcher)  # the first, full pass: no reminder asked for yet
    assert await _reminders(bot, REP) == []
    await _set(bot, lang, REP, "20:00")
    await _run(bot, dispatcher)  # the change is planned at the next pass (a trigger marked it)
    rows = await _reminders(bot, REP)
    assert [(r.key, r.due_at, r.status) for r in rows] == [
        (f"practice:{REP}:2026-11-23:20:00", datetime(2026, 11, 23, 12, 0, tzinfo=UTC), "planned"),
        (f"practice:{REP}:2026-11-24:20:00", datetime(2026, 11, 24, 12, 0, tzinfo=UTC), "planned"),
    ]
    before = len(bot.standin.messages(REP))
    clock.current = datetime(2026, 11, 23, 11, 59, tzinfo=UTC)
    await _run(bot, dispatcher)
    assert len(bot.standin.messages(REP)) == before, "not before 20:00"
    clock.current = datetime(2026, 11, 23, 12, 0, 5, tzinfo=UTC)
    await _run(bot, dispatcher)
    await _run(bot, dispatcher)
    sent = bot.standin.messages(REP)[before:]
    drills = len(bot.services.drills.active())
    expected = _t(bot, lang, "practice.reminder.text", due=0, new=drills)
    assert texts(sent) == expected, "once, with what there is to practise"
    replies = await bot.press(REP, _t(bot, lang, "practice.chat.start", n=5))
    assert "1/5" in texts(replies), "its button starts a session"
    # Tomorrow: the day's reminder comes again, at the same time.
    clock.current = datetime(2026, 11, 24, 12, 0, 5, tzinfo=UTC)
    before = len(bot.standin.messages(REP))
    await _run(bot, dispatcher)
    assert len(bot.standin.messages(REP)) == before + 1
    assert [r.status for r in await _reminders(bot, REP)][:2] == ["sent", "sent"]


@pytest.mark.parametrize("lang", LANGS)
async def test_no_reminder_after_practising_that_day_nor_a_second_after_a_new_time(
    bot: Driver, clock: FakeClock, lang: str
) -> None:
    await build_world(bot)
    await _speak(bot, REP, lang)
    dispatcher = Dispatcher(bot.services, bot.app.bot, per_chat=0.0)
    await _set(bot, lang, REP, "20:00")
    # She practises at 10:00: one drill answered (the first choice of each of its parts).
    await bot.send(REP, "/practice")
    await bot.press(REP, _t(bot, lang, "practice.chat.start", n=5))
    assert "1/5" in texts(bot.standin.messages(REP)[-1:])
    for _ in range(8):
        if await _reviews(bot, REP):
            break
        markup = bot.standin.messages(REP)[-1].reply_markup
        assert markup is not None
        await bot.press(REP, markup["inline_keyboard"][0][0]["text"])
    assert len(await _reviews(bot, REP)) == 1
    clock.current = datetime(2026, 11, 23, 12, 0, 5, tzinfo=UTC)
    before = len(bot.standin.messages(REP))
    await _run(bot, dispatcher)
    assert len(bot.standin.messages(REP)) == before, "she practised today: no nudge"
    today = (await _reminders(bot, REP))[0]
    assert (today.day.isoformat(), today.status, today.reason) == ("2026-11-23", "skipped", "nothing_to_do")
    # The next day it goes at 20:00; she then moves it to 21:30 the same evening — in the
    # team's quiet hours (21:00–08:00), so it would be 20:30 — and gets no second one that day.
    clock.current = datetime(2026, 11, 24, 12, 0, 5, tzinfo=UTC)
    await _run(bot, dispatcher)
    assert len(bot.standin.messages(REP)) == before + 1
    await _set(bot, lang, REP, "21:30")
    told = _t(bot, lang, "practice.chat.reminder_moved", at="20:30", start=21, end=8)
    assert told in texts(bot.standin.messages(REP)[-2:]), "she is told when it will come instead"
    assert "21:00–08:00" in told
    after_setting = len(bot.standin.messages(REP))
    clock.current = datetime(2026, 11, 24, 12, 31, tzinfo=UTC)
    await _run(bot, dispatcher)
    assert len(bot.standin.messages(REP)) == after_setting, "no second reminder that day"
    rows = {r.key: r for r in await _reminders(bot, REP)}
    assert f"practice:{REP}:2026-11-24:21:30" not in rows, "that day had its reminder"
    tomorrow = rows[f"practice:{REP}:2026-11-25:21:30"]
    assert tomorrow.due_at == datetime(2026, 11, 25, 12, 30, tzinfo=UTC), "20:30: out of the quiet hours"
    assert rows[f"practice:{REP}:2026-11-25:20:00"].status == "skipped", "the old time's row is dropped"


async def test_early_times_wait_for_quiet_hours_to_end_and_off_or_removed_stops_it(
    bot: Driver, clock: FakeClock
) -> None:
    world = await build_world(bot)
    dispatcher = Dispatcher(bot.services, bot.app.bot, per_chat=0.0)
    await _set(bot, "zh", REP, "6:15")
    await _set(bot, "zh", REP2, "12:00")
    await _set(bot, "zh", LEAD, "8:30")  # over an hour ago: from tomorrow
    await _run(bot, dispatcher)
    early = {r.day.isoformat(): r for r in await _reminders(bot, REP)}
    assert list(early) == ["2026-11-24"], "today's 06:15 (08:00) has passed at 10:00"
    assert early["2026-11-24"].due_at == datetime(2026, 11, 24, 0, 0, tzinfo=UTC), "08:00, when quiet ends"
    assert [r.day.isoformat() for r in await _reminders(bot, LEAD)] == ["2026-11-24"], "a lead can have one"
    # REP turns it off; REP2 leaves the team (his lead removes him).
    await bot.send(REP, "/practice")
    await bot.press(REP, "🔕 关闭提醒")

    async def remove(session):  # type: ignore[no-untyped-def]
        lead = Actor(LEAD, Role.LEAD, world.team)
        await team_service.remove_member(session, lead, team_id=world.team, user_id=REP2, now=clock())

    await bot.services.db(remove)
    before = {user: len(bot.standin.messages(user)) for user in (REP, REP2)}
    await _run(bot, dispatcher)
    assert [r.status for r in await _reminders(bot, REP)] == ["skipped"], "turned off: dropped"
    clock.current = datetime(2026, 11, 24, 4, 0, 5, tzinfo=UTC)  # 12:00 the next day
    await _run(bot, dispatcher)
    assert {user: len(bot.standin.messages(user)) for user in (REP, REP2)} == before
    assert all(r.status == "skipped" for r in await _reminders(bot, REP2)), "no longer in the team"


async def test_a_reminder_the_bot_was_down_for_does_not_come_in_quiet_hours_or_the_next_day(
    bot: Driver, clock: FakeClock
) -> None:
    await build_world(bot)
    dispatcher = Dispatcher(bot.services, bot.app.bot, per_chat=0.0)
    await _set(bot, "zh", REP, "20:30")
    await _run(bot, dispatcher)
    before = len(bot.standin.messages(REP))
    # Down from 20:00 until 21:10: the row is due, but it is quiet hours now.
    clock.current = datetime(2026, 11, 23, 13, 10, tzinfo=UTC)
    await dispatcher.drain()
    assert len(bot.standin.messages(REP)) == before
    today = next(r for r in await _reminders(bot, REP) if r.day.isoformat() == "2026-11-23")
    assert (today.status, today.reason) == ("skipped", "nothing_to_do")
    # Down from the evening until 20:35 the next day: only that day's reminder comes.
    clock.current = datetime(2026, 11, 24, 12, 35, tzinfo=UTC)
    await _run(bot, dispatcher)
    assert len(bot.standin.messages(REP)) == before + 1
