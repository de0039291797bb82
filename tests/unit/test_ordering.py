"""The update processor: different users at once, up to a bound; one user's strictly in turn.

Updates are handed to the processor as PTB's update fetcher hands them: one task each, in
arrival order. Each "handler" here is a coroutine that records when it starts and ends and
may wait on an event, so overlap and order are proven by events, not by timing.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest
from telegram import Update

from bot.telegram.ordering import OrderedUpdateProcessor, ordering_key

CHANNEL = -1001234
HANG_GUARD = 10.0  # seconds: only turns a hang into a failure; nothing here depends on time


def message(update_id: int, user_id: int, text: str = "hi") -> Update:
    """A private text message, as Telegram sends it."""
    return Update.de_json(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 0,
                "chat": {"id": user_id, "type": "private"},
                "from": {"id": user_id, "is_bot": False, "first_name": "U"},
                "text": text,
            },
        },
        None,
    )


def channel_post(update_id: int) -> Update:
    """A channel post: a chat, no user."""
    return Update.de_json(
        {
            "update_id": update_id,
            "channel_post": {
                "message_id": update_id,
                "date": 0,
                "chat": {"id": CHANNEL, "type": "channel", "title": "news"},
                "text": "post",
            },
        },
        None,
    )


class Handlers:
    """Records which updates started and finished, in order; some wait for a release."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.finished: list[int] = []
        self.running = 0
        self.most_running = 0
        self.gates: dict[int, asyncio.Event] = {}
        self.entered: dict[int, asyncio.Event] = {}

    def hold(self, update_id: int) -> asyncio.Event:
        """Make the handler of this update wait until the returned event is set."""
        self.gates[update_id] = asyncio.Event()
        self.entered[update_id] = asyncio.Event()
        return self.gates[update_id]

    async def handle(self, update: Update, fail: bool = False) -> None:
        self.started.append(update.update_id)
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            if update.update_id in self.gates:
                self.entered[update.update_id].set()
                await self.gates[update.update_id].wait()
            await asyncio.sleep(0)  # a handler always waits for something (the database, Telegram)
            if fail:
                raise RuntimeError("handler failed")
        finally:
            self.running -= 1
            self.finished.append(update.update_id)


def feed(processor: OrderedUpdateProcessor, handlers: Handlers, *updates: Update) -> list[asyncio.Task[Any]]:
    """Hand updates to the processor as PTB's fetcher does: one task each, in arrival order."""
    return [asyncio.create_task(processor.process_update(u, handlers.handle(u))) for u in updates]


async def within(*tasks: Any) -> list[Any]:
    """Wait for tasks that must finish; a processor that wrongly holds them fails, not hangs."""
    return await asyncio.wait_for(asyncio.gather(*tasks), HANG_GUARD)


async def settle() -> None:
    """Let every task that can run, run (the handlers here wait only for events)."""
    for _ in range(20):
        await asyncio.sleep(0)


def test_updates_are_keyed_by_user_then_chat() -> None:
    assert ordering_key(message(1, 42)) == 42
    assert ordering_key(channel_post(2)) == CHANNEL
    assert ordering_key(Update(update_id=3)) is None
    assert ordering_key("not an update") is None


async def test_one_users_updates_run_in_arrival_order_one_at_a_time() -> None:
    processor, handlers = OrderedUpdateProcessor(8), Handlers()
    release = handlers.hold(1)
    tasks = feed(processor, handlers, *(message(i, 42, str(i)) for i in range(1, 6)))
    await handlers.entered[1].wait()
    await settle()
    assert handlers.started == [1]  # the others wait for the first, though slots are free
    release.set()
    await asyncio.gather(*tasks)
    assert handlers.started == handlers.finished == [1, 2, 3, 4, 5]
    assert handlers.most_running == 1


async def test_different_users_run_at_the_same_time() -> None:
    processor, handlers = OrderedUpdateProcessor(8), Handlers()
    release = handlers.hold(1)
    slow = feed(processor, handlers, message(1, 42))
    await handlers.entered[1].wait()
    # Done while user 42's update is still held:
    await within(*feed(processor, handlers, message(2, 43), message(3, 44)))
    assert handlers.finished == [2, 3] and not slow[0].done()
    release.set()
    await asyncio.gather(*slow)


