"""Every command and button the bot answers, with the permission it needs.

Buttons carry `prefix:arg:arg…` (ASCII ids only, at most 64 bytes). The access gate
looks the prefix up here and checks the permission, and for customer or team
routes the object named by the first argument, before any handler runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from telegram import Update

from bot.domain.access import Perm

Handler = Callable[[Update, Any], Awaitable[None]]

CALLBACK_MAX_BYTES = 64


class Target(StrEnum):
    """What the first argument of a button names, for object-level checks."""

    NONE = "none"
    CUSTOMER = "customer"
    TEAM = "team"


@dataclass(frozen=True)
class Route:
    """A button prefix or a command, and who may use it."""

    name: str
    perm: Perm
    target: Target
    handler: Handler
    edit: bool = False  # customer routes: needs edit rights, not only view
    keeps_flow: bool = False  # a button of the form in progress (others end the form)


@dataclass
class Router:
    """The registry of routes; handlers declare themselves with the decorators."""

    callbacks: dict[str, Route] = field(default_factory=dict)
    commands: dict[str, Route] = field(default_factory=dict)

    def callback(
        self,
        prefix: str,
        perm: Perm,
        target: Target = Target.NONE,
        *,
        edit: bool = False,
        keeps_flow: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Declare a button handler."""

        def register(handler: Handler) -> Handler:
            if prefix in self.callbacks or ":" in prefix:
                raise ValueError(f"bad or duplicate callback prefix {prefix!r}")
            self.callbacks[prefix] = Route(prefix, perm, target, handler, edit, keeps_flow)
            return handler

        return register

    def command(self, name: str, perm: Perm, *, keeps_flow: bool = False) -> Callable[[Handler], Handler]:
        """Declare a command handler."""

        def register(handler: Handler) -> Handler:
            if name in self.commands:
                raise ValueError(f"duplicate command {name!r}")
            self.commands[name] = Route(name, perm, Target.NONE, handler, keeps_flow=keeps_flow)
            return handler

        return register


router = Router()


def data(prefix: str, *args: object) -> str:
    """Encode a button's callback data (checked against Telegram's 64-byte limit)."""
    encoded = ":".join([prefix, *(str(arg) for arg in args)])
    if len(encoded.encode()) > CALLBACK_MAX_BYTES:
        raise ValueError(f"callback data too long: {encoded!r}")
    return encoded


ROW_ID_MAX = 2**31 - 1  # our tables' integer keys (and offsets into them)
USER_ID_MAX = 2**63 - 1  # Telegram user ids are stored as BIGINT


def ident(raw: str, limit: int = ROW_ID_MAX) -> int | None:
    """An id or offset from button data: ASCII digits up to `limit`, else None."""
    if not raw or len(raw) > 19 or not all("0" <= ch <= "9" for ch in raw):
        return None
    value = int(raw)
    return value if value <= limit else None


def parse(raw: str) -> tuple[str, list[str]]:
    """Split callback data into its prefix and arguments."""
    prefix, *args = raw.split(":")
    return prefix, args
