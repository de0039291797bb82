"""An update is confirmed to Telegram only once handled, and recorded with its first commit."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update

from bot.config import Settings
from bot.domain.errors import Busy
from bot.i18n import catalogue
from bot.runtime import Runtime
from bot.storage.db import make_session_factory
from bot.storage.models import HandledUpdate, User
from bot.telegram.delivery import ConfirmAfterHandling, OncePerUpdate
from tests.conftest import FakeClock

BOT = 6161616161


def _services(engine: AsyncEngine, clock: FakeClock) -> Runtime:
    sessions = make_session_factory(engine)
    return Runtime(settings=Settings(), sessions=sessions, catalogue=catalogue(), clock=clock)


async def _handled(services: Runtime) -> list[int]:
    async def load(session: AsyncSession) -> list[int]:
        return [r.update_id for r in (await session.exec(select(HandledUpdate))).all()]

    return sorted(await services.db(load, handles_update=False))


async def test_put_returns_only_once_the_update_was_handled() -> None:
    queue = ConfirmAfterHandling()
    putting = asyncio.ensure_future(queue.put("update 1"))
    await asyncio.sleep(0)
    assert await queue.get() == "update 1"
    await asyncio.sleep(0.01)
    assert not putting.done(), "taken, but not handled yet"
    queue.task_done()
    await asyncio.wait_for(putting, 1)


async def test_the_first_commit_records_the_update_and_a_failed_one_does_not(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    services = _services(engine, clock)
    processor = OncePerUpdate(services, BOT)
    await processor.initialize()

    async def add_user(session: AsyncSession) -> None:
        session.add(User(telegram_id=42, name="王芳"))

    async def fails(session: AsyncSession) -> None:
        session.add(User(telegram_id=43, name="Tom"))
        raise ValueError("a bug")

    async def handle(update_id: int, *work: Any) -> None:
        async def run() -> None:
            for step in work:
                await services.db(step)

        await processor.process_update(Update(update_id), run())

    with pytest.raises(ValueError):
        await handle(7, fails)
    assert await _handled(services) == [], "nothing committed: not handled"
    await handle(8, add_user, _second)
    assert await _handled(services) == [8]

    # A new process (as after a kill) passes over what the old one handled, and only that.
    later = OncePerUpdate(services, BOT)
    await later.initialize()
    ran: list[int] = []

    async def note(update_id: int) -> None:
        ran.append(update_id)

    for update_id in (7, 8, 9):
        await later.process_update(Update(update_id), note(update_id))
    assert ran == [7, 9]


async def _second(session: AsyncSession) -> None:
    """A second transaction of the same update (it does not record the update again)."""


async def test_records_older_than_telegram_keeps_updates_are_forgotten(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    services = _services(engine, clock)
    processor = OncePerUpdate(services, BOT)
    await processor.initialize()

    async def touch(session: AsyncSession) -> None:
        session.add(User(telegram_id=44, name="Li"))

    async def run() -> None:
        await services.db(touch)

    await processor.process_update(Update(11), run())
    clock.advance(days=3)
    assert await _handled(services) == [11]
    await OncePerUpdate(services, BOT).initialize()
    assert await _handled(services) == []


class _Unreachable:
    """A runtime whose database is out of reach."""

    def now(self) -> Any:
        return None

    async def db(self, work: Any, *, handles_update: bool = True) -> Any:
        raise Busy()


async def test_an_unreachable_database_does_not_stop_updates_being_taken() -> None:
    processor = OncePerUpdate(_Unreachable(), BOT)  # type: ignore[arg-type]
    processor._before = 100  # as if earlier processes had handled updates up to 100
    ran: list[int] = []

    async def handle(update_id: int) -> None:
        ran.append(update_id)

    await processor.process_update(Update(50), handle(50))
    assert ran == [50], "handled (and the handling tells the user the database is busy)"