async def test_at_most_the_configured_number_run_at_once() -> None:
    processor, handlers = OrderedUpdateProcessor(2), Handlers()
    releases = [handlers.hold(i) for i in (1, 2)]
    tasks = feed(processor, handlers, message(1, 41), message(2, 42), message(3, 43))
    await handlers.entered[1].wait()
    await handlers.entered[2].wait()
    await settle()
    assert handlers.started == [1, 2]  # the third user waits for a slot
    releases[0].set()
    await asyncio.gather(*tasks[:1])
    releases[1].set()
    await asyncio.gather(*tasks)
    assert handlers.started == [1, 2, 3] and handlers.most_running == 2


async def test_a_busy_users_waiting_updates_hold_no_slots() -> None:
    # Two slots; user 42 has one update running and many waiting for it.
    processor, handlers = OrderedUpdateProcessor(2), Handlers()
    release = handlers.hold(1)
    busy = feed(processor, handlers, *(message(i, 42) for i in range(1, 11)))
    await handlers.entered[1].wait()
    await within(*feed(processor, handlers, message(11, 43), message(12, 44)))
    assert handlers.finished == [11, 12]
    assert processor.current_concurrent_updates == 10  # user 42's, all accepted
    release.set()
    await asyncio.gather(*busy)
    assert handlers.started == [1, 11, 12, *range(2, 11)]


async def test_a_users_line_is_dropped_when_idle_even_after_failures() -> None:
    processor, handlers = OrderedUpdateProcessor(4), Handlers()
    release = handlers.hold(1)
    tasks = feed(processor, handlers, message(1, 42), message(2, 43))
    await handlers.entered[1].wait()
    assert processor.users_in_hand == 2
    failing = message(3, 42)
    tasks.append(asyncio.create_task(processor.process_update(failing, handlers.handle(failing, fail=True))))
    tasks += feed(processor, handlers, message(4, 42))
    release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[2], RuntimeError)  # PTB's task wrapper reports it; the line goes on
    assert handlers.finished[-2:] == [3, 4]
    assert processor.users_in_hand == 0


async def test_an_update_cancelled_while_waiting_leaves_nothing_behind() -> None:
    processor, handlers = OrderedUpdateProcessor(4), Handlers()
    release = handlers.hold(1)
    first = feed(processor, handlers, message(1, 42))[0]
    waiting = handlers.handle(message(2, 42))
    second = asyncio.create_task(processor.process_update(message(2, 42), waiting))
    third = feed(processor, handlers, message(3, 42))[0]
    await handlers.entered[1].wait()
    await settle()
    second.cancel()
    release.set()
    await first
    await third
    with pytest.raises(asyncio.CancelledError):
        await second
    assert handlers.started == [1, 3]  # the cancelled one never ran; the next one did, in turn
    assert inspect.getcoroutinestate(waiting) == inspect.CORO_CLOSED  # not left "never awaited"
    assert processor.users_in_hand == 0


async def test_updates_without_user_or_chat_wait_only_for_a_slot() -> None:
    processor, handlers = OrderedUpdateProcessor(4), Handlers()
    release = handlers.hold(1)
    held = feed(processor, handlers, Update(update_id=1))
    await handlers.entered[1].wait()
    await within(*feed(processor, handlers, Update(update_id=2), channel_post(3)))
    assert handlers.finished == [2, 3]
    release.set()
    await asyncio.gather(*held)
    assert processor.users_in_hand == 0


def test_the_bound_must_be_positive_and_the_waiting_room_larger() -> None:
    with pytest.raises(ValueError):
        OrderedUpdateProcessor(0)
    one = OrderedUpdateProcessor(1)
    assert one.concurrency == 1 and one.max_concurrent_updates > 1  # PTB starts a task per update
    assert OrderedUpdateProcessor(16).max_concurrent_updates >= 16 * 64
