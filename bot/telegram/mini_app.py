"""Where the chat opens the Mini App: the menu button beside the input field, and buttons under
a card and a digest, each opening its screen.

They exist only when the Mini App has a public https address (`Settings.mini_app_url`); without
one the bot shows none of them. A screen is named in the address's query (`?open=card_12`),
which Telegram keeps as it is when it adds its launch data to the address's fragment.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlencode, urlsplit, urlunsplit

from telegram import Bot, MenuButtonDefault, MenuButtonWebApp, WebAppInfo
from telegram.error import TelegramError

from bot.config import Settings
from bot.domain.access import Actor
from bot.runtime import Runtime
from bot.services import team as team_service
from bot.telegram.ui import Open, shorten

log = logging.getLogger(__name__)

MENU_LABEL_MAX = 16  # Telegram shows the menu button's text in a narrow pill


def link(settings: Settings, screen: str | None = None) -> str | None:
    """The Mini App's address opening at `screen` (board, dashboard, card_<id>), or None."""
    base = settings.mini_app_url
    if base is None or screen is None:
        return base
    parts = urlsplit(base)
    query = "&".join(part for part in (parts.query, urlencode({"open": screen})) if part)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, ""))


def button(services: Runtime, lang: str, key: str, screen: str) -> Open | None:
    """A button opening `screen`, labelled with the catalogue's `key`; None without a Mini App."""
    url = link(services.settings, screen)
    return Open(shorten(services.text(lang, key), 40), url) if url is not None else None


async def set_menu_button(
    bot: Bot, services: Runtime, user_id: int, language: str, *, staff: bool, always: bool = False
) -> None:
    """Staff get the Mini App in the chat's menu button, in their language; anyone else (a
    removed member) the default one. Nothing is set while the bot has no Mini App, unless
    `always` (then the default button: the Mini App switched off)."""
    url = services.settings.mini_app_url
    if url is None and not always:
        return
    if url is None:
        staff = False
    label = shorten(services.text(language, "btn.mini_app_menu"), MENU_LABEL_MAX)
    menu = MenuButtonWebApp(label, WebAppInfo(url)) if staff and url else MenuButtonDefault()
    await bot.set_chat_menu_button(chat_id=user_id, menu_button=menu)


async def offer(bot: Bot, services: Runtime, actor: Actor) -> None:
    """After a user's role or language changed: their menu button to match."""
    await set_menu_button(bot, services, actor.user_id, actor.language, staff=actor.is_staff)


async def offer_all(bot: Bot, services: Runtime, *, withdraw: bool = False) -> int:
    """At start-up: every staff member's menu button (a Mini App switched on, or moved, since
    they last used /start). Telegram keeps a chat's button, so this is safe to repeat; a
    chat that refuses (the user blocked the bot) is logged and skipped. With `withdraw`
    and no Mini App (`salesbot menu-buttons` after switching it off), every staff member's
    button goes back to the default. Returns how many were set."""
    if services.settings.mini_app_url is None and not withdraw:
        return 0
    admin_ids = services.settings.admin_ids
    members = await services.db(lambda s: team_service.staff(s, admin_ids=admin_ids), handles_update=False)
    done = 0
    for user_id, language in members:
        try:
            await set_menu_button(bot, services, user_id, language, staff=True, always=withdraw)
        except TelegramError as error:
            log.info("could not set the Mini App menu button for %s: %s", user_id, error)
            continue
        done += 1
    log.info("Mini App menu button set for %d of %d staff", done, len(members))
    return done


def offer_all_soon(bot: Bot, services: Runtime) -> asyncio.Task[int]:
    """`offer_all` in the background, so start-up does not wait for it; a failure is logged."""
    task = asyncio.create_task(offer_all(bot, services), name="mini-app-menu-buttons")

    def done(finished: asyncio.Task[int]) -> None:
        if not finished.cancelled() and finished.exception() is not None:
            log.error("setting the Mini App menu buttons failed", exc_info=finished.exception())

    task.add_done_callback(done)
    return task
