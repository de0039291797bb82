"""A local stand-in for the Telegram Bot API server, for the tests and the terminal console.

The stand-in is an aiohttp application started inside the running event loop. A real
python-telegram-bot ``Bot`` or ``Application`` talks to it over HTTP exactly as it talks
to Telegram::

    async with BotApiStandIn() as standin:
        app = (
            Application.builder()
            .token(standin.token)
            .base_url(standin.base_url)
            .base_file_url(standin.base_file_url)
            .build()
        )

It simulates users and group chats, builds the updates a Telegram client would produce
(texts, commands, button presses, contacts, files), queues them for ``getUpdates`` long
polling, and records everything the bot sends. Every request is validated against the
Bot API 10.0 specification and Telegram's limits, answering with Telegram's own error
descriptions, so a bot that works here fails on Telegram for fewer reasons.

The package is organised in parts:

- ``limits``: rate limiting (``Limits``, ``TokenBucket``, ``RateLimiter``, ``ManualClock``);
- ``world``: the simulated world (``SimUser``, ``SimGroup``, ``SentMessage``, ``StoredFile``,
  ``BotEvent``, ``RequestRecord``, ``Held``: a request ``hold()`` keeps on its way);
- ``state``: what the stand-in knows and records, and what tests read from it;
- ``updates``: the update builders, the update queue, getUpdates and webhooks;
- ``methods``: the other Bot API methods (send, edit, delete, answer, files, commands);
- ``server``: ``BotApiStandIn``, which joins the parts and serves them over HTTP;
- ``faults``: failures a test arms (``standin.faults.add("sendMessage", "5xx", times=2)``):
  5xx answers without effect, answers late after the effect, dropped connections;
- ``spec``: the specification (``bot-api-10.0.min.json``, shipped here) and request
  validation; ``entities`` (with ``text``, ``html_text``, ``markdown_text``): formatted-text
  parsing.

Nothing here imports the bot: the stand-in is Telegram, seen from outside.
"""

from __future__ import annotations

from botapi_standin.faults import Fault, FaultKind, Faults
from botapi_standin.limits import Limits, ManualClock, RateLimiter, TokenBucket
from botapi_standin.server import BotApiStandIn
from botapi_standin.spec import SPEC_PATH, ApiError
from botapi_standin.state import DEFAULT_TOKEN
from botapi_standin.updates import Copied
from botapi_standin.world import BotEvent, Held, RequestRecord, SentMessage, SimGroup, SimUser, StoredFile

__all__ = [
    "DEFAULT_TOKEN",
    "SPEC_PATH",
    "ApiError",
    "BotApiStandIn",
    "BotEvent",
    "Copied",
    "Fault",
    "FaultKind",
    "Faults",
    "Held",
    "Limits",
    "ManualClock",
    "RateLimiter",
    "RequestRecord",
    "SentMessage",
    "SimGroup",
    "SimUser",
    "StoredFile",
    "TokenBucket",
]
