"""The simulated world: users, group chats, files and messages, and what the bot did.

Plain dataclasses that know how to show themselves as Bot API objects (``to_api``,
``chat_payload``, ``media_payload``); the stand-in's state keeps them.
"""

from __future__ import annotations

import asyncio
import pickle
import struct
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

JsonDict = dict[str, Any]
EventKind = Literal["send", "edit", "delete", "answer", "chat_action"]
T = TypeVar("T")


def copy_json(value: T) -> T:
    """A deep copy of JSON-like data: a pickle round trip, several times faster than deepcopy."""
    copied: T = pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
    return copied


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
            "from": copy_json(self.sender),
            "chat": copy_json(self.chat),
            "date": self.date,
        }
        if self.message_thread_id is not None:
            message["message_thread_id"] = self.message_thread_id
            message["is_topic_message"] = True
        if self.forward_origin is not None:
            message["forward_origin"] = copy_json(self.forward_origin)
        if self.reply_to is not None and with_reply:
            message["reply_to_message"] = self.reply_to.to_api(with_reply=False)
        if self.edit_date is not None:
            message["edit_date"] = self.edit_date
        if self.kind == "text":
            message["text"] = self.plain_text
            if self.entities:
                message["entities"] = copy_json(self.entities)
        else:
            message.update(copy_json(self.media))
            if self.plain_text:
                message["caption"] = self.plain_text
                if self.entities:
                    message["caption_entities"] = copy_json(self.entities)
        if self.inline_markup is not None:
            message["reply_markup"] = copy_json(self.inline_markup)
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


@dataclass(eq=False)
class Held:
    """A request the stand-in keeps waiting, neither carried out nor answered, until released.

    It models a request still on its way to Telegram: if the bot's process dies while it
    waits, Telegram never saw it. ``caught`` is set when a matching request arrives (its
    parameters are then in ``params``); ``release()`` lets it through.
    """

    method: str
    chat_id: int | str | None = None
    caught: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    params: JsonDict | None = None

    def matches(self, method: str, params: JsonDict) -> bool:
        """Whether a request is the one to hold (the first one that matches is)."""
        if self.caught.is_set() or method != self.method:
            return False
        return self.chat_id is None or params.get("chat_id") == self.chat_id

    def release(self) -> None:
        """Let the held request (or the next matching one) through."""
        self.released.set()


@dataclass(frozen=True)
class RequestRecord:
    """One Bot API request: method, decoded parameters, HTTP status, error description.

    ``fault`` is the kind of fault the test armed for it (``botapi_standin.faults``), if
    any; a dropped connection has status 0. ``ignored`` names the parameters the method
    does not have, which were ignored as Telegram ignores them.
    """

    method: str
    params: JsonDict
    status: int
    description: str | None = None
    fault: str | None = None
    ignored: tuple[str, ...] = ()


def image_size(data: bytes) -> tuple[int, int] | None:
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
