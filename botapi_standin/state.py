"""The stand-in's state: simulated users and chats, every message and file, the queues.

``StandInState`` holds everything the stand-in knows and what tests read from it (users,
messages, commands, files, listeners), and stores new messages and files. The update
builders (``updates``), the Bot API methods (``methods``) and the HTTP server
(``server``) are built on it.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import logging
import mimetypes
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

from botapi_standin.limits import Clock, Limits, RateLimiter
from botapi_standin.spec import BotApiSpec, UploadedFile, load_spec
from botapi_standin.text import FormattedText
from botapi_standin.world import (
    BotEvent,
    Chat,
    Held,
    JsonDict,
    RequestRecord,
    SentMessage,
    SimGroup,
    SimUser,
    StoredFile,
    copy_json,
)

logger = logging.getLogger(__name__)

Listener = Callable[[BotEvent], object]

DEFAULT_TOKEN = "123456789:STANDIN-TEST-TOKEN-aaaaaaaaaaaaaaaaa"
FILE_FOLDERS = {"photo": "photos", "document": "documents", "voice": "voice"}


@dataclass
class PendingQuery:
    """A callback query sent to the bot, answered at most once."""

    user_id: int
    chat_id: int | None
    message_id: int | None
    data: str | None
    answered: bool = False


@dataclass(frozen=True)
class Call:
    """A validated request handed to a method implementation."""

    method: str
    params: JsonDict
    attachments: dict[str, UploadedFile]


def scope_key(scope: JsonDict | None) -> str:
    """The key commands are stored under for a BotCommandScope (None is the default scope)."""
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


class StandInState:
    """The simulated world and the stand-in's records, shared by its parts."""

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
        self._queries: dict[str, PendingQuery] = {}
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
        self._holds: list[Held] = []
        self.requests: list[RequestRecord] = []
        # answerCallbackQuery parameters as sent, plus user_id, chat_id, message_id and
        # data of the query they answer.
        self.callback_answers: list[JsonDict] = []

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

    # ------------------------------------------------------------------ requests held on the way

    def hold(self, method: str, *, chat_id: int | str | None = None) -> Held:
        """Keep the next ``method`` request (to ``chat_id``, if given) waiting until released.

        The request is neither carried out nor answered while it waits: to the bot, Telegram
        is slow. If the bot's connection goes away meanwhile (its process was killed), the
        request is dropped, never carried out. Stopping the stand-in releases every hold.
        """
        held = Held(method, chat_id)
        self._holds.append(held)
        return held

    async def _wait_if_held(self, method: str, params: JsonDict) -> None:
        """Wait while a hold catches this request (cancelled with it if the client goes away)."""
        held = next((h for h in self._holds if h.matches(method, params)), None)
        if held is None:
            return
        held.params = copy_json(params)
        held.caught.set()
        await held.released.wait()

    def _release_all(self) -> None:
        for held in self._holds:
            held.release()
        self._holds.clear()

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
        return copy_json(self._commands.get((scope_key(scope), language_code), []))

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
                commands = self._commands.get((scope_key(scope), code))
                if commands:
                    return copy_json(commands)
        return []

    def menu_button(self, chat_id: int | None = None) -> JsonDict:
        """The menu button set for a chat (or the default one)."""
        button = self._menu_buttons.get(chat_id) or self._menu_buttons.get(None)
        return copy_json(button or {"type": "default"})

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

    # ------------------------------------------------------------------ helpers

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
            reply_markup=copy_json(reply_markup),
            media=copy_json(media or {}),
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
