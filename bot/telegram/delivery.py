"""Each update from Telegram handled once: confirmed only after it was handled, never applied twice.

python-telegram-bot's Updater confirms a batch of updates (the next getUpdates offset)
as soon as it has queued them, before the bot has handled them: a process killed
meanwhile loses what the user just typed or tapped. Here the update queue lets the
poller go on only once the update it put has been handled, so Telegram delivers an
unfinished update again to the next process (a webhook answers Telegram only then too).

Then an update can arrive twice: the old process may have committed its effect and died
before confirming it. The first transaction that handles an update also records it
(`bot.runtime.Handling`), and an update already recorded is passed over. Between them an
update is applied once, or, if the process died before any of its effect committed, by
the next process.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.runtime import HANDLING, Handling, Runtime
from bot.services import handled_updates

log = logging.getLogger(__name__)

RECENT = 1000  # update ids this process handled, to spot a webhook retry without a query


class ConfirmAfterHandling(asyncio.Queue[object]):
    """The application's update queue: `put` returns once the update put has been handled.

    The application takes updates one at a time, in order, and marks each done
    (`task_done`) when handled; the poller asks Telegram for the next batch, which
    confirms this one, only after its last `put` returned.
    """

    def __init__(self) -> None:
        super().__init__()
        self._queued_count = 0
        self._handled_count = 0
        self._handled_one = asyncio.Event()

    def put_nowait(self, item: object) -> None:
        """Queue an item (counted, so that `put` knows when it is done)."""
        super().put_nowait(item)
        self._queued_count += 1

    async def put(self, item: object) -> None:
        """Queue an update and wait until the application has handled it."""
        await super().put(item)
        ticket = self._queued_count
        while self._handled_count < ticket:
            await self._handled_one.wait()

    def task_done(self) -> None:
        """The application finished an item: wake the waiting `put`s."""
        super().task_done()
        self._handled_count += 1
        progress, self._handled_one = self._handled_one, asyncio.Event()
        progress.set()


class OncePerUpdate(BaseUpdateProcessor):
    """Handles updates one at a time, passing over those whose handling committed before."""

    def __init__(self, services: Runtime, bot_id: int) -> None:
        super().__init__(max_concurrent_updates=1)
        self.services, self.bot_id = services, bot_id
        self._before: int | None = None  # the highest update id handled before this process
        self._recent: deque[int] = deque(maxlen=RECENT)

    async def initialize(self) -> None:
        """Read where earlier processes got to, and drop records too old to matter."""
        services, bot_id = self.services, self.bot_id
        await services.db(lambda s: handled_updates.forget_old(s, now=services.now()), handles_update=False)
        self._before = await services.db(
            lambda s: handled_updates.latest(s, bot_id=bot_id), handles_update=False
        )

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Handle the update with its handling recorded, unless it was handled already."""
        if not isinstance(update, Update):
            await coroutine
            return
        if await self._handled(update.update_id):
            log.info("update %s was handled before this delivery; passed over", update.update_id)
            if asyncio.iscoroutine(coroutine):
                coroutine.close()
            return
        token = HANDLING.set(Handling(self.bot_id, update.update_id))
        try:
            await coroutine
        finally:
            HANDLING.reset(token)
            self._recent.append(update.update_id)

    async def _handled(self, update_id: int) -> bool:
        if update_id in self._recent:
            return True
        if self._before is None or update_id > self._before:
            return False  # newer than anything handled before: no need to ask
        services, bot_id = self.services, self.bot_id
        try:
            return await services.db(
                lambda s: handled_updates.was_handled(s, bot_id=bot_id, update_id=update_id),
                handles_update=False,
            )
        except Exception as error:
            # Raising here would stop the application taking updates at all. The database
            # is out of reach, so handling the update fails too, and tells the user so.
            log.warning("could not tell whether update %s was handled: %r", update_id, error)
            return False
