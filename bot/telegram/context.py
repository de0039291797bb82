"""The typed context handlers receive: services, the actor and the parsed route."""

from __future__ import annotations

import asyncio
import html
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram.ext import Application, CallbackContext, ExtBot

from bot.config import Settings
from bot.domain import deeplinks
from bot.domain.access import Actor
from bot.domain.errors import Busy, Stale
from bot.i18n import Catalogue
from bot.playbooks.model import Playbook
from bot.storage.db import SessionFactory, is_transient, transaction
from bot.storage.models import FlowState

if TYPE_CHECKING:
    from bot.telegram.routes import Route

log = logging.getLogger(__name__)

T = TypeVar("T")
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The real time, aware, in UTC."""
    return datetime.now(UTC)


_TAGS = re.compile(r"<[^>]+>")
ALERT_MAX = 200


def plain(text: str) -> str:
    """An HTML text as a pop-up shows it: no tags, entities decoded, at most 200 characters."""
    flat = html.unescape(_TAGS.sub("", text))
    return flat if len(flat) <= ALERT_MAX else flat[: ALERT_MAX - 1] + "…"


# Waits between attempts when the database is briefly locked or unreachable.
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 4.0)


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
    """

    def __init__(self, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic, size: int = 20000):
        self.ttl, self.clock, self.size = ttl, clock, size
        self._known: dict[int, Known] = {}

    def get(self, user_id: int) -> Known | None:
        """A fresh entry, or None."""
        known = self._known.get(user_id)
        if known is None or known.until < self.clock():
            return None
        return known

    def remember(self, actor: Actor, flow: FlowState | None) -> None:
        """Keep a user's role and form."""
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
        self._known.pop(user_id, None)


@dataclass
class Services:
    """What handlers need from the outside world, wired once in `build_application`."""

    settings: Settings
    sessions: SessionFactory
    catalogue: Catalogue
    clock: Clock = system_clock
    bot_username: str = "salesbot"
    retry_delays: tuple[float, ...] = RETRY_DELAYS
    identities: Identities = field(default_factory=Identities)
    playbooks: dict[str, Playbook] = field(default_factory=dict)
    # How each kind of outbox row is sent (bot.telegram.care.outbox_senders), set by the wiring.
    senders: Any = None

    def now(self) -> datetime:
        """The current time from the (settable) clock."""
        return self.clock()

    def today(self) -> date:
        """Today's date where the bot's teams are (the configured default timezone)."""
        return self.clock().astimezone(ZoneInfo(self.settings.default_timezone)).date()

    async def db(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `work` in one transaction, retrying while the database is briefly unavailable."""

        async def attempt() -> T:
            async with transaction(self.sessions) as session:
                return await work(session)

        return await self._retrying(attempt)

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
        """Run `attempt`, again after a pause while the database is briefly unavailable."""
        for tries, delay in enumerate((*self.retry_delays, None)):
            try:
                return await attempt()
            except Exception as error:
                if not is_transient(error):
                    raise
                if delay is None:
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


@dataclass
class AppData:
    """The application's bot_data: only the wired services."""

    services: Services | None = None
    # Inputs a user sent while the database was unavailable, by user id, for the Retry button.
    pending: dict[int, list[Any]] = field(default_factory=dict)
    # The one-time admin claim link printed at start-up on an empty database.
    claim_link: str | None = None
    # Whether the planner, dispatcher and tidy jobs run (tests and benchmarks drive them).
    schedule: bool = True
    # The care dispatcher (bot.scheduling.dispatcher.Dispatcher), made at start-up.
    dispatcher: Any = None


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], AppData]):
    """The callback context with typed access to services, the actor and the route."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self._actor: Actor | None = None
        self._flow: FlowState | None = None
        self.route: Route | None = None
        self.route_args: list[str] = []

    @property
    def services(self) -> Services:
        """The wired services."""
        services = self.bot_data.services
        assert services is not None, "build_application wires the services"
        return services

    @property
    def actor(self) -> Actor:
        """Who sent this update (set by the access gate before any handler runs)."""
        assert self._actor is not None, "the access gate sets the actor first"
        return self._actor

    @actor.setter
    def actor(self, value: Actor) -> None:
        self._actor = value

    @property
    def flow_state(self) -> FlowState | None:
        """The user's form in progress (as the gate found it; kept current by the flow engine)."""
        return self._flow

    @flow_state.setter
    def flow_state(self, value: FlowState | None) -> None:
        self._flow = value
        if self._actor is not None:
            self.services.identities.set_flow(self._actor.user_id, value)

    def arg_id(self, index: int, default: int | None = None, *, user: bool = False) -> int:
        """Button argument `index` as a row id, offset or (user=True) Telegram user id.

        Malformed, out-of-range or missing arguments read as a stale button.
        """
        from bot.telegram.routes import USER_ID_MAX, ident

        if index >= len(self.route_args):
            if default is None:
                raise Stale()
            return default
        value = ident(self.route_args[index], USER_ID_MAX) if user else ident(self.route_args[index])
        if value is None:
            raise Stale()
        return value

    def arg(self, index: int, default: str | None = None) -> str:
        """Button argument `index` as text; a missing one reads as stale unless defaulted."""
        if index < len(self.route_args):
            return self.route_args[index]
        if default is None:
            raise Stale()
        return default

    @property
    def lang(self) -> str:
        """The actor's language."""
        return self._actor.language if self._actor else "zh"

    def t(self, key: str, /, **params: Any) -> str:
        """A text in the actor's language."""
        return self.services.text(self.lang, key, **params)

    def alert(self, key: str, /, **params: Any) -> str:
        """A text for a button's pop-up answer: plain, at most 200 characters."""
        return plain(self.t(key, **params))
