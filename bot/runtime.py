"""The runtime every entry point shares: one object wired by `bot.app.build_services`.

It holds the settings, the session factory (with `db` and `read`, which retry while the
database is briefly unavailable), the clock, the text catalogue, the checked playbooks,
the cache of recent users' roles and forms, the outbox senders and the digest builder. Handlers reach it as
`context.services`; services receive it only where they open their own transactions.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.domain import deeplinks
from bot.domain.access import Actor
from bot.domain.errors import Busy
from bot.heavy import Heavy
from bot.i18n import Catalogue
from bot.playbooks.model import Playbook
from bot.practice.check import Drills
from bot.services import handled_updates
from bot.storage.db import SessionFactory, is_transient, transaction
from bot.storage.models import FlowState

if TYPE_CHECKING:
    from bot.services.digest.built import DigestBuilder

log = logging.getLogger(__name__)

T = TypeVar("T")


Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The real time, aware, in UTC."""
    return datetime.now(UTC)


# Waits between attempts when the database is briefly locked or unreachable.
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 4.0)
# No new attempt once this long has passed since the first: an attempt can itself wait
# (SQLite's busy timeout is 5 s), and a user should hear "busy, try again" within seconds.
RETRY_BUDGET = 12.0


@dataclass
class Known:
    """What the bot knows about a recent user: their role and their form in progress."""

    actor: Actor
    flow: FlowState | None
    until: float


class Identities:
    """Recent users' roles and forms, kept in memory between their updates.

    Every update needs both before anything else, and reading them is most of a quick
    update's database time. This process is the one that changes them (invites,
    removals, language, forms), and it keeps the entries current as it does; an entry
    also expires after `ttl` seconds, a safety net for a change made elsewhere. Any
    error while handling a user's update drops their entry, so the next update reads
    the database again.

    Users' updates run concurrently, so an entry read from the database may be out of
    date by the time it is kept: a lead removed the user meanwhile, and forgot them. A
    reader takes a `stamp` before reading and passes it to `remember`, which keeps
    nothing if any entry was forgotten since (rare; the next update reads again).
    """

    def __init__(self, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic, size: int = 20000):
        self.ttl, self.clock, self.size = ttl, clock, size
        self._known: dict[int, Known] = {}
        self._forgotten = 0  # how many times an entry was forgotten (see `stamp`)

    def get(self, user_id: int) -> Known | None:
        """A fresh entry, or None."""
        known = self._known.get(user_id)
        if known is None or known.until < self.clock():
            return None
        return known

    def stamp(self) -> int:
        """A mark taken before reading a user's role and form, for `remember`."""
        return self._forgotten

    def remember(self, actor: Actor, flow: FlowState | None, *, read_at: int | None = None) -> None:
        """Keep a user's role and form; read after `read_at` (a `stamp`), only if none was forgotten since."""
        if read_at is not None and read_at != self._forgotten:
            return
        if len(self._known) >= self.size:
            self._known.clear()  # crude but bounded; entries are cheap to read again
        self._known[actor.user_id] = Known(actor, flow, self.clock() + self.ttl)

    def set_flow(self, user_id: int, flow: FlowState | None) -> None:
        """The user's form changed (started, advanced or ended)."""
        known = self._known.get(user_id)
        if known is not None:
            known.flow = flow

    def forget(self, user_id: int) -> None:
        """Drop a user's entry (their role changed, or something went wrong)."""
        self._forgotten += 1
        self._known.pop(user_id, None)


@dataclass
class Handling:
    """The Telegram update being handled, recorded with the first transaction that commits.

    Its effect and the record commit together, so when Telegram delivers the update again
    (the process died before confirming it) it is applied once, or not at all.
    """

    bot_id: int
    update_id: int
    recorded: bool = False


# Set by bot.telegram.delivery around each polled update; None elsewhere (jobs, the console).
HANDLING: ContextVar[Handling | None] = ContextVar("handling", default=None)


@dataclass
class Runtime:
    """What every process runs on: settings, the database, the clock, texts, playbooks, drills and
    the outbox senders, wired once by `bot.app.build_services` (for the bot, the worker,
    the console and the tests alike)."""

    settings: Settings
    sessions: SessionFactory
    catalogue: Catalogue
    clock: Clock = system_clock
    bot_username: str = "salesbot"
    retry_delays: tuple[float, ...] = RETRY_DELAYS
    retry_budget: float = RETRY_BUDGET
    monotonic: Callable[[], float] = time.monotonic  # for the retry budget (settable in tests)
    identities: Identities = field(default_factory=Identities)
    playbooks: dict[str, Playbook] = field(default_factory=dict)
    drills: Drills = field(default_factory=Drills)  # the checked files of drills/ (practice mode)
    # How each kind of outbox row is sent (bot.telegram.care.outbox_senders), set by the wiring.
    senders: Any = None
    # What builds a digest into the messages and chart it sends (bot.telegram.digest.builder).
    digest_builder: DigestBuilder | None = None
    # Where long CPU work runs (bot.heavy), set by the wiring.
    heavy: Heavy = field(default_factory=lambda: Heavy(0))
    # Whether this process has made its first care planning pass (a full one; later ones plan changes).
    care_planned: bool = False

    def now(self) -> datetime:
        """The current time from the (settable) clock."""
        return self.clock()

    def today(self) -> date:
        """Today's date where the bot's teams are (the configured default timezone)."""
        return self.clock().astimezone(ZoneInfo(self.settings.default_timezone)).date()

    async def db(self, work: Callable[[AsyncSession], Awaitable[T]], *, handles_update: bool = True) -> T:
        """Run `work` in one transaction, retrying while the database is briefly unavailable.

        While an update is being handled, its first transaction also records the update as
        handled, unless `handles_update` is false (what every update reads first: who sent it).
        """
        handling = HANDLING.get() if handles_update else None
        if handling is not None and handling.recorded:
            handling = None

        async def attempt() -> T:
            async with transaction(self.sessions) as session:
                result = await work(session)
                if handling is not None:
                    await handled_updates.record(
                        session, bot_id=handling.bot_id, update_id=handling.update_id, now=self.now()
                    )
                return result

        result = await self._retrying(attempt)
        if handling is not None:
            handling.recorded = True
        return result

    async def read(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run read-only `work` on a pooled connection, without an ORM session, with the same retries.

        For the hottest reads (a search): a session and its commit cost more than the query.
        """
        engine: AsyncEngine = self.sessions.kw["bind"]

        async def attempt() -> T:
            async with engine.connect() as connection:
                return await work(connection)

        return await self._retrying(attempt)

    async def _retrying(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run `attempt`, again after a pause while the database is briefly unavailable.

        It gives up (Busy) after the last pause, or earlier when another attempt would
        start past the retry budget.
        """
        started = self.monotonic()
        for tries, delay in enumerate((*self.retry_delays, None)):
            try:
                return await attempt()
            except Exception as error:
                if not is_transient(error):
                    raise
                if delay is None or self.monotonic() - started + delay > self.retry_budget:
                    log.warning("database still unavailable after %d attempts", tries + 1)
                    raise Busy() from error
                log.info("database busy (%s); retrying in %.1fs", type(error).__name__, delay)
                await asyncio.sleep(delay)
        raise Busy()  # pragma: no cover  (the loop always returns or raises)

    def text(self, lang: str, key: str, /, **params: Any) -> str:
        """A text from the catalogue."""
        return self.catalogue.text(lang, key, **params)

    def deep_link(self, payload: str) -> str:
        """A t.me link that opens the bot with `/start payload`."""
        return deeplinks.url(self.bot_username, payload)
