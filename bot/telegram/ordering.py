"""Updates of different people at once; each person's in the order they came.

python-telegram-bot hands every update to the Application's update processor. This one
lets updates of different users run side by side (a lead's month report no longer makes
every rep's search wait), up to a bound, while one user's updates still run one after
another, in arrival order: a form answered by fast messages, two quick taps on a
playbook's buttons and a double tap behave as if the bot handled one update at a time.

PTB's own semaphore around `do_process_update` is set high: it only bounds how many
updates may be waiting here. The real bound is applied inside, after the user's turn
has come, so a user with a queue of updates occupies at most one running slot, and the
others' updates never wait behind that queue.

For `salesbot run` it also applies each update once (`bot.telegram.delivery.Deliveries`):
in the user's turn, an update handled before is passed over, and the handling of the
others is recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine, Hashable
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

if TYPE_CHECKING:
    from bot.telegram.delivery import Deliveries

# How many updates may wait (for their user's earlier ones, or for a slot) per running slot.
WAITING_PER_SLOT = 64


def ordering_key(update: object) -> int | None:
    """Whose turn an update waits for: its user, or its chat when it has no user.

    A private chat's id is its user's id, and group and channel ids are negative, so one
    person's updates share a key wherever they come from. None: no order to keep.
    """
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    return None


class _Line:
    """One user's updates: the lock they take turns on, and how many hold or wait for it."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class OrderedUpdateProcessor(BaseUpdateProcessor):
    """At most `concurrency` updates run at once, one user's strictly in arrival order.

    Order holds because PTB starts one task per update in arrival order, and each task
    queues on its user's lock (asyncio locks are first come, first served) before it
    first waits for anything. A user's lock is dropped as soon as no update of theirs
    holds or waits for it, so the table only ever holds users with updates in hand.
    """

    __slots__ = ("_concurrency", "_lines", "_running", "deliveries")

    def __init__(
        self, concurrency: int, *, waiting: int | None = None, deliveries: Deliveries | None = None
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        # Above 1, PTB runs each update in a task of its own (at 1 it awaits each in turn).
        super().__init__(max(waiting or concurrency * WAITING_PER_SLOT, concurrency, 2))
        self._concurrency = concurrency
        self._running = asyncio.Semaphore(concurrency)
        self._lines: dict[Hashable, _Line] = {}
        self.deliveries = deliveries  # apply each update once (`salesbot run`)

    @property
    def concurrency(self) -> int:
        """How many updates may run at the same time."""
        return self._concurrency

    @property
    def users_in_hand(self) -> int:
        """How many users have updates running or waiting here."""
        return len(self._lines)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the update once its user's earlier updates are done and a slot is free."""
        key: Hashable = ordering_key(update)
        once, update_id = (self.deliveries, update.update_id) if isinstance(update, Update) else (None, 0)
        if key is None and once is not None:
            key = ("update", update_id)  # no user: still, two copies of one take turns
        try:
            if key is None:
                async with self._running:
                    await coroutine
                return
            line = self._lines.get(key)
            if line is None:
                line = self._lines[key] = _Line()
            line.users += 1
            try:
                async with line.lock, self._running:
                    if once is None:
                        await coroutine
                    else:
                        await once.run(update_id, coroutine)
            finally:
                line.users -= 1
                if line.users == 0:
                    del self._lines[key]
        except BaseException:
            # Cancelled before its turn: close the coroutine so it is not reported as never awaited.
            if isinstance(coroutine, Coroutine):
                coroutine.close()
            raise

    async def initialize(self) -> None:
        """Read where earlier processes got to, when applying each update once."""
        if self.deliveries is not None:
            await self.deliveries.initialize()

    async def shutdown(self) -> None:
        """Mark the last updates handled (PTB waits for the updates in hand before this)."""
        if self.deliveries is not None:
            await self.deliveries.shutdown()
