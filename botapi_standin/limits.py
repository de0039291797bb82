"""Flood limits of the stand-in: Telegram's per-chat, per-group and overall message rates.

``Limits`` says how strict to be, ``RateLimiter`` keeps one ``TokenBucket`` per chat plus
one overall and answers 429 with ``retry_after`` as Telegram does; ``ManualClock`` lets a
test move time by hand.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from botapi_standin.spec import ApiError

Clock = Callable[[], float]


@dataclass(frozen=True)
class Limits:
    """Flood limits enforced on the methods that create messages.

    The defaults are relaxed for a human typing in the console: a private chat takes a
    burst of 20 messages, then 1 per second. Telegram's overall 30 messages per second
    (burst 30, one second's worth) and 20 per minute per group (burst 20, one minute's
    worth) apply as they are.
    """

    per_chat_per_second: float = 1.0
    per_chat_burst: int = 20
    global_per_second: float = 30.0
    global_burst: int = 30
    per_group_per_minute: float = 20.0
    per_group_burst: int = 20
    enabled: bool = True

    @classmethod
    def unlimited(cls) -> Limits:
        """No flood limits at all."""
        return cls(enabled=False)

    @classmethod
    def telegram(cls) -> Limits:
        """Telegram's documented limits read strictly.

        "About one message per second" per private chat becomes a burst of 1: Telegram
        tolerates short bursts, but how long is not documented, so a bot that copes with
        a burst of 1 copes with Telegram. The overall and per-group limits keep the
        default bursts, which are exactly one period's worth.
        """
        return cls(per_chat_burst=1)


class TokenBucket:
    """A token bucket: capacity tokens, refilled at rate tokens per second."""

    def __init__(self, rate: float, capacity: int, now: float) -> None:
        self.rate = rate
        self.capacity = max(capacity, 1)
        self.tokens = float(self.capacity)
        self.updated = now

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def wait_time(self, now: float) -> float:
        """Seconds until a token is available (0 if one is available now)."""
        self._refill(now)
        # The epsilon keeps float rounding from turning "exactly one token" into a wait.
        missing = 1.0 - self.tokens - 1e-9
        if missing <= 0:
            return 0.0
        return math.inf if self.rate <= 0 else missing / self.rate

    def take(self, now: float) -> None:
        """Use one token (the caller checked wait_time first)."""
        self._refill(now)
        self.tokens -= 1.0


class RateLimiter:
    """One token bucket per chat plus one global bucket, configured by Limits."""

    def __init__(self, limits: Limits, clock: Clock) -> None:
        self.limits = limits
        self._clock = clock
        self._chats: dict[int, TokenBucket] = {}
        self._global: TokenBucket | None = None

    def acquire(self, chat_id: int, *, group: bool) -> None:
        """Count one message to chat_id, or raise the 429 ApiError Telegram would send."""
        if not self.limits.enabled:
            return
        now = self._clock()
        limits = self.limits
        if self._global is None:
            self._global = TokenBucket(limits.global_per_second, limits.global_burst, now)
        bucket = self._chats.get(chat_id)
        if bucket is None:
            if group:
                rate, burst = limits.per_group_per_minute / 60.0, limits.per_group_burst
            else:
                rate, burst = limits.per_chat_per_second, limits.per_chat_burst
            bucket = self._chats[chat_id] = TokenBucket(rate, burst, now)
        buckets = (bucket, self._global)
        wait = max(b.wait_time(now) for b in buckets)
        if wait > 0:
            retry_after = max(1, math.ceil(wait)) if math.isfinite(wait) else 3600
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)
        for b in buckets:
            b.take(now)


class ManualClock:
    """A clock for tests: returns a number of seconds that only changes via advance()."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds
