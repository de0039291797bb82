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

The module is organised in parts: rate limiting (``Limits``, ``TokenBucket``,
``RateLimiter``), the simulated world (``SimUser``, ``SimGroup``, ``SentMessage``,
``StoredFile``), the update builders and Bot API methods (``BotApiStandIn``), and the
HTTP layer at the end of that class. Request validation lives in ``standin_spec`` and
formatted-text parsing in ``standin_entities``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import logging
import math
import mimetypes
import os
import pickle
import re
import secrets
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from types import TracebackType
from typing import Any, Literal, TypeVar

from aiohttp import web

from bot.console.standin_entities import (
    EntityParseError,
    FormattedText,
    UnsupportedParseModeError,
    clip_entities,
    parse_formatted,
    trim,
    utf16_len,
)
from bot.console.standin_spec import (
    ApiError,
    BotApiSpec,
    RawRequest,
    UploadedFile,
    bad_request,
    decode_request,
    load_spec,
    missing_parameter,
)

__all__ = [
    "DEFAULT_TOKEN",
    "ApiError",
    "BotApiStandIn",
    "BotEvent",
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

logger = logging.getLogger(__name__)

JsonDict = dict[str, Any]
Clock = Callable[[], float]
EventKind = Literal["send", "edit", "delete", "answer", "chat_action"]
Listener = Callable[["BotEvent"], object]
T = TypeVar("T")


def _copy(value: T) -> T:
    """A deep copy of JSON-like data: a pickle round trip, several times faster than deepcopy."""
    copied: T = pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
    return copied


DEFAULT_TOKEN = "123456789:STANDIN-TEST-TOKEN-aaaaaaaaaaaaaaaaa"

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
# Bots may upload up to 50 MB; leave room for the multipart framing.
MAX_REQUEST_BYTES = 52 * 1024 * 1024

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice",
        "upload_voice", "upload_document", "choose_sticker", "find_location",
        "record_video_note", "upload_video_note",
    }
)  # fmt: skip
# Update kinds delivered when allowed_updates is empty or was never set.
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
START_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
BOT_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")
COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
FILE_FOLDERS = {"photo": "photos", "document": "documents", "voice": "voice"}


class Copied(ValueError):
    """A copy-text button was pressed: a phone copies its text and sends the bot nothing."""

    def __init__(self, text: str) -> None:
        self.text = text
        super().__init__(f"copied: {text}")


# =========================================================================== rate limiting


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


# =========================================================================== the simulated world


