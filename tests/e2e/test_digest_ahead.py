"""The daily digest built ahead: built before the lead's hour, sent as built, and what `/digest`
shows while nothing changed; built again when something did, or for another period.

The runtime's digest builder is wrapped in a counter (the wiring's own, not a patch), so
each test sees exactly when a digest was built and when it was only sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.console.driver import Driver, running_bot
from bot.scheduling.digests import build_due
from bot.scheduling.dispatcher import Dispatcher
from bot.scheduling.jobs import plan_now
from bot.services.digest import Built, DigestBuilder
from bot.storage.models import DigestBuild, OutboxMessage
from botapi_standin import SentMessage
from tests.conftest import FakeClock
from tests.e2e.world import LEAD, OTHER_LEAD, REP, add_customer, build_world, texts

# The team is set up at 10:00 in Shanghai on 22 November; the digests of the 23rd are due
# at 08:00 there (00:00 UTC) and built from 07:30.
SET_UP = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
PLANNED = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)  # 07:00 in Shanghai
BUILT = datetime(2026, 11, 22, 23, 35, tzinfo=UTC)  # 07:35
DUE = datetime(2026, 11, 23, 0, 0, 5, tzinfo=UTC)  # 08:00:05


@dataclass
class CountingBuilder:
    """The wiring's real digest builder, counting what it is asked to build."""

    real: DigestBuilder
    calls: list[tuple[int, str, int | None, str]] = field(default_factory=list)

    async def __call__(
        self, *, team_id: int, kind: str, reader: int | None, language: str, now: datetime
    ) -> Built:
        self.calls.append((team_id, kind, reader, language))
        return await self.real(team_id=team_id, kind=kind, reader=reader, language=language, now=now)


def _counting(bot: Driver) -> CountingBuilder:
    real = bot.services.digest_builder
    assert real is not None
    counting = CountingBuilder(real)
    bot.services.digest_builder = counting
    return counting


def _shown(messages: list[SentMessage]) -> list[tuple[Any, ...]]:
    """What a reader sees of each message, exactly as sent: kind, text or caption, buttons, picture."""
    return [(m.kind, m.text, m.parse_mode, m.reply_markup, m.file_bytes) for m in messages]


def _digest_of(messages: list[SentMessage]) -> list[SentMessage]:
    """The last digest among a chat's messages: its chart and the texts after it."""
    start = max(i for i, m in enumerate(messages) if m.kind == "photo")
    return messages[start:]


def _as_built(built: Built) -> list[tuple[Any, ...]]:
    """What sending a build shows, to compare with what the reader got."""
    payload = built.payload
    messages = payload["messages"]
    out: list[tuple[Any, ...]] = [("photo", payload["caption"], None, None, built.chart)]
    for index, text in enumerate(messages):
        markup = payload["markup"] if index == len(messages) - 1 else None
        out.append(("text", text, "HTML", markup, None))
    return out


async def _sale(bot: Driver, rep: int, name: str, amount: str) -> int:
    cid = await add_customer(bot, rep, name)
    await bot.send(rep, name)
    await bot.press(rep, "成交")
    await bot.send(rep, amount)
    await bot.press(rep, "跳过")
    await bot.send(rep, "今天")
    return cid


async def _team_with_a_day_behind_it(bot: Driver, clock: FakeClock) -> int:
    """Everyone onboarded and a sale on the 22nd; the digests of the 23rd planned at 07:00."""
    clock.current = SET_UP
    world = await build_world(bot)
    await _sale(bot, REP, "张伟", "1.5万")
    clock.current = PLANNED
    await plan_now(bot.services)
    return world.team


def _dispatcher(bot: Driver) -> Dispatcher:
    return Dispatcher(bot.services, bot.app.bot, per_chat=0.0)


async def test_a_digest_built_ahead_is_sent_once_and_is_what_digest_then_shows(
    bot: Driver, clock: FakeClock
) -> None:
    team = await _team_with_a_day_behind_it(bot, clock)
    builder = _counting(bot)
    clock.current = BUILT
    assert await build_due(bot.services) == 2
    assert sorted(builder.calls) == [(team, "day", LEAD, "zh"), (team + 1, "day", OTHER_LEAD, "zh")]
    assert not [m for m in bot.standin.messages(LEAD) if m.kind == "photo"], "built, not sent"

    clock.current = DUE
    dispatcher = _dispatcher(bot)
    await dispatcher.run_once()
    assert len(builder.calls) == 2, "the dispatcher's pass built nothing"
    sent = _digest_of(bot.standin.messages(LEAD))
    assert "2026-11-22 日报" in texts(sent) and "共 1 位客户" in texts(sent)
    await dispatcher.drain()
    await plan_now(bot.services)
    await dispatcher.drain()
    photos = [m for m in bot.standin.messages(LEAD) if m.kind == "photo"]
    assert len(photos) == 1, "sent once"

    clock.advance(minutes=10)
    shown = await bot.send(LEAD, "/digest")
    assert len(builder.calls) == 2, "/digest answered from the build"
    assert _shown(shown) == _shown(sent), "the same texts, buttons and chart bytes"
    fresh = await builder.real(team_id=team, kind="day", reader=LEAD, language="zh", now=clock())
    assert _shown(shown) == _as_built(fresh), "byte for byte what a fresh build gives"


