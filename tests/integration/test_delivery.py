"""Every update confirmed to Telegram is stored first, handled at the next start if it was
not, and applied once however many times it arrives."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot, Update

from bot.config import Settings
from bot.domain.errors import Busy
from bot.i18n import catalogue
from bot.runtime import Runtime
from bot.services import received_updates
from bot.storage.db import make_session_factory
from bot.storage.models import HandledUpdate, ReceivedUpdate, User
from bot.telegram.delivery import Deliveries, StoreOnReceipt
from bot.telegram.ordering import OrderedUpdateProcessor
from tests.conftest import FakeClock

BOT = 6161616161
ANN, BEN = 41, 42
GUARD = 30.0  # seconds: only turns a hang into a failure


def _services(engine: AsyncEngine, clock: FakeClock) -> Runtime:
    sessions = make_session_factory(engine)
    return Runtime(settings=Settings(), sessions=sessions, catalogue=catalogue(), clock=clock)


def _update(update_id: int, user_id: int = ANN, text: str = "hi") -> Update:
    """A text message from a user, as Telegram sends it."""
    chat = {"id": user_id, "type": "private", "first_name": "U"}
    sender = {"id": user_id, "is_bot": False, "first_name": "U"}
    message = {"message_id": update_id, "date": 1764835200, "chat": chat, "from": sender, "text": text}
    return Update.de_json({"update_id": update_id, "message": message}, None)


async def _processor(services: Runtime) -> OrderedUpdateProcessor:
    """The processor of a new `salesbot run` process."""
    processor = OrderedUpdateProcessor(4, deliveries=Deliveries(services, BOT))
    await processor.initialize()
    return processor


async def _ids(services: Runtime, model: type[Any]) -> list[int]:
    async def load(session: AsyncSession) -> list[int]:
        return [r.update_id for r in (await session.exec(select(model))).all()]

    return sorted(await services.db(load, handles_update=False))


async def _add_user(session: AsyncSession) -> None:
    session.add(User(telegram_id=42, name="王芳"))


async def _second(session: AsyncSession) -> None:
    """A second transaction of the same update (it does not record the update again)."""


async def test_put_stores_the_update_once_and_queues_it_without_waiting_for_its_handling(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    services = _services(engine, clock)
    queue = StoreOnReceipt(services, BOT)
    await asyncio.wait_for(queue.put(_update(5, text="张伟")), GUARD)  # nobody takes it: no wait
    await queue.put(_update(5, text="张伟"))  # Telegram delivering it again
    assert queue.qsize() == 2
    assert await _ids(services, ReceivedUpdate) == [5]
    stored = await services.db(lambda s: received_updates.unhandled(s, bot_id=BOT), handles_update=False)
    assert Update.de_json(stored[0], None).message.text == "张伟"  # type: ignore[union-attr]


async def test_the_first_commit_records_the_update_and_one_that_commits_nothing_is_marked_after(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    services = _services(engine, clock)
    processor = await _processor(services)

    async def handle(update_id: int, *work: Any) -> None:
        async def run() -> None:
            for step in work:
                await services.db(step)

        await processor.process_update(_update(update_id), run())

    await handle(8, _add_user, _second)
    assert await _ids(services, HandledUpdate) == [8], "recorded with its first commit"
    await handle(9)  # reads only (a search, /help): marked right after, in a write of its own
    await processor.shutdown()  # waits for that write
    assert await _ids(services, HandledUpdate) == [8, 9]


async def test_an_update_killed_mid_handling_is_handled_by_the_next_process_once_and_a_later_one_is_not(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    services = _services(engine, clock)
    queue = StoreOnReceipt(services, BOT)
    first = await _processor(services)
    slow, started = _update(7, ANN), asyncio.Event()

    async def never_finishes() -> None:
        started.set()
        await asyncio.Event().wait()

    async def adds_user() -> None:
        await services.db(_add_user)

    await queue.put(slow)
    await queue.put(later := _update(8, BEN))
    in_flight = asyncio.ensure_future(first.process_update(slow, never_finishes()))
    await asyncio.wait_for(started.wait(), GUARD)
    await asyncio.wait_for(first.process_update(later, adds_user()), GUARD)  # BEN does not wait for ANN
    in_flight.cancel()  # the process dies: no shutdown, nothing marked
    with pytest.raises(asyncio.CancelledError):
        await in_flight
    assert await _ids(services, HandledUpdate) == [8]

    second = await _processor(services)
    assert second.deliveries is not None
    replayed = await second.deliveries.unhandled(Bot("1:x"))
    assert [u.update_id for u in replayed] == [7]
    ran: list[int] = []

    async def note(update_id: int) -> None:
        ran.append(update_id)

    # The stored copy of 7, then Telegram's copies of 7 and 8 (as if they were never confirmed).
    for update in (replayed[0], _update(7, ANN), _update(8, BEN)):
        await asyncio.wait_for(second.process_update(update, note(update.update_id)), GUARD)
    assert ran == [7]
    await second.shutdown()
    assert await _ids(services, HandledUpdate) == [7, 8]
    assert await second.deliveries.unhandled(Bot("1:x")) == []


async def test_two_copies_of_one_update_arriving_together_are_applied_once(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    services = _services(engine, clock)
    processor = await _processor(services)
    copies = [_update(12), _update(12)]
    await asyncio.wait_for(
        asyncio.gather(*(processor.process_update(u, services.db(_add_user)) for u in copies)), GUARD
    )
    assert await _ids(services, HandledUpdate) == [12]
    await processor.shutdown()


async def test_handled_and_old_stored_updates_are_dropped_and_old_records_forgotten(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    services = _services(engine, clock)
    queue = StoreOnReceipt(services, BOT)
    processor = await _processor(services)
    await queue.put(handled := _update(11))
    await processor.process_update(handled, services.db(_add_user))
    await queue.put(_update(12, BEN))  # never handled
    await services.db(lambda s: received_updates.forget_handled(s, now=services.now()))
    assert await _ids(services, ReceivedUpdate) == [12], "handled: dropped"
    clock.advance(days=3)
    await services.db(lambda s: received_updates.forget_handled(s, now=services.now()))
    assert await _ids(services, ReceivedUpdate) == [], "Telegram could not send it again anyway"
    assert await _ids(services, HandledUpdate) == [11]
    await Deliveries(services, BOT).initialize()
    assert await _ids(services, HandledUpdate) == []
    await processor.shutdown()


class _Unreachable:
    """A runtime whose database is out of reach."""

    def now(self) -> Any:
        return None

    async def db(self, work: Any, *, handles_update: bool = True) -> Any:
        raise Busy()


async def test_an_unreachable_database_does_not_stop_updates_being_taken(
    caplog: pytest.LogCaptureFixture,
) -> None:
    services: Any = _Unreachable()
    queue = StoreOnReceipt(services, BOT)
    deliveries = Deliveries(services, BOT)
    deliveries._before = 100  # as if earlier processes had handled updates up to 100
    processor = OrderedUpdateProcessor(4, deliveries=deliveries)
    ran: list[int] = []

    async def handle(update_id: int) -> None:
        ran.append(update_id)

    await queue.put(update := _update(50))
    assert queue.qsize() == 1, "queued although it could not be stored"
    await processor.process_update(update, handle(50))
    assert ran == [50], "handled (and the handling tells the user the database is busy)"
    await processor.shutdown()
    assert "could not mark updates [50] handled" in caplog.text