@dataclass
class SimUser:
    """A simulated Telegram user; their private chat with the bot has the same id."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "zh-hans"
    started: bool = False
    blocked: bool = False

    def to_api(self) -> JsonDict:
        """The User object."""
        user: JsonDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key) is not None:
                user[key] = getattr(self, key)
        return user

    def chat_payload(self) -> JsonDict:
        """The Chat object of the private chat with the bot."""
        chat: JsonDict = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name is not None:
            chat["last_name"] = self.last_name
        if self.username is not None:
            chat["username"] = self.username
        return chat


@dataclass
class SimGroup:
    """A simulated group or supergroup (negative id) the bot is a member of."""

    id: int
    title: str
    is_forum: bool = False
    username: str | None = None

    @property
    def type(self) -> str:
        """Supergroup for forums and -100… ids (as Telegram numbers them), else group."""
        return "supergroup" if self.is_forum or str(self.id).startswith("-100") else "group"

    def chat_payload(self) -> JsonDict:
        """The Chat object."""
        chat: JsonDict = {"id": self.id, "type": self.type, "title": self.title}
        if self.username is not None:
            chat["username"] = self.username
        if self.is_forum:
            chat["is_forum"] = True
        return chat


Chat = SimUser | SimGroup


@dataclass(frozen=True)
class StoredFile:
    """A file known to the stand-in, sent by the bot or by a simulated user."""

    file_id: str
    file_unique_id: str
    kind: str
    content: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0
    duration: int = 0
    url: str | None = None

    def media_payload(self) -> JsonDict:
        """The message field describing this file (photo, document or voice)."""
        base: JsonDict = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.content),
        }
        if self.kind == "photo":
            return {"photo": [{**base, "width": self.width, "height": self.height}]}
        if self.kind == "voice":
            return {"voice": {**base, "duration": self.duration, "mime_type": self.mime_type}}
        document = dict(base)
        if self.file_name is not None:
            document["file_name"] = self.file_name
        if self.mime_type is not None:
            document["mime_type"] = self.mime_type
        return {"document": document}


@dataclass
class SentMessage:
    """A message in a simulated chat: sent by the bot (from_bot) or by a simulated user.

    ``text`` is the text or caption exactly as sent (markup included, read it with
    ``parse_mode``), None when there is none; ``plain_text`` and ``entities`` are what
    the user sees after Telegram parsed it. ``reply_markup`` is the markup as sent, of
    any kind; ``file_bytes`` holds the content of a photo, document or voice.
    """

    chat_id: int
    message_id: int
    kind: str
    date: int
    sender: JsonDict
    chat: JsonDict
    text: str | None = None
    plain_text: str = ""
    from_bot: bool = True
    parse_mode: str | None = None
    entities: list[JsonDict] = field(default_factory=list)
    reply_markup: JsonDict | None = None
    media: JsonDict = field(default_factory=dict)
    file_bytes: bytes | None = None
    file_id: str | None = None
    file_name: str | None = None
    mime_type: str | None = None
    message_thread_id: int | None = None
    reply_to: SentMessage | None = None
    forward_origin: JsonDict | None = None
    edited: bool = False
    edit_date: int | None = None
    deleted: bool = False

    @property
    def caption(self) -> str | None:
        """The caption of a media message as sent (None for text messages)."""
        return None if self.kind in {"text", "contact"} else self.text

    @property
    def inline_markup(self) -> JsonDict | None:
        """The reply markup if it is an inline keyboard (the only kind Telegram echoes)."""
        if self.reply_markup is not None and "inline_keyboard" in self.reply_markup:
            return self.reply_markup
        return None

    def buttons(self) -> list[JsonDict]:
        """The inline keyboard buttons, row by row."""
        markup = self.inline_markup
        return [button for row in markup["inline_keyboard"] for button in row] if markup else []

    def to_api(self, *, with_reply: bool = True) -> JsonDict:
        """The Message object as Telegram would return or deliver it now."""
        message: JsonDict = {
            "message_id": self.message_id,
            "from": _copy(self.sender),
            "chat": _copy(self.chat),
            "date": self.date,
        }
        if self.message_thread_id is not None:
            message["message_thread_id"] = self.message_thread_id
            message["is_topic_message"] = True
        if self.forward_origin is not None:
            message["forward_origin"] = _copy(self.forward_origin)
        if self.reply_to is not None and with_reply:
            message["reply_to_message"] = self.reply_to.to_api(with_reply=False)
        if self.edit_date is not None:
            message["edit_date"] = self.edit_date
        if self.kind == "text":
            message["text"] = self.plain_text
            if self.entities:
                message["entities"] = _copy(self.entities)
        else:
            message.update(_copy(self.media))
            if self.plain_text:
                message["caption"] = self.plain_text
                if self.entities:
                    message["caption_entities"] = _copy(self.entities)
        if self.inline_markup is not None:
            message["reply_markup"] = _copy(self.inline_markup)
        return message


@dataclass(frozen=True)
class BotEvent:
    """Something the bot did that a user would see; the console prints these.

    ``message`` is the message sent, edited or deleted (for "answer", the message whose
    button was pressed); ``action`` is the chat action; ``answer`` an entry of
    ``callback_answers``.
    """

    kind: EventKind
    chat_id: int | None
    message: SentMessage | None = None
    action: str | None = None
    answer: JsonDict | None = None


@dataclass(frozen=True)
class RequestRecord:
    """One Bot API request: method, decoded parameters, HTTP status, error description."""

    method: str
    params: JsonDict
    status: int
    description: str | None = None


@dataclass
class _PendingQuery:
    user_id: int
    chat_id: int | None
    message_id: int | None
    data: str | None
    answered: bool = False


@dataclass(frozen=True)
class _Call:
    """A validated request handed to a method implementation."""

    method: str
    params: JsonDict
    attachments: dict[str, UploadedFile]


# =========================================================================== the stand-in


class BotApiStandIn:
    """A local Bot API server with simulated users, chats and files."""

    def __init__(
        self,
        spec: BotApiSpec | str | os.PathLike[str] | None = None,
        *,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "standin_bot",
        bot_first_name: str = "Stand-in Bot",
        limits: Limits | None = None,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        bot_id, _, secret = token.partition(":")
        if not bot_id.isdigit() or not secret:
            raise ValueError("token must look like '<bot id>:<secret>'")
        self.token = token
        self.bot_id = int(bot_id)
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self._clock = clock
        self._wall_clock = wall_clock
        self._host = host
        self._requested_port = port
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        # The specification: parsed already, a path to its JSON file, or found by load_spec().
        if isinstance(spec, BotApiSpec):
            self._spec = spec
        else:
            self._spec = load_spec(os.fspath(spec) if spec is not None else None)
        self._limiter = RateLimiter(limits or Limits(), clock)

        self._users: dict[int, SimUser] = {}
        self._groups: dict[int, SimGroup] = {}
        self._history: dict[int, list[SentMessage]] = {}
        self._messages_by_id: dict[tuple[int, int], SentMessage] = {}
        self._next_message_id: dict[int, int] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_counter = itertools.count(1)
        self._queries: dict[str, _PendingQuery] = {}
        self._query_counter = itertools.count(1)
        self._commands: dict[tuple[str, str], list[JsonDict]] = {}
        self._menu_buttons: dict[int | None, JsonDict] = {}

        self._updates: list[JsonDict] = []
        self._update_counter = itertools.count(100_000_001)
        self._last_enqueued_id = 0
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._polls_waiting = 0
        self._poll_wakeup = asyncio.Event()
        self._stopping = False
        self._webhook: JsonDict | None = None

        self._listeners: list[Listener] = []
        self.requests: list[RequestRecord] = []
        # answerCallbackQuery parameters as sent, plus user_id, chat_id, message_id and
        # data of the query they answer.
        self.callback_answers: list[JsonDict] = []
        self._handlers = self._method_table()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start serving on host:port (port 0 picks a free one) in the running loop."""
        if self._runner is not None:
            raise RuntimeError("the stand-in is already running")
        self._stopping = False
        # handler_cancellation ends a long poll whose client went away (PTB cancels its
        # getUpdates on shutdown); a short shutdown_timeout keeps stop() fast.
        runner = web.AppRunner(
            self._build_app(), handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self._host, self._requested_port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        address = runner.addresses[0]
        self._port = int(address[1])

    async def stop(self) -> None:
        """Wake any long poll, then stop serving."""
        if self._runner is None:
            return
        self._stopping = True
        self._wake_pollers()
        runner, self._runner = self._runner, None
        await runner.cleanup()
        self._port = None

    async def __aenter__(self) -> BotApiStandIn:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The TCP port the stand-in listens on."""
        if self._port is None:
            raise RuntimeError("the stand-in is not running")
        return self._port

    @property
    def base_url(self) -> str:
        """What to pass to ApplicationBuilder.base_url (PTB appends the token)."""
        return f"http://{self._host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """What to pass to ApplicationBuilder.base_file_url (PTB appends the token)."""
        return f"http://{self._host}:{self.port}/file/bot"

    @property
    def limits(self) -> Limits:
        """The flood limits in force."""
        return self._limiter.limits

    @limits.setter
    def limits(self, limits: Limits) -> None:
        # New limits start with full buckets.
        self._limiter = RateLimiter(limits, self._clock)

    @property
    def bot_user(self) -> JsonDict:
        """The bot's User object as it appears in "from" fields."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    # ------------------------------------------------------------------ users and chats

    def add_user(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
        started: bool = False,
    ) -> SimUser:
        """Add a simulated user, who starts the bot by writing to it (or with started=True).

        Adding a known user again updates their profile and keeps the state of their
        chat with the bot (started, blocked).
        """
        if user_id <= 0:
            raise ValueError("user ids are positive")
        if user_id == self.bot_id:
            raise ValueError("that id belongs to the bot")
        known = self._users.get(user_id)
        user = SimUser(user_id, first_name, last_name, username, language_code, started)
        if known is not None:
            user.started = known.started or started
            user.blocked = known.blocked
        self._users[user_id] = user
        return user

    def add_group(
        self, chat_id: int, title: str, is_forum: bool = False, *, username: str | None = None
    ) -> SimGroup:
        """Add a group chat (negative id) that the bot is a member of."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        group = SimGroup(chat_id, title, is_forum, username)
        self._groups[chat_id] = group
        return group

    def user(self, user_id: int) -> SimUser:
        """A simulated user by id (KeyError if unknown)."""
        return self._users[user_id]

    @property
    def users(self) -> list[SimUser]:
        """All simulated users."""
        return list(self._users.values())

    def block(self, user_id: int) -> JsonDict:
        """The user blocks the bot; returns the my_chat_member update Telegram sends."""
        user = self._require_user(user_id)
        user.blocked = True
        return self._chat_member_update(user, "member", "kicked")

    def unblock(self, user_id: int) -> JsonDict:
        """The user unblocks the bot; returns the my_chat_member update Telegram sends."""
        user = self._require_user(user_id)
        user.blocked = False
        return self._chat_member_update(user, "kicked", "member")

    # ------------------------------------------------------------------ what the bot sent

    def messages(self, chat_id: int, *, include_deleted: bool = True) -> list[SentMessage]:
        """Messages the bot sent to a chat, oldest first."""
        return [
            m for m in self._history.get(chat_id, []) if m.from_bot and (include_deleted or not m.deleted)
        ]

    def history(self, chat_id: int) -> list[SentMessage]:
        """Every message in a chat, the users' as well as the bot's, oldest first."""
        return list(self._history.get(chat_id, []))

    def last_message(self, chat_id: int) -> SentMessage | None:
        """The bot's latest message in a chat that is not deleted."""
        sent = self.messages(chat_id, include_deleted=False)
        return sent[-1] if sent else None

    def commands(self, scope: JsonDict | None = None, language_code: str = "") -> list[JsonDict]:
        """The bot commands set for a scope (default scope if None) and language."""
        return _copy(self._commands.get((_scope_key(scope), language_code), []))

    def commands_for(self, user_id: int) -> list[JsonDict]:
        """The commands a user sees in their private chat, resolved as Telegram does.

        Scopes are tried from the narrowest (this chat) to the default, each first with
        the user's language and then without one.
        """
        user = self._require_user(user_id)
        language = (user.language_code or "").split("-")[0].lower()
        scopes: list[JsonDict | None] = [
            {"type": "chat", "chat_id": user_id},
            {"type": "all_private_chats"},
            None,
        ]
        for scope in scopes:
            for code in dict.fromkeys((language, "")):
                commands = self._commands.get((_scope_key(scope), code))
                if commands:
                    return _copy(commands)
        return []

    def menu_button(self, chat_id: int | None = None) -> JsonDict:
        """The menu button set for a chat (or the default one)."""
        button = self._menu_buttons.get(chat_id) or self._menu_buttons.get(None)
        return _copy(button or {"type": "default"})

    def file(self, file_id: str) -> StoredFile:
        """A stored file by file_id (KeyError if unknown)."""
        return self._files[file_id]

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call listener(BotEvent) for everything the bot does; returns an unsubscribe function.

        The listener may be a coroutine function; it runs before the bot's request is
        answered, and its exceptions are logged, never passed on to the bot.
        """
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    # ------------------------------------------------------------------ updates from users

    def text_update(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        message_thread_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> JsonDict:
        """The update for a text the user sends; a leading /command gets its bot_command entity."""
        if not text:
            raise ValueError("a Telegram client cannot send an empty message")
        entities: list[JsonDict] = []
        command = BOT_COMMAND.match(text)
        if command:
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command[0])})
        return self._user_message(
            user_id,
            chat_id,
            kind="text",
            text=text,
            entities=entities,
            message_thread_id=message_thread_id,
            reply_to_message_id=reply_to_message_id,
        )

    def start_update(self, user_id: int, payload: str | None = None) -> JsonDict:
        """The update for opening t.me/<bot>?start=<payload> (a /start deep link)."""
        if payload is not None and not START_PAYLOAD.fullmatch(payload):
            # Telegram clients drop a malformed start parameter; a test should not rely on it.
            raise ValueError("a start parameter is 1-64 characters of A-Za-z0-9_-")
        return self.text_update(user_id, "/start" if payload is None else f"/start {payload}")

    def contact_update(
        self,
        user_id: int,
        phone_number: str,
        first_name: str,
        last_name: str | None = None,
        contact_user_id: int | None = None,
    ) -> JsonDict:
        """The update for a contact the user shares."""
        contact: JsonDict = {"phone_number": phone_number, "first_name": first_name}
        if last_name is not None:
            contact["last_name"] = last_name
        if contact_user_id is not None:
            contact["user_id"] = contact_user_id
        return self._user_message(user_id, None, kind="contact", media={"contact": contact})

    def document_update(
        self,
        user_id: int,
        file_name: str,
        content: bytes,
        mime_type: str,
        *,
        caption: str | None = None,
    ) -> JsonDict:
        """The update for a file the user sends; getFile and the file URL serve its bytes."""
        stored = self._new_file("document", content, file_name=file_name, mime_type=mime_type)
        return self._user_file_message(user_id, stored, caption)

    def photo_update(self, user_id: int, content: bytes, caption: str | None = None) -> JsonDict:
        """The update for a photo the user sends."""
        width, height = _image_size(content) or (1280, 960)
        stored = self._new_file("photo", content, mime_type="image/jpeg", size=(width, height))
        return self._user_file_message(user_id, stored, caption)

    def voice_update(self, user_id: int, content: bytes, duration: int) -> JsonDict:
        """The update for a voice note the user records."""
        stored = self._new_file("voice", content, mime_type="audio/ogg", duration=duration)
        return self._user_file_message(user_id, stored, None)

    def callback_update(
        self,
        user_id: int,
        message_id: int,
        data: str,
        *,
        forged: bool = False,
        chat_id: int | None = None,
    ) -> JsonDict:
        """The update for pressing a callback button on a bot message.

        A real client can only press buttons that exist, so unless forged is true a
        ValueError is raised when the message has no button with that callback_data.
        """
        user = self._require_user(user_id)
        chat = self._chat_of_user(user, chat_id)
        message = self._messages_by_id.get((chat.id, message_id))
        alive = message is not None and not message.deleted
        if not forged:
            if message is None or not alive or not message.from_bot:
                raise ValueError(f"chat {chat.id} has no bot message {message_id} to press")
            datas = [b.get("callback_data") for b in message.buttons()]
            if data not in datas:
                raise ValueError(
                    f"message {message_id} has no button with callback_data {data!r}; it has {datas!r}"
                )
        query_id = str(4_200_000_000_000_000_000 + next(self._query_counter))
        if message is not None and alive:
            attached = message.to_api()
        else:
            attached = {"chat": chat.chat_payload(), "message_id": message_id, "date": 0}
        self._queries[query_id] = _PendingQuery(user.id, chat.id, message_id, data)
        query = {
            "id": query_id,
            "from": user.to_api(),
            "message": attached,
            "chat_instance": str((chat.id * 2_654_435_761) % (1 << 63)),
            "data": data,
        }
        return self._make_update("callback_query", query)

    def press(self, user_id: int, button: str | int, *, chat_id: int | None = None) -> JsonDict:
        """Press a button on the bot's latest message with an inline keyboard.

        ``button`` is the button's number as the console shows it, counting from 1 in
        reading order, or its label: an exact match, else the first label containing it.
        """
        target = user_id if chat_id is None else chat_id
        candidates = [m for m in self.messages(target, include_deleted=False) if m.buttons()]
        if not candidates:
            raise ValueError(f"no bot message with an inline keyboard in chat {target}")
        message = candidates[-1]
        buttons = message.buttons()
        if isinstance(button, int):
            if not 1 <= button <= len(buttons):
                raise ValueError(f"message {message.message_id} has buttons 1-{len(buttons)}, not {button}")
            chosen = buttons[button - 1]
        else:
            matching = [b for b in buttons if b["text"] == button]
            matching = matching or [b for b in buttons if button in b["text"]]
            if not matching:
                texts = [b["text"] for b in buttons]
                raise ValueError(f"no button {button!r} on message {message.message_id}: {texts}")
            chosen = matching[0]
        if "copy_text" in chosen:
            raise Copied(str(chosen["copy_text"].get("text", "")))
        if "callback_data" not in chosen:
            raise ValueError(f"button {chosen['text']!r} is not a callback button: {chosen}")
        return self.callback_update(user_id, message.message_id, chosen["callback_data"], chat_id=chat_id)

    def enqueue(self, update: JsonDict) -> JsonDict:
        """Queue an update for getUpdates; returns it (with a fresh update_id if out of order)."""
        if not isinstance(update.get("update_id"), int):
            raise ValueError("an update needs an integer update_id")
        if update["update_id"] <= self._last_enqueued_id:
            # Keep the queue ordered, or confirming by offset would drop this update.
            update = {**update, "update_id": next(self._update_counter)}
        self._last_enqueued_id = update["update_id"]
        self._updates.append(_copy(update))
        self._wake_pollers()
        return update

    @property
    def polls_waiting(self) -> int:
        """How many getUpdates requests are waiting for an update right now."""
        return self._polls_waiting

    @property
    def pending_updates(self) -> list[JsonDict]:
        """Updates queued and not yet confirmed by the bot."""
        return _copy(self._updates)

    # ------------------------------------------------------------------ helpers for updates

    def _require_user(self, user_id: int) -> SimUser:
        user = self._users.get(user_id)
        if user is None:
            raise ValueError(f"unknown user {user_id}; call add_user() first")
        return user

    def _chat_of_user(self, user: SimUser, chat_id: int | None) -> Chat:
        if chat_id is None or chat_id == user.id:
            return user
        group = self._groups.get(chat_id)
        if group is None:
            raise ValueError(f"unknown chat {chat_id}; call add_group() first")
        return group

    def _make_update(self, kind: str, payload: JsonDict) -> JsonDict:
        return {"update_id": next(self._update_counter), kind: payload}

    def _user_message(
        self,
        user_id: int,
        chat_id: int | None,
        *,
        kind: str,
        text: str = "",
        entities: list[JsonDict] | None = None,
        media: JsonDict | None = None,
        stored: StoredFile | None = None,
        message_thread_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> JsonDict:
        user = self._require_user(user_id)
        chat = self._chat_of_user(user, chat_id)
        if isinstance(chat, SimUser):
            # Writing to the bot starts it, and a blocked bot must be unblocked first.
            user.started = True
            user.blocked = False
        reply_to = None
        if reply_to_message_id is not None:
            reply_to = self._messages_by_id.get((chat.id, reply_to_message_id))
            if reply_to is None:
                raise ValueError(f"chat {chat.id} has no message {reply_to_message_id}")
        message = self._store_message(
            chat,
            from_bot=False,
            sender=user.to_api(),
            kind=kind,
            text=text or None,
            plain=FormattedText(text, tuple(entities or ())),
            media=media or (stored.media_payload() if stored else {}),
            stored=stored,
            message_thread_id=message_thread_id,
            reply_to=reply_to,
        )
        return self._make_update("message", message.to_api())

    def _user_file_message(self, user_id: int, stored: StoredFile, caption: str | None) -> JsonDict:
        kind = stored.kind
        return self._user_message(user_id, None, kind=kind, text=caption or "", stored=stored)

    def _chat_member_update(self, user: SimUser, old: str, new: str) -> JsonDict:
        def member(status: str) -> JsonDict:
            entry: JsonDict = {"status": status, "user": self.bot_user}
            if status == "kicked":
                entry["until_date"] = 0
            return entry

        payload = {
            "chat": user.chat_payload(),
            "from": user.to_api(),
            "date": self._now(),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
        return self._make_update("my_chat_member", payload)

    # ------------------------------------------------------------------ storage

    def _now(self) -> int:
        return int(self._wall_clock())

    def _store_message(
        self,
        chat: Chat,
        *,
        from_bot: bool,
        sender: JsonDict,
        kind: str,
        text: str | None,
        plain: FormattedText,
        parse_mode: str | None = None,
        reply_markup: JsonDict | None = None,
        media: JsonDict | None = None,
        stored: StoredFile | None = None,
        message_thread_id: int | None = None,
        reply_to: SentMessage | None = None,
        forward_origin: JsonDict | None = None,
    ) -> SentMessage:
        message_id = self._next_message_id.get(chat.id, 1)
        self._next_message_id[chat.id] = message_id + 1
        forum = isinstance(chat, SimGroup) and chat.is_forum
        message = SentMessage(
            chat_id=chat.id,
            message_id=message_id,
            kind=kind,
            date=self._now(),
            sender=sender,
            chat=chat.chat_payload(),
            text=text,
            plain_text=plain.text,
            from_bot=from_bot,
            parse_mode=parse_mode,
            entities=[dict(e) for e in plain.entities],
            reply_markup=_copy(reply_markup),
            media=_copy(media or {}),
            file_bytes=stored.content if stored else None,
            file_id=stored.file_id if stored else None,
            file_name=stored.file_name if stored else None,
            mime_type=stored.mime_type if stored else None,
            message_thread_id=message_thread_id if forum else None,
            reply_to=reply_to,
            forward_origin=forward_origin,
        )
        self._history.setdefault(chat.id, []).append(message)
        self._messages_by_id[(chat.id, message_id)] = message
        return message

    def _new_file(
        self,
        kind: str,
        content: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        size: tuple[int, int] = (0, 0),
        duration: int = 0,
        url: str | None = None,
    ) -> StoredFile:
        number = next(self._file_counter)
        if kind == "photo":
            suffix = ".jpg"  # Telegram re-encodes photos as JPEG
        elif kind == "voice":
            suffix = ".oga"
        else:
            suffix = PurePosixPath(file_name or "").suffix or (
                mimetypes.guess_extension(mime_type or "") or ""
            )
        prefix = {"photo": "AgAC", "voice": "AwAC"}.get(kind, "BQAC")
        stored = StoredFile(
            file_id=f"{prefix}{number:08d}{secrets.token_urlsafe(12)}",
            file_unique_id=f"AQAD{number:08d}",
            kind=kind,
            content=content,
            file_path=f"{FILE_FOLDERS[kind]}/file_{number}{suffix}",
            file_name=file_name,
            mime_type=mime_type,
            width=size[0],
            height=size[1],
            duration=duration,
            url=url,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    async def _emit(self, event: BotEvent) -> None:
        for listener in list(self._listeners):
            try:
                result = listener(event)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception("stand-in listener %r failed on %s", listener, event.kind)

    # ------------------------------------------------------------------ request helpers

    def _resolve_chat(self, chat_id: Any, *, sending: bool) -> Chat:
        """The chat a request names; errors as Telegram gives them.

        With sending, a private chat must also be open: the user started the bot and
        has not blocked it.
        """
        chat: Chat | None = None
        if isinstance(chat_id, str):
            name = chat_id.lower().removeprefix("@")
            chat = next((g for g in self._groups.values() if (g.username or "").lower() == name), None)
        elif chat_id > 0:
            chat = self._users.get(chat_id)
        else:
            chat = self._groups.get(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        if isinstance(chat, SimUser):
            if not chat.started and not sending:
                raise bad_request("chat not found")
            if sending and chat.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if sending and not chat.started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return chat

    def _mention_user(self, user_id: int) -> JsonDict | None:
        user = self._users.get(user_id)
        return user.to_api() if user else None

    def _formatted(
        self,
        text: str | None,
        parse_mode: str | None,
        entities: list[JsonDict] | None,
        *,
        caption: bool,
    ) -> FormattedText:
        """Parse and check a text or caption: entities, trimming, Telegram's length limits."""
        if text is None:
            return FormattedText("")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise bad_request("text must be encoded in UTF-8") from None
        if entities is not None:
            formatted = clip_entities(FormattedText(text, tuple(entities)))
        else:
            try:
                formatted = parse_formatted(text, parse_mode, resolve_user=self._mention_user)
            except UnsupportedParseModeError:
                raise bad_request("unsupported parse_mode") from None
            except EntityParseError as exc:
                raise bad_request(f"can't parse entities: {exc}") from None
        formatted = trim(formatted)
        if caption:
            if utf16_len(formatted.text) > MAX_CAPTION_LENGTH:
                raise bad_request("message caption is too long")
        else:
            if not formatted.text:
                raise bad_request("message text is empty")
            if utf16_len(formatted.text) > MAX_TEXT_LENGTH:
                raise bad_request("message is too long")
        return formatted

    def _reply_target(self, chat: Chat, reply: JsonDict | None) -> SentMessage | None:
        if not reply:
            return None
        target_chat = reply.get("chat_id", chat.id)
        if isinstance(target_chat, str):
            target_chat = self._resolve_chat(target_chat, sending=False).id
        message = self._messages_by_id.get((target_chat, reply["message_id"]))
        if message is None or message.deleted:
            if reply.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found")
        return message

    def _count_message(self, chat: Chat) -> None:
        self._limiter.acquire(chat.id, group=isinstance(chat, SimGroup))

    def _input_file(self, value: Any, kind: str, call: _Call) -> StoredFile:
        """The file a send* request refers to: an upload, an attach:// part, a URL or a file_id."""
        upload: UploadedFile | None = None
        if isinstance(value, UploadedFile):
            upload = value
        elif value.startswith("attach://"):
            upload = call.attachments.get(value.removeprefix("attach://"))
            if upload is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
        elif re.match(r"https?://", value, re.IGNORECASE):
            # The stand-in cannot fetch the URL; it records a file without content.
            name = PurePosixPath(value.split("?", 1)[0]).name or None
            mime = "image/jpeg" if kind == "photo" else None
            return self._new_file(kind, b"", file_name=name, mime_type=mime, url=value)
        else:
            existing = self._files.get(value)
            if existing is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
            if existing.kind != kind:
                raise bad_request(f"can't use file of type {existing.kind.title()} as {kind.title()}")
            return existing
        if not upload.data:
            raise bad_request("file must be non-empty")
        if kind == "photo":
            size = _image_size(upload.data)
            if size is None:
                raise bad_request("IMAGE_PROCESS_FAILED")
            return self._new_file("photo", upload.data, mime_type="image/jpeg", size=size)
        mime = upload.content_type
        if not mime or mime == "application/octet-stream":
            mime = mimetypes.guess_type(upload.filename or "")[0] or mime
        if kind == "voice":
            duration = int(call.params.get("duration") or 0)
            return self._new_file("voice", upload.data, mime_type=mime or "audio/ogg", duration=duration)
        return self._new_file(kind, upload.data, file_name=upload.filename, mime_type=mime)

    def _editable(self, params: JsonDict) -> tuple[Chat, SentMessage]:
        """The bot message an edit request names."""
        if params.get("inline_message_id") is not None:
            raise bad_request("MESSAGE_ID_INVALID")  # the stand-in has no inline messages
        if params.get("chat_id") is None:
            raise missing_parameter("chat_id")
        if params.get("message_id") is None:
            raise missing_parameter("message_id")
        chat = self._resolve_chat(params["chat_id"], sending=True)
        message = self._messages_by_id.get((chat.id, params["message_id"]))
        if message is None or message.deleted:
            raise bad_request("message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return chat, message

    async def _finish_edit(self, message: SentMessage) -> JsonDict:
        message.edited = True
        message.edit_date = self._now()
        await self._emit(BotEvent("edit", message.chat_id, message))
        return message.to_api()

    # ------------------------------------------------------------------ Bot API methods

    def _method_table(self) -> dict[str, Callable[[_Call], Awaitable[Any]]]:
        table: dict[str, Callable[[_Call], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "logOut": self._return_true,
            "close": self._return_true,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendVoice": self._send_voice,
            "sendChatAction": self._send_chat_action,
            "copyMessage": self._copy_message,
            "forwardMessage": self._forward_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "getFile": self._get_file,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "getChat": self._get_chat,
        }
        unknown = set(table) - set(self._spec.methods)
        if unknown:
            raise RuntimeError(f"methods missing from the Bot API specification: {unknown}")
        return table

    async def _return_true(self, call: _Call) -> bool:
        return True

    async def _get_me(self, call: _Call) -> JsonDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, call: _Call) -> list[JsonDict]:
        params = call.params
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        limit = min(max(int(params.get("limit", 100)), 1), 100)
        timeout = max(float(params.get("timeout", 0)), 0.0)
        if "allowed_updates" in params:
            self._allowed_updates = frozenset(params["allowed_updates"]) or None
        self._confirm(params.get("offset"))
        # A newer getUpdates ends an older one, as on Telegram.
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake_pollers()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            ready = self._deliverable(limit)
            remaining = deadline - loop.time()
            if ready or self._stopping or remaining <= 0:
                return ready
            wakeup = self._poll_wakeup
            self._polls_waiting += 1
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), remaining)
            finally:
                self._polls_waiting -= 1

    def _wake_pollers(self) -> None:
        wakeup, self._poll_wakeup = self._poll_wakeup, asyncio.Event()
        wakeup.set()

    def _confirm(self, offset: int | None) -> None:
        if offset is None:
            return
        if offset < 0:
            self._updates = self._updates[offset:]
        else:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]

    def _deliverable(self, limit: int) -> list[JsonDict]:
        allowed = self._allowed_updates

        def wanted(update: JsonDict) -> bool:
            kind = next((k for k in update if k != "update_id"), "")
            return kind in allowed if allowed else kind not in DEFAULT_EXCLUDED_UPDATES

        # Telegram never delivers updates of unwanted kinds; they are simply dropped.
        self._updates = [u for u in self._updates if wanted(u)]
        return _copy(self._updates[:limit])

    async def _set_webhook(self, call: _Call) -> bool:
        url = call.params["url"]
        if not url:
            self._webhook = None
            return True
        if not url.lower().startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        # Minimal: the URL is remembered (getUpdates then conflicts) but nothing is pushed.
        self._webhook = {"url": url}
        if "allowed_updates" in call.params:
            self._allowed_updates = frozenset(call.params["allowed_updates"]) or None
        if call.params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _delete_webhook(self, call: _Call) -> bool:
        self._webhook = None
        if call.params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, call: _Call) -> JsonDict:
        info: JsonDict = {
            "url": self._webhook["url"] if self._webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._allowed_updates:
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    async def _send_message(self, call: _Call) -> JsonDict:
        params = call.params
        chat = self._resolve_chat(params["chat_id"], sending=True)
        text = self._formatted(
            params["text"], params.get("parse_mode"), params.get("entities"), caption=False
        )
        reply_to = self._reply_target(chat, params.get("reply_parameters"))
        self._count_message(chat)
        message = self._store_message(
            chat,
            from_bot=True,
            sender=self.bot_user,
            kind="text",
            text=params["text"],
            plain=text,
            parse_mode=params.get("parse_mode"),
            reply_markup=params.get("reply_markup"),
            message_thread_id=params.get("message_thread_id"),
            reply_to=reply_to,
        )
        await self._emit(BotEvent("send", chat.id, message))
        return message.to_api()

    async def _send_media(self, call: _Call, kind: str) -> JsonDict:
        params = call.params
        chat = self._resolve_chat(params["chat_id"], sending=True)
        stored = self._input_file(params[kind], kind, call)
        caption = self._formatted(
            params.get("caption"),
            params.get("parse_mode"),
            params.get("caption_entities"),
            caption=True,
        )
        reply_to = self._reply_target(chat, params.get("reply_parameters"))
        self._count_message(chat)
        message = self._store_message(
            chat,
            from_bot=True,
            sender=self.bot_user,
            kind=kind,
            text=params.get("caption") or None,
            plain=caption,
            parse_mode=params.get("parse_mode"),
            reply_markup=params.get("reply_markup"),
            media=stored.media_payload(),
            stored=stored,
            message_thread_id=params.get("message_thread_id"),
            reply_to=reply_to,
        )
        await self._emit(BotEvent("send", chat.id, message))
        return message.to_api()

    async def _send_photo(self, call: _Call) -> JsonDict:
        return await self._send_media(call, "photo")

    async def _send_document(self, call: _Call) -> JsonDict:
        return await self._send_media(call, "document")

    async def _send_voice(self, call: _Call) -> JsonDict:
        return await self._send_media(call, "voice")

    async def _send_chat_action(self, call: _Call) -> bool:
        # Not rate limited: a chat action creates no message, and bots typically send one
        # right before the message it announces.
        chat = self._resolve_chat(call.params["chat_id"], sending=True)
        action = call.params["action"]
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        await self._emit(BotEvent("chat_action", chat.id, action=action))
        return True

    def _source_message(self, params: JsonDict, verb: str) -> SentMessage:
        source_chat = self._resolve_chat(params["from_chat_id"], sending=False)
        source = self._messages_by_id.get((source_chat.id, params["message_id"]))
        if source is None or source.deleted:
            raise bad_request(f"message to {verb} not found")
        return source

    async def _copy_message(self, call: _Call) -> JsonDict:
        params = call.params
        source = self._source_message(params, "copy")
        chat = self._resolve_chat(params["chat_id"], sending=True)
        plain = FormattedText(source.plain_text, tuple(source.entities))
        text, parse_mode = source.text, source.parse_mode
        if source.kind != "text" and "caption" in params:
            plain = self._formatted(
                params["caption"],
                params.get("parse_mode"),
                params.get("caption_entities"),
                caption=True,
            )
            text, parse_mode = params["caption"] or None, params.get("parse_mode")
        reply_to = self._reply_target(chat, params.get("reply_parameters"))
        self._count_message(chat)
        message = self._store_message(
            chat,
            from_bot=True,
            sender=self.bot_user,
            kind=source.kind,
            text=text,
            plain=plain,
            parse_mode=parse_mode,
            reply_markup=params.get("reply_markup"),
            media=source.media,
            message_thread_id=params.get("message_thread_id"),
            reply_to=reply_to,
        )
        _copy_file_fields(source, message)
        await self._emit(BotEvent("send", chat.id, message))
        return {"message_id": message.message_id}

    async def _forward_message(self, call: _Call) -> JsonDict:
        params = call.params
        source = self._source_message(params, "forward")
        chat = self._resolve_chat(params["chat_id"], sending=True)
        self._count_message(chat)
        origin = {"type": "user", "date": source.date, "sender_user": _copy(source.sender)}
        message = self._store_message(
            chat,
            from_bot=True,
            sender=self.bot_user,
            kind=source.kind,
            text=source.text,
            plain=FormattedText(source.plain_text, tuple(source.entities)),
            parse_mode=source.parse_mode,
            media=source.media,
            message_thread_id=params.get("message_thread_id"),
            forward_origin=origin,
        )
        _copy_file_fields(source, message)
        await self._emit(BotEvent("send", chat.id, message))
        return message.to_api()

    async def _edit_message_text(self, call: _Call) -> JsonDict:
        params = call.params
        _, message = self._editable(params)
        if message.kind != "text":
            raise bad_request("there is no text in the message to edit")
        text = self._formatted(
            params["text"], params.get("parse_mode"), params.get("entities"), caption=False
        )
        markup = params.get("reply_markup")
        if (
            text.text == message.plain_text
            and list(text.entities) == message.entities
            and markup == message.inline_markup
        ):
            raise bad_request(NOT_MODIFIED)
        message.plain_text, message.entities = text.text, [dict(e) for e in text.entities]
        message.text, message.parse_mode = params["text"], params.get("parse_mode")
        _replace_markup(message, markup)
        return await self._finish_edit(message)

    async def _edit_message_caption(self, call: _Call) -> JsonDict:
        params = call.params
        _, message = self._editable(params)
        if message.kind in {"text", "contact"}:
            raise bad_request("there is no caption in the message to edit")
        caption = self._formatted(
            params.get("caption"),
            params.get("parse_mode"),
            params.get("caption_entities"),
            caption=True,
        )
        markup = params.get("reply_markup")
        if (
            caption.text == message.plain_text
            and list(caption.entities) == message.entities
            and markup == message.inline_markup
        ):
            raise bad_request(NOT_MODIFIED)
        message.plain_text, message.entities = caption.text, [dict(e) for e in caption.entities]
        message.text, message.parse_mode = params.get("caption") or None, params.get("parse_mode")
        _replace_markup(message, markup)
        return await self._finish_edit(message)

    async def _edit_message_reply_markup(self, call: _Call) -> JsonDict:
        _, message = self._editable(call.params)
        markup = call.params.get("reply_markup")
        if markup == message.inline_markup:
            raise bad_request(NOT_MODIFIED)
        _replace_markup(message, markup)
        return await self._finish_edit(message)

    async def _delete_message(self, call: _Call) -> bool:
        chat = self._resolve_chat(call.params["chat_id"], sending=False)
        message = self._messages_by_id.get((chat.id, call.params["message_id"]))
        if message is None or message.deleted:
            raise bad_request("message to delete not found")
        message.deleted = True
        await self._emit(BotEvent("delete", chat.id, message))
        return True

    async def _answer_callback_query(self, call: _Call) -> bool:
        params = call.params
        query_id = params["callback_query_id"]
        query = self._queries.get(query_id)
        if query is None or query.answered:
            raise bad_request(QUERY_TOO_OLD)
        text = params.get("text")
        if text is not None and utf16_len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        url = params.get("url")
        if url is not None and not re.match(r"(https?://)?(t\.me|telegram\.me)/", url, re.I):
            # Only t.me links (and game URLs, which the stand-in has none of) are allowed.
            raise bad_request("URL_INVALID")
        query.answered = True
        answer = {
            **_copy(params),
            "user_id": query.user_id,
            "chat_id": query.chat_id,
            "message_id": query.message_id,
            "data": query.data,
        }
        self.callback_answers.append(answer)
        message = None
        if query.chat_id is not None and query.message_id is not None:
            message = self._messages_by_id.get((query.chat_id, query.message_id))
        await self._emit(BotEvent("answer", query.chat_id, message, answer=answer))
        return True

    async def _get_file(self, call: _Call) -> JsonDict:
        stored = self._files.get(call.params["file_id"])
        if stored is None:
            raise bad_request("invalid file_id")
        if len(stored.content) > MAX_DOWNLOAD_BYTES:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    def _commands_key(self, params: JsonDict) -> tuple[str, str]:
        scope = params.get("scope")
        if scope and "chat_id" in scope:
            self._resolve_chat(scope["chat_id"], sending=False)
        language = params.get("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise bad_request("LANGUAGE_CODE_INVALID")
        return _scope_key(scope), language

    async def _set_my_commands(self, call: _Call) -> bool:
        commands = call.params["commands"]
        if len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not COMMAND_NAME.fullmatch(command["command"]):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(command["description"].strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(call.params)
        if commands:
            self._commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self._commands.pop(key, None)
        return True

    async def _get_my_commands(self, call: _Call) -> list[JsonDict]:
        return _copy(self._commands.get(self._commands_key(call.params), []))

    async def _delete_my_commands(self, call: _Call) -> bool:
        self._commands.pop(self._commands_key(call.params), None)
        return True

    async def _set_chat_menu_button(self, call: _Call) -> bool:
        chat_id = call.params.get("chat_id")
        if chat_id is not None:
            self._resolve_chat(chat_id, sending=False)
        self._menu_buttons[chat_id] = _copy(call.params.get("menu_button") or {"type": "default"})
        return True

    async def _get_chat_menu_button(self, call: _Call) -> JsonDict:
        chat_id = call.params.get("chat_id")
        if chat_id is not None:
            self._resolve_chat(chat_id, sending=False)
        return self.menu_button(chat_id)

    async def _get_chat(self, call: _Call) -> JsonDict:
        chat = self._resolve_chat(call.params["chat_id"], sending=False)
        return {
            **chat.chat_payload(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    # ------------------------------------------------------------------ HTTP layer

    def _build_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        return app

    async def _handle_api(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        method = self._spec.find_method(name)
        params: JsonDict = {}
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if method is None:
                raise ApiError(404, "Not Found")
            decoded = decode_request(self._spec, method, await _read_request(request))
            params = decoded.params
            handler = self._handlers.get(method.name)
            if handler is None:
                raise bad_request("method not supported by the stand-in")
            result = await handler(_Call(method.name, decoded.params, decoded.attachments))
            status, body = 200, {"ok": True, "result": result}
        except ApiError as exc:
            status, body = exc.status, exc.payload()
        except Exception:
            # A bug in the stand-in: answer like a broken server, and say where to look.
            logger.exception("stand-in failed on %s", name)
            status = 500
            body = {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        self.requests.append(
            RequestRecord(method.name if method else name, params, status, body.get("description"))
        )
        return web.json_response(body, status=status)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
        stored = self._files_by_path.get(request.match_info["path"])
        if stored is None:
            return web.json_response(ApiError(404, "Not Found").payload(), status=404)
        content_type = stored.mime_type or "application/octet-stream"
        return web.Response(body=stored.content, content_type=content_type)

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        return web.json_response(ApiError(404, "Not Found").payload(), status=404)


# =========================================================================== module helpers


async def _read_request(request: web.Request) -> RawRequest:
    """Collect parameters from the query string and a form, multipart or JSON body."""
    strings: dict[str, str] = dict(request.query)
    typed: dict[str, Any] = {}
    files: dict[str, UploadedFile] = {}
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON object") from None
            if not isinstance(body, dict):
                raise bad_request("can't parse JSON object")
            typed = body
        elif request.content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    data = value.file.read()
                    files[key] = UploadedFile(key, value.filename, value.content_type, data)
                elif isinstance(value, str):
                    strings[key] = value
                else:
                    strings[key] = bytes(value).decode("utf-8", "replace")
    return RawRequest(strings, typed, files)


def _scope_key(scope: JsonDict | None) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


def _replace_markup(message: SentMessage, markup: JsonDict | None) -> None:
    # An edit without reply_markup removes an inline keyboard; a reply keyboard lives on
    # in the client and is not part of the message.
    if markup is not None or message.inline_markup is not None:
        message.reply_markup = _copy(markup)


def _copy_file_fields(source: SentMessage, target: SentMessage) -> None:
    target.file_bytes, target.file_id = source.file_bytes, source.file_id
    target.file_name, target.mime_type = source.file_name, source.mime_type


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF, JPEG, WebP or BMP image; None if it is not one."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in {b"GIF87a", b"GIF89a"} and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"BM") and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return abs(int(width)), abs(int(height))
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        if data[12:16] == b"VP8X" and len(data) >= 30:
            width = 1 + int.from_bytes(data[24:27], "little")
            height = 1 + int.from_bytes(data[27:30], "little")
            return width, height
        return 512, 512
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data) or (512, 512)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            index += 1
            continue
        marker = data[index + 1]
        if marker in {0xD8, 0x01, 0xFF} or 0xD0 <= marker <= 0xD7:
            index += 1 if marker == 0xFF else 2
            continue
        (length,) = struct.unpack(">H", data[index + 2 : index + 4])
        # Start-of-frame markers carry the size; C4, C8 and CC are other segments.
        if 0xC0 <= marker <= 0xCF and marker not in {0xC4, 0xC8, 0xCC}:
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return int(width), int(height)
        index += 2 + int(length)
    return None
