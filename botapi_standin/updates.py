"""Updates: what simulated users do, queued for the bot and delivered by getUpdates.

The builders (``text_update``, ``press``, ``contact_update``, …) make the Update objects a
Telegram client would cause and return them; ``enqueue`` queues one for long polling,
and the getUpdates and webhook methods deliver, confirm and filter the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable
from typing import Any

from botapi_standin.spec import ApiError, bad_request
from botapi_standin.state import Call, PendingQuery, StandInState
from botapi_standin.text import FormattedText, utf16_len
from botapi_standin.world import JsonDict, SimUser, StoredFile, copy_json, image_size

# Update kinds delivered when allowed_updates is empty or was never set.
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
START_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
BOT_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")


class Copied(ValueError):
    """A copy-text button was pressed: a phone copies its text and sends the bot nothing."""

    def __init__(self, text: str) -> None:
        self.text = text
        super().__init__(f"copied: {text}")


class UpdateQueue(StandInState):
    """Builds the updates users cause and serves them through getUpdates."""

    # ------------------------------------------------------------------ users block and unblock

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
        width, height = image_size(content) or (1280, 960)
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
        self._queries[query_id] = PendingQuery(user.id, chat.id, message_id, data)
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
        self._updates.append(copy_json(update))
        self._wake_pollers()
        return update

    @property
    def polls_waiting(self) -> int:
        """How many getUpdates requests are waiting for an update right now."""
        return self._polls_waiting

    @property
    def pending_updates(self) -> list[JsonDict]:
        """Updates queued and not yet confirmed by the bot."""
        return copy_json(self._updates)

    # ------------------------------------------------------------------ helpers for updates

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

    # ------------------------------------------------------------------ getUpdates and webhooks

    def _update_methods(self) -> dict[str, Callable[[Call], Awaitable[Any]]]:
        """The Bot API methods that deliver updates, by name."""
        return {
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
        }

    async def _get_updates(self, call: Call) -> list[JsonDict]:
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
        return copy_json(self._updates[:limit])

    async def _set_webhook(self, call: Call) -> bool:
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

    async def _delete_webhook(self, call: Call) -> bool:
        self._webhook = None
        if call.params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, call: Call) -> JsonDict:
        info: JsonDict = {
            "url": self._webhook["url"] if self._webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._allowed_updates:
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info
