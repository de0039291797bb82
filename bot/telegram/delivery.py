"""Each update from Telegram handled once: stored before it is confirmed, never applied twice.

python-telegram-bot's Updater confirms a batch of updates (the next getUpdates offset)
as soon as it has queued them, before the bot has handled them: a process killed
meanwhile would lose what the user just typed or tapped. Here the update queue stores
each update (`received_updates`, one insert) before it queues it, so everything
confirmed to Telegram is in the database (a webhook answers Telegram only after the
`put` too). The poller does not wait for the handling: updates of different users still
run side by side (`bot.telegram.ordering`). When the bot starts, every stored update not
marked handled (the process died first) is handed to the application again, in update
id order, before polling starts.

Then an update can arrive twice: from storage and from Telegram again (it was stored but
not yet confirmed), or from Telegram after the old process committed its effect and died
before confirming. The first transaction that handles an update also records it
(`bot.runtime.Handling`); an update whose handling committed nothing (a search, /help, a
failure) is marked handled right after, in one write with any others that finished
meanwhile (a kill in between replays it: answered twice, as a lost getUpdates
confirmation did before). In its user's turn an update
already handled is passed over (`Deliveries.run`), so the copies, which take the same
turn one after the other, are applied once. Between them an update is applied once, or,
if the process died before any of its effect committed, by the next process.
Stored updates are deleted by the tidy job once handled, or after two days.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Coroutine
from typing import Any

from telegram import Bot, Update

from bot.runtime import HANDLING, Handling, Runtime
from bot.services import handled_updates, received_updates

log = logging.getLogger(__name__)

RECENT = 1000  # update ids this process handled, to spot a second copy without a query


class StoreOnReceipt(asyncio.Queue[object]):
    """The application's update queue: `put` stores the update, then queues it and returns.

    PTB's Updater asks for (and so confirms) the next batch only after the last `put` of
    this one returned, and its webhook answers Telegram after the `put`.
    """

    def __init__(self, services: Runtime, bot_id: int) -> None:
        super().__init__()
        self.services, self.bot_id = services, bot_id

    async def put(self, item: object) -> None:
        """Store an update durably, then queue it."""
        if isinstance(item, Update):
            await self._store(item)
        await super().put(item)

    async def _store(self, update: Update) -> None:
        services, bot_id = self.services, self.bot_id
        payload, update_id = update.to_dict(), update.update_id
        try:
            await services.db(
                lambda s: received_updates.store(
                    s, bot_id=bot_id, update_id=update_id, payload=payload, now=services.now()
                ),
                handles_update=False,
            )
        except Exception as error:
            # Raising here would stop polling. Handled now, the update is only not kept
            # for a process killed before it finishes (it fails too, and says so).
            log.warning("could not store update %s before handling it: %r", update_id, error)


class Deliveries:
    """What an update processor needs to apply each update once (`salesbot run`)."""

    def __init__(self, services: Runtime, bot_id: int) -> None:
        self.services, self.bot_id = services, bot_id
        self._before: int | None = None  # the highest update id handled before this process
        self._recent: deque[int] = deque(maxlen=RECENT)
        self._unmarked: list[int] = []
        self._marking: asyncio.Task[None] | None = None

    async def initialize(self) -> None:
        """Read where earlier processes got to, and drop records too old to matter."""
        services, bot_id = self.services, self.bot_id
        await services.db(lambda s: handled_updates.forget_old(s, now=services.now()), handles_update=False)
        self._before = await services.db(
            lambda s: handled_updates.latest(s, bot_id=bot_id), handles_update=False
        )

    async def shutdown(self) -> None:
        """Mark what is still unmarked."""
        if self._marking is not None:
            await self._marking
        await self._mark()

    async def unhandled(self, bot: Bot) -> list[Update]:
        """The stored updates no process handled, oldest first, to be handled now."""
        bot_id = self.bot_id
        payloads = await self.services.db(
            lambda s: received_updates.unhandled(s, bot_id=bot_id), handles_update=False
        )
        return [Update.de_json(payload, bot) for payload in payloads]

    async def run(self, update_id: int, coroutine: Awaitable[Any]) -> None:
        """Handle an update, in its user's turn, with its handling recorded; or pass it over
        if it was handled before."""
        if await self._handled(update_id):
            log.info("update %s was handled before this delivery; passed over", update_id)
            if isinstance(coroutine, Coroutine):
                coroutine.close()
            return
        handling = Handling(self.bot_id, update_id)
        token = HANDLING.set(handling)
        try:
            await coroutine
        except asyncio.CancelledError:
            raise  # stopped midway: it stays unhandled, for the next start
        except Exception:
            self._finished(handling)
            raise
        else:
            self._finished(handling)
        finally:
            HANDLING.reset(token)

    def _finished(self, handling: Handling) -> None:
        """An update's handling ended: a copy of it is passed over from now on."""
        self._recent.append(handling.update_id)
        if not handling.recorded:  # it committed nothing: mark it now, with any others
            self._mark_soon(handling.update_id)

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
            # Raising here would lose the update. The database is out of reach, so handling
            # the update fails too, and tells the user so.
            log.warning("could not tell whether update %s was handled: %r", update_id, error)
            return False

    def _mark_soon(self, update_id: int) -> None:
        self._unmarked.append(update_id)
        if self._marking is None or self._marking.done():
            self._marking = asyncio.create_task(self._mark_later(), name="mark-handled-updates")

    async def _mark_later(self) -> None:
        await asyncio.sleep(0)  # those finishing in the same turn of the loop go together
        while self._unmarked:  # and those finished while a batch was written go in the next
            await self._mark()

    async def _mark(self) -> None:
        update_ids, self._unmarked = self._unmarked, []
        if not update_ids:
            return
        services, bot_id = self.services, self.bot_id
        try:
            await services.db(
                lambda s: handled_updates.record_many(
                    s, bot_id=bot_id, update_ids=update_ids, now=services.now()
                ),
                handles_update=False,
            )
        except Exception as error:
            log.warning("could not mark updates %s handled: %r", update_ids, error)
