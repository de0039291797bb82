"""The Bot API methods the stand-in serves, other than getUpdates and webhooks.

Sending, copying, forwarding, editing and deleting messages, answering callback
queries, files, commands, the menu button and getChat. Each method takes a validated
``Call`` and answers as Telegram would, raising ``ApiError`` with Telegram's own
descriptions; texts and captions go through the formatted-text parsers and the limits.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Awaitable, Callable
from pathlib import PurePosixPath
from typing import Any

from botapi_standin.entities import parse_formatted
from botapi_standin.spec import ApiError, UploadedFile, bad_request, missing_parameter
from botapi_standin.state import Call, StandInState, scope_key
from botapi_standin.text import (
    EntityParseError,
    FormattedText,
    UnsupportedParseModeError,
    clip_entities,
    trim,
    utf16_len,
)
from botapi_standin.world import (
    BotEvent,
    Chat,
    JsonDict,
    SentMessage,
    SimGroup,
    SimUser,
    StoredFile,
    copy_json,
    image_size,
)

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024

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
COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")


class BotApiMethods(StandInState):
    """The message, callback, file, command and chat methods of the Bot API."""

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

    def _input_file(self, value: Any, kind: str, call: Call) -> StoredFile:
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
            size = image_size(upload.data)
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

    def _message_methods(self) -> dict[str, Callable[[Call], Awaitable[Any]]]:
        """The Bot API methods served here, by name."""
        return {
            "getMe": self._get_me,
            "logOut": self._return_true,
            "close": self._return_true,
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

    async def _return_true(self, call: Call) -> bool:
        return True

    async def _get_me(self, call: Call) -> JsonDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _send_message(self, call: Call) -> JsonDict:
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

    async def _send_media(self, call: Call, kind: str) -> JsonDict:
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

    async def _send_photo(self, call: Call) -> JsonDict:
        return await self._send_media(call, "photo")

    async def _send_document(self, call: Call) -> JsonDict:
        return await self._send_media(call, "document")

    async def _send_voice(self, call: Call) -> JsonDict:
        return await self._send_media(call, "voice")

    async def _send_chat_action(self, call: Call) -> bool:
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

    async def _copy_message(self, call: Call) -> JsonDict:
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

    async def _forward_message(self, call: Call) -> JsonDict:
        params = call.params
        source = self._source_message(params, "forward")
        chat = self._resolve_chat(params["chat_id"], sending=True)
        self._count_message(chat)
        origin = {"type": "user", "date": source.date, "sender_user": copy_json(source.sender)}
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

    async def _edit_message_text(self, call: Call) -> JsonDict:
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

    async def _edit_message_caption(self, call: Call) -> JsonDict:
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

    async def _edit_message_reply_markup(self, call: Call) -> JsonDict:
        _, message = self._editable(call.params)
        markup = call.params.get("reply_markup")
        if markup == message.inline_markup:
            raise bad_request(NOT_MODIFIED)
        _replace_markup(message, markup)
        return await self._finish_edit(message)

    async def _delete_message(self, call: Call) -> bool:
        chat = self._resolve_chat(call.params["chat_id"], sending=False)
        message = self._messages_by_id.get((chat.id, call.params["message_id"]))
        if message is None or message.deleted:
            raise bad_request("message to delete not found")
        message.deleted = True
        await self._emit(BotEvent("delete", chat.id, message))
        return True

    async def _answer_callback_query(self, call: Call) -> bool:
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
            **copy_json(params),
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

    async def _get_file(self, call: Call) -> JsonDict:
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
        return scope_key(scope), language

    async def _set_my_commands(self, call: Call) -> bool:
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

    async def _get_my_commands(self, call: Call) -> list[JsonDict]:
        return copy_json(self._commands.get(self._commands_key(call.params), []))

    async def _delete_my_commands(self, call: Call) -> bool:
        self._commands.pop(self._commands_key(call.params), None)
        return True

    async def _set_chat_menu_button(self, call: Call) -> bool:
        chat_id = call.params.get("chat_id")
        if chat_id is not None:
            self._resolve_chat(chat_id, sending=False)
        self._menu_buttons[chat_id] = copy_json(call.params.get("menu_button") or {"type": "default"})
        return True

    async def _get_chat_menu_button(self, call: Call) -> JsonDict:
        chat_id = call.params.get("chat_id")
        if chat_id is not None:
            self._resolve_chat(chat_id, sending=False)
        return self.menu_button(chat_id)

    async def _get_chat(self, call: Call) -> JsonDict:
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


def _replace_markup(message: SentMessage, markup: JsonDict | None) -> None:
    # An edit without reply_markup removes an inline keyboard; a reply keyboard lives on
    # in the client and is not part of the message.
    if markup is not None or message.inline_markup is not None:
        message.reply_markup = copy_json(markup)


def _copy_file_fields(source: SentMessage, target: SentMessage) -> None:
    target.file_bytes, target.file_id = source.file_bytes, source.file_id
    target.file_name, target.mime_type = source.file_name, source.mime_type
