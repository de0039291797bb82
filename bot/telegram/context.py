"""The typed context handlers receive: services, the actor and the parsed route."""

from __future__ import annotations

import asyncio
import html
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.domain.access import Actor
from bot.domain.errors import Stale
from bot.runtime import Runtime
from bot.storage.models import FlowState

if TYPE_CHECKING:
    from bot.telegram.routes import Route
    from bot.web.server import WebServer

log = logging.getLogger(__name__)


_TAGS = re.compile(r"<[^>]+>")
ALERT_MAX = 200


def plain(text: str) -> str:
    """An HTML text as a pop-up shows it: no tags, entities decoded, at most 200 characters."""
    flat = html.unescape(_TAGS.sub("", text))
    return flat if len(flat) <= ALERT_MAX else flat[: ALERT_MAX - 1] + "…"


@dataclass
class AppData:
    """The application's bot_data: only the wired services."""

    services: Runtime | None = None
    # Messages a user sent while the database was unavailable, by user id, oldest first,
    # until Retry replays them or a later update of theirs goes through.
    pending: dict[int, list[Any]] = field(default_factory=dict)
    # The one-time admin claim link printed at start-up on an empty database.
    claim_link: str | None = None
    # Whether the planner, dispatcher and tidy jobs run (tests and benchmarks drive them).
    schedule: bool = True
    # The care dispatcher (bot.scheduling.dispatcher.Dispatcher), made at start-up.
    dispatcher: Any = None
    # The digest builder job (bot.scheduling.digests.DigestJob), made at start-up.
    digest_job: Any = None
    # When start-up finished (time.monotonic) and whether any update has come in since:
    # a polling conflict before either means another process was polling first.
    started_at: float | None = None
    updates_seen: bool = False
    # Set when this process gave way to another one polling with the same token.
    refused: bool = False
    # The Mini App's HTTP server (bot.web.server), when SALESBOT_WEB_URL is set; started
    # in post-init, stopped in post-shutdown.
    web: WebServer | None = None
    # Setting staff's Mini App menu buttons at start-up (bot.telegram.mini_app.offer_all_soon).
    menu_buttons: asyncio.Task[int] | None = None


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
        # The user's earlier messages that could not be saved (the database was busy),
        # set aside by the gate: dropped once this update goes through, kept with it
        # if it fails the same way, replayed by the Retry button.
        self.unsaved: list[Any] = []
        # The language of the user's Telegram client (set by the gate): what errors are
        # told in when the database could not say who the user is.
        self.client_language: str | None = None

    @property
    def services(self) -> Runtime:
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
        """The actor's language; before the gate knows them, their Telegram client's."""
        if self._actor is not None:
            return self._actor.language
        return self.client_language or "zh"

    def t(self, key: str, /, **params: Any) -> str:
        """A text in the actor's language."""
        return self.services.text(self.lang, key, **params)

    def alert(self, key: str, /, **params: Any) -> str:
        """A text for a button's pop-up answer: plain, at most 200 characters."""
        return plain(self.t(key, **params))
