"""The dispatcher: sends due outbox rows within Telegram's limits, one row at a time.

It keeps within the limits itself: at most `rate` messages a second overall
(aiolimiter) and one message a second per chat (python-telegram-bot's limiter does not
do the latter), and it honours 429 `retry_after`. A row Telegram certainly did not send
goes back to the queue for later; one it may have sent without saying so
(`Unconfirmed`) is finished and never sent again. What a row's message looks like is
not its business: the Telegram layer registers a sender per kind of row (`Senders`),
so the dispatcher imports no handler module, and every process wired by
`bot.app.build_services` sends exactly the same messages.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiolimiter import AsyncLimiter
from telegram import Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.runtime import Runtime
from bot.scheduling import digests, outbox
from bot.storage.models import OutboxMessage
from bot.telegram.request import Unconfirmed

log = logging.getLogger(__name__)

T = TypeVar("T")

Send = Callable[[Any, OutboxMessage], Awaitable[Any]]  # (bot, row) → the message sent, or None


@dataclass(frozen=True)
class Senders:
    """How each kind of row becomes a Telegram message (registered by the Telegram layer)."""

    customer: Send  # a care message straight to the customer's chat
    via_rep: Send  # the ready text to the rep, to pass on, with Copy / Sent / Don't send
    review: Send  # ask the rep to approve, rewrite or skip a message
    blocked: Callable[[Any, outbox.Blocked], Awaitable[Any]]  # tell the rep a customer blocked the bot
    by_occasion: dict[str, Send] = field(default_factory=dict)  # rows written when they go: agenda, digest


RATE_PER_SECOND = 30.0


LIMITER_BURST = 5


EXTRA_BATCHES = 3


PER_CHAT_SECONDS = 1.05  # a little over a second: network jitter must not make it less


BATCH = 150  # five seconds at the overall limit: enough different chats to keep the pace


class Dispatcher:
    """Sends due outbox rows, within Telegram's limits, one row at a time."""

    def __init__(
        self,
        services: Runtime,
        bot: Any,
        *,
        senders: Senders | None = None,
        rate: float = RATE_PER_SECOND,
        per_chat: float = PER_CHAT_SECONDS,
        batch: int = BATCH,
        worker: str | None = None,
    ) -> None:
        self.services, self.bot = services, bot
        found = senders if senders is not None else getattr(services, "senders", None)
        if found is None:
            raise ValueError("no senders: the wiring registers them (bot.app.build_services)")
        self.senders: Senders = found
        # A small burst at the same rate: a full second's burst on top of Telegram's own
        # bucket crosses its line now and then (a 429 pauses every send for a second).
        self.limiter = AsyncLimiter(LIMITER_BURST, LIMITER_BURST / rate)
        self.per_chat, self.batch = per_chat, batch
        self.worker = worker or f"w-{uuid.uuid4().hex[:12]}"
        self._last: dict[int, float] = {}
        self._lock = asyncio.Lock()

    @property
    def busy(self) -> bool:
        """Whether a pass is under way."""
        return self._lock.locked()

    async def run_once(self) -> int:
        """Recover expired leases, claim a batch and send it; how many rows were claimed."""
        async with self._lock:  # one pass at a time in this process
            services = self.services
            now = services.now()
            await services.db(lambda s: outbox.recover(s, now=now))
            worker, batch = self.worker, self.batch
            rows = await services.db(lambda s: outbox.claim(s, now=now, worker=worker, limit=batch))
            claimed = len(rows) + await self._send_in_turn(rows)
            reviews = await services.db(lambda s: outbox.claim_reviews(s, now=now, limit=batch))
            for row in reviews:
                await self._ask(row)
            return claimed + len(reviews)

    async def drain(self, *, passes: int = 1000) -> int:
        """Send everything due now (for tests, the console and benchmarks).

        Before each pass the digest builder job runs as the scheduler would have run it
        (`bot.scheduling.digests`); the pass itself builds nothing.
        """
        total = 0
        for _ in range(passes):
            await digests.build_due(self.services)
            sent = await self.run_once()
            total += sent
            if not sent:
                break
        return total

    async def _send_in_turn(self, rows: list[OutboxMessage]) -> int:
        """Send one message at a time, the earliest due whose chat is free to receive.

        A chat waiting out its second never holds up the others, and only one message
        is ever in flight, so a crash leaves at most one in doubt. When every chat at
        hand is waiting, more due rows are claimed (up to EXTRA_BATCHES more batches,
        well within their lease at the overall rate) rather than idling; returns how
        many were claimed that way.
        """
        waiting, extra, more = list(rows), 0, True
        while waiting:
            now = time.monotonic()
            ready = self._next_ready(waiting, now)
            if ready is None and more and extra < EXTRA_BATCHES * self.batch:
                claimed = await self._claim_more(self.batch)
                waiting += claimed
                extra += len(claimed)
                more = bool(claimed)
                continue
            if ready is None:
                await asyncio.sleep(min(self._free_at(r.chat_id) for r in waiting) - now)
                continue
            waiting.remove(ready)
            await self._send(ready)
        return extra

    def _next_ready(self, waiting: list[OutboxMessage], now: float) -> OutboxMessage | None:
        """The earliest due row of the free chat with the most rows waiting.

        A chat with several messages waiting needs a second between each, so it goes
        first; the others fill the gaps (all of these rows are due already).
        """
        pending: dict[int, int] = {}
        for row in waiting:
            pending[row.chat_id or 0] = pending.get(row.chat_id or 0, 0) + 1
        free = [r for r in waiting if self._free_at(r.chat_id) <= now]
        if not free:
            return None
        return min(free, key=lambda r: (-pending[r.chat_id or 0], r.due_at, r.id or 0))

    async def _claim_more(self, limit: int) -> list[OutboxMessage]:
        services, worker = self.services, self.worker
        now = services.now()
        return await services.db(lambda s: outbox.claim(s, now=now, worker=worker, limit=limit))

    def _free_at(self, chat_id: int | None) -> float:
        """When a chat may receive its next message (monotonic seconds)."""
        return self._last.get(chat_id or 0, float("-inf")) + self.per_chat

    async def _send(self, row: OutboxMessage) -> None:
        assert row.id is not None and row.chat_id is not None
        services, outbox_id, chat_id = self.services, row.id, row.chat_id
        gap = self.per_chat - (time.monotonic() - self._last.get(chat_id, float("-inf")))
        if gap > 0:
            await asyncio.sleep(gap)
        async with self.limiter:
            worker = self.worker
            started = await services.db(
                lambda s: outbox.start_sending(s, outbox_id=outbox_id, worker=worker, now=services.now())
            )
            if not started:
                return
            try:
                message = await self._deliver(row)
                if message is None:  # written now, and there was nothing to say (an empty agenda)
                    await services.db(
                        lambda s: outbox.skip(
                            s, outbox_id=outbox_id, now=services.now(), reason="nothing_to_do"
                        )
                    )
                    return
            except RetryAfter as error:
                await self._later(outbox_id, _seconds(error.retry_after), "429 retry_after")
            except Forbidden as error:
                await self._forbidden(row, str(error))
            except BadRequest as error:
                reason = str(error)
                await services.db(
                    lambda s: outbox.give_up(s, outbox_id=outbox_id, now=services.now(), reason=reason)
                )
            except Unconfirmed as error:
                # Telegram may have delivered it: sending it again could make it arrive twice.
                log.warning("outbox %s not confirmed by Telegram, not resent: %s", outbox_id, error)
                await services.db(lambda s: outbox.unconfirmed(s, outbox_id=outbox_id, now=services.now()))
            except (TimedOut, NetworkError) as error:  # certainly not sent: try again later
                await self._later(outbox_id, outbox.backoff(row.attempts), str(error))
            else:
                to_rep = row.channel == "via_rep"
                message_id = message.message_id if isinstance(message, Message) else None
                await services.db(
                    lambda s: outbox.delivered(
                        s, outbox_id=outbox_id, message_id=message_id, now=services.now(), to_rep=to_rep
                    )
                )
            finally:
                self._last[chat_id] = time.monotonic()

    async def _later(self, outbox_id: int, delay: float, reason: str) -> None:
        services = self.services
        await services.db(
            lambda s: outbox.retry_later(
                s, outbox_id=outbox_id, now=services.now(), delay=delay, reason=reason
            )
        )

    async def _deliver(self, row: OutboxMessage) -> Any:
        """The row's message: its occasion's own sender, or a care message to the customer or rep."""
        send = self.senders.by_occasion.get(row.occasion)
        if send is None:
            send = self.senders.customer if row.channel == "telegram" else self.senders.via_rep
        return await send(self.bot, row)

    async def _ask(self, row: OutboxMessage) -> None:
        """Show a message waiting for approval to its rep: approve, edit or skip."""
        assert row.id is not None
        services, outbox_id = self.services, row.id
        try:
            message = await self.senders.review(self.bot, row)
        except (Forbidden, BadRequest, NetworkError) as error:
            log.warning("could not ask rep %s to review message %s: %s", row.rep_id, outbox_id, error)
            return
        await services.db(lambda s: outbox.asked(s, outbox_id=outbox_id, message_id=message.message_id))

    async def _forbidden(self, row: OutboxMessage, reason: str) -> None:
        services, outbox_id = self.services, row.id
        assert outbox_id is not None
        if row.channel != "telegram" or row.customer_id is None:
            # The rep themselves cannot be reached (they blocked the bot, or never started it).
            await services.db(
                lambda s: outbox.give_up(s, outbox_id=outbox_id, now=services.now(), reason=reason)
            )
            return
        found = await services.db(lambda s: outbox.blocked(s, outbox_id=outbox_id, now=services.now()))
        if found is None:
            return
        try:
            await self.senders.blocked(self.bot, found)
        except (Forbidden, BadRequest, NetworkError) as error:
            log.warning("could not tell rep %s that a customer blocked the bot: %s", found.rep_id, error)


def _seconds(value: Any) -> float:
    """`retry_after` as seconds (PTB gives an int or a timedelta)."""
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)