async def test_a_change_in_the_team_or_its_settings_builds_the_digest_again(
    bot: Driver, clock: FakeClock
) -> None:
    team = await _team_with_a_day_behind_it(bot, clock)
    builder = _counting(bot)
    clock.current = BUILT
    await build_due(bot.services)
    clock.current = DUE
    await _dispatcher(bot).drain()
    built = len(builder.calls)

    clock.advance(minutes=20)
    await add_customer(bot, REP, "陈静")  # the pipeline has one more customer now
    clock.advance(minutes=5)
    shown = await bot.send(LEAD, "/digest")
    assert len(builder.calls) == built + 1, "stale: built again"
    assert "共 2 位客户" in texts(shown)
    fresh = await builder.real(team_id=team, kind="day", reader=LEAD, language="zh", now=clock())
    assert _shown(shown) == _as_built(fresh)
    clock.advance(minutes=5)
    again = await bot.send(LEAD, "/digest")
    assert len(builder.calls) == built + 1, "the new build is kept and answers the next /digest"
    assert _shown(again) == _shown(shown)

    await bot.press(LEAD, "简报设置")
    await bot.press(LEAD, "US$")  # ⚙️: the team's currency
    body = texts(await bot.send(LEAD, "/digest"))
    assert len(builder.calls) == built + 2, "a settings change makes it stale at once"
    assert "US$15,000.00" in body and "¥" not in body

    await bot.send(LEAD, "/language")
    await bot.press(LEAD, "English")
    body = texts(await bot.send(LEAD, "/digest"))
    assert builder.calls[-1] == (team, "day", LEAD, "en"), "built in the lead's language"
    assert "daily digest for 2026-11-22" in body and "US$15,000.00" in body


async def test_another_period_is_built_on_demand_and_the_day_stays_as_built(
    bot: Driver, clock: FakeClock
) -> None:
    team = await _team_with_a_day_behind_it(bot, clock)
    builder = _counting(bot)
    clock.current = BUILT
    await build_due(bot.services)
    clock.current = DUE
    await _dispatcher(bot).drain()
    built = len(builder.calls)
    clock.advance(minutes=10)

    week = await bot.send(LEAD, "/report week")
    assert builder.calls[built:] == [(team, "week", LEAD, "zh")] and "周报" in texts(week)
    await bot.send(LEAD, "/report month")
    await bot.send(LEAD, "/report week")
    assert [c[1] for c in builder.calls[built:]] == ["week", "month", "week"], "a report is never kept"
    await bot.send(LEAD, "/digest")
    assert len(builder.calls) == built + 3, "the day's digest is still the one built ahead"


async def test_the_dispatcher_pass_never_builds_a_digest_the_builder_job_does(
    bot: Driver, clock: FakeClock
) -> None:
    team = await _team_with_a_day_behind_it(bot, clock)
    builder = _counting(bot)
    clock.current = DUE  # nothing ran before the hour (the bot was down): nothing is built yet
    dispatcher = _dispatcher(bot)
    await dispatcher.run_once()
    assert builder.calls == []
    assert not [m for m in bot.standin.messages(LEAD) if m.kind == "photo"], "it waits for its build"

    assert await build_due(bot.services) == 2
    await dispatcher.run_once()
    assert len(builder.calls) == 2, "only the builder job built"
    assert [m.kind for m in bot.standin.messages(LEAD)].count("photo") == 1

    async def rows(session):  # type: ignore[no-untyped-def]
        found = await session.exec(
            select(OutboxMessage).where(
                col(OutboxMessage.occasion) == "digest", col(OutboxMessage.team_id) == team
            )
        )
        return [(r.day.isoformat(), r.status, r.build_id is not None) for r in found.all()]

    assert ("2026-11-23", "sent", True) in await bot.services.db(rows)


async def test_a_restart_between_building_and_sending_sends_the_built_digest_once(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    async with running_bot(engine=engine, clock=clock) as bot:
        team = await _team_with_a_day_behind_it(bot, clock)
        clock.current = BUILT
        assert await build_due(bot.services) == 2

    async def stored(session):  # type: ignore[no-untyped-def]
        return {b.team_id: b.chart for b in (await session.exec(select(DigestBuild))).all()}

    clock.current = DUE
    async with running_bot(engine=engine, clock=clock) as bot:  # a new process, a new stand-in
        charts = await bot.services.db(stored)
        for uid, name in [(LEAD, "李娜"), (OTHER_LEAD, "Olga"), (REP, "王芳")]:
            bot.user(uid, name)
            await bot.send(uid, "/start")
        builder = _counting(bot)
        await _dispatcher(bot).drain()
        await _dispatcher(bot).drain()
        assert builder.calls == [], "what was built before the restart went out"
        photos = [m for m in bot.standin.messages(LEAD) if m.kind == "photo"]
        assert [p.file_bytes for p in photos] == [charts[team]], "once, as built"
