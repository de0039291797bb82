"""Small helpers that turn texts and ids into messages and keyboards."""

from __future__ import annotations

import asyncio
import html
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any, NamedTuple, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update, WebAppInfo
from telegram.error import BadRequest

from bot.telegram.context import BotContext
from bot.telegram.routes import data

log = logging.getLogger(__name__)
T = TypeVar("T")

Button = tuple[str, str]  # (label, callback data)


class Open(NamedTuple):
    """A button that opens the Mini App at a screen (Telegram allows them in private chats only)."""

    label: str
    url: str


MESSAGE_LIMIT = 4096
BUTTON_LABEL_MAX = 40


def button(label: str, prefix: str, *args: object) -> Button:
    """A button whose data is `prefix:args` (labels are shortened to stay phone-sized)."""
    return (shorten(label, BUTTON_LABEL_MAX), data(prefix, *args))


class Keyboard(InlineKeyboardMarkup):
    """An inline keyboard that turns itself into JSON-ready data once.

    Keyboards never change once built, and a card's is kept and sent again on every
    view (see `card_keyboard`), so the conversion is done on the first send only. The
    data is shared: the sending code only encodes it.
    """

    __slots__ = ("_as_dict",)

    def to_dict(self, recursive: bool = True) -> dict[str, Any]:
        if not recursive:
            return super().to_dict(recursive=False)
        try:
            return self._as_dict
        except AttributeError:
            built = super().to_dict()
            with self._unfrozen():
                self._as_dict: dict[str, Any] = built
            return built


def keyboard(rows: Sequence[Sequence[Button | Open]]) -> InlineKeyboardMarkup:
    """An inline keyboard from rows of (label, data) and Mini App buttons; empty rows are dropped."""
    return Keyboard([[_inline(item) for item in row] for row in rows if row])


def _inline(item: Button | Open) -> InlineKeyboardButton:
    if isinstance(item, Open):
        return InlineKeyboardButton(item.label, web_app=WebAppInfo(item.url))
    label, callback_data = item
    return InlineKeyboardButton(label, callback_data=callback_data)


def chunk(buttons: Sequence[Button], per_row: int) -> list[list[Button]]:
    """Lay buttons out `per_row` to a row."""
    return [list(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row)]


def shorten(text: str, limit: int) -> str:
    """Cut a text to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape(text: str) -> str:
    """Escape user text for HTML messages built outside templates."""
    return html.escape(text, quote=False)


_TAGS = re.compile(r"<[^>]+>")


def visible_length(text: str) -> int:
    """Length of an HTML message as Telegram counts it: UTF-16 units of the text shown."""
    shown = html.unescape(_TAGS.sub("", text))
    return len(shown.encode("utf-16-le")) // 2


def fits(text: str) -> bool:
    """Whether an HTML message is within Telegram's 4096-character limit."""
    return visible_length(text) <= MESSAGE_LIMIT


def fit(text: str) -> str:
    """Keep a rendered HTML message within Telegram's limit, whatever its content.

    Lists budget their entries so this rarely triggers; when it does, the message is
    sent as plain text cut at a line break, which can never break a tag or an entity.
    """
    if fits(text):
        return text
    shown = html.unescape(_TAGS.sub("", text))
    budget = MESSAGE_LIMIT - 10
    cut = shown.encode("utf-16-le")[: budget * 2].decode("utf-16-le", errors="ignore")
    cut = cut.rsplit("\n", 1)[0] if "\n" in cut[-500:] else cut
    return html.escape(cut, quote=False) + "\n…"


async def reply(
    update: Update,
    context: BotContext,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    edit: bool = False,
) -> Message | None:
    """Answer the user: edit the pressed message when asked, otherwise send a new one."""
    text = fit(text)
    query = update.callback_query
    if edit and query is not None and query.message is not None:
        try:
            result = await query.edit_message_text(text, reply_markup=markup)
            return result if isinstance(result, Message) else None
        except BadRequest as error:
            if "not modified" in str(error).lower():
                return None
            # An old message that cannot be edited any more: send a fresh one.
    chat = update.effective_chat
    assert chat is not None
    return await context.bot.send_message(chat.id, text, reply_markup=markup)


async def answer_while(update: Update, work: Awaitable[T]) -> T:
    """Answer the button press while `work` (the edit it asked for) runs.

    The two requests to Telegram overlap instead of waiting for each other; the
    phone stops spinning and the message changes at the same time. An error of the
    work is the one raised; if the answer failed as well, that is logged.
    """
    query = update.callback_query
    if query is None:
        return await work
    answering = asyncio.ensure_future(query.answer())
    try:
        result = await work
    except BaseException:
        (failed,) = await asyncio.gather(answering, return_exceptions=True)
        if isinstance(failed, Exception):
            log.warning("answering a button failed too: %s", failed)
        raise
    await answering
    return result


async def answer_query(update: Update, text: str | None = None) -> None:
    """Answer the button press (every callback must be answered, or the phone spins)."""
    if update.callback_query is not None:
        await update.callback_query.answer(text)


def time_label(t: Callable[..., str], time_of_day: str | None) -> str:
    """`上午` / `15:30` / empty: the time of day a reminder was given for."""
    if time_of_day is None:
        return ""
    return time_of_day if ":" in time_of_day else t(f"time_of_day.{time_of_day}")


def when_label(t: Callable[..., str], day: date, time_of_day: str | None) -> str:
    """`2026-12-01 上午` / `2026-12-01 15:30` / `2026-12-01`: a reminder's day and time of day."""
    return " ".join(part for part in (day.isoformat(), time_label(t, time_of_day)) if part)
