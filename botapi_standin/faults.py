"""Faults on demand: make the next calls of a method fail the way Telegram sometimes does.

A test arms a fault and the stand-in applies it to the next ``times`` calls of that
method that reach it (valid or not), then answers normally again::

    standin.faults.add("sendMessage", "5xx", times=2, status=502)
    standin.faults.add("sendMessage", "slow_after", delay=1.5)

The kinds:

- ``"5xx"``: Telegram's front end fails. The call is **not** performed; the answer is
  HTTP ``status`` (500, 502, 503 or 504) with Telegram's JSON error body, e.g.
  ``{"ok": false, "error_code": 502, "description": "Bad Gateway"}``, sent after
  ``delay`` seconds (0 by default; a delay longer than the client's read timeout is a
  hang without effect).
- ``"slow_after"``: the call **is** performed (a message is sent and recorded, an update
  is delivered) but the answer comes ``delay`` seconds late, so a client with a shorter
  read timeout gives up: Telegram accepted the call and the bot did not hear it.
- ``"drop"``: the call is not performed and the connection is closed without any
  answer (after ``delay`` seconds).

Faults armed for one method apply in the order they were added. Every faulted request
is recorded in ``standin.requests`` like any other, with ``fault`` set to its kind.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal

FaultKind = Literal["5xx", "slow_after", "drop"]
KINDS: tuple[FaultKind, ...] = ("5xx", "slow_after", "drop")
SERVER_ERRORS = (500, 502, 503, 504)


@dataclass
class Fault:
    """One armed fault: what goes wrong for the next `times` calls of `method`."""

    method: str
    kind: FaultKind
    times: int = 1
    status: int = 502
    delay: float = 0.0

    @property
    def description(self) -> str:
        """The description Telegram's error body carries for this status ("Bad Gateway")."""
        return HTTPStatus(self.status).phrase

    def error_body(self) -> dict[str, Any]:
        """Telegram's JSON body for a failed call."""
        return {"ok": False, "error_code": self.status, "description": self.description}


class Faults:
    """The faults armed for the stand-in's methods, taken one call at a time."""

    def __init__(self, methods: Collection[str] = ()) -> None:
        self._methods = frozenset(methods)
        self._armed: list[Fault] = []

    def add(
        self,
        method: str,
        kind: FaultKind,
        *,
        times: int = 1,
        status: int = 502,
        delay: float = 0.0,
    ) -> Fault:
        """Make the next `times` calls of `method` fail as `kind` says (see the module)."""
        if self._methods and method not in self._methods:
            raise ValueError(f"{method!r} is not a Bot API method")
        if kind not in KINDS:
            raise ValueError(f"fault kind must be one of {KINDS}, not {kind!r}")
        if times < 1:
            raise ValueError("times must be at least 1")
        if kind == "5xx" and status not in SERVER_ERRORS:
            raise ValueError(f"a 5xx fault answers one of {SERVER_ERRORS}, not {status}")
        if delay < 0 or (kind == "slow_after" and delay == 0):
            raise ValueError("delay is seconds before the answer; slow_after needs more than 0")
        fault = Fault(method, kind, times, status, delay)
        self._armed.append(fault)
        return fault

    def take(self, method: str) -> Fault | None:
        """The fault for this call of `method`, if one is armed (using up one of its times)."""
        for fault in self._armed:
            if fault.method == method:
                fault.times -= 1
                if fault.times == 0:
                    self._armed.remove(fault)
                return fault
        return None

    @property
    def pending(self) -> list[Fault]:
        """The faults still armed, with the calls they will still fail."""
        return list(self._armed)

    def clear(self) -> None:
        """Disarm every fault."""
        self._armed.clear()
