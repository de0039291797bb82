"""Where the chat opens the Mini App: the menu button beside the input field, and buttons under
the main menu, a card and a digest, each opening its screen (bot.telegram.mini_app).

They appear only when the Mini App has a public https address; without one the bot is as it
was, with no Mini App button anywhere.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import MenuButtonDefault

from bot.app import CONSOLE_TOKEN
from bot.config import Settings
from bot.console.driver import Driver, running_bot
from bot.telegram import mini_app
from botapi_standin.world import SentMessage
from tests.conftest import FakeClock
from tests.e2e.world import (
    ADMIN,
    CUSTOMER,
    LEAD,
    OTHER_LEAD,
    OTHER_REP,
    REP,
    REP2,
    STRANGER,
    add_customer,
    build_world,
    texts,
)

WEB_URL = "https://crm.example.com/app/"
STAFF = (ADMIN, LEAD, REP, REP2, OTHER_LEAD, OTHER_REP)


@pytest.fixture
async def web_bot(engine: AsyncEngine, clock: FakeClock) -> AsyncIterator[Driver]:
    settings = Settings(
        DATABASE_URL=engine.url.render_as_string(hide_password=False),
        SALESBOT_WEB_URL=WEB_URL,
        SALESBOT_WEB_PORT=0,
    )
    async with running_bot(engine=engine, clock=clock, settings=settings) as driver:
        yield driver


def web_apps(message: SentMessage) -> dict[str, str]:
    """The Mini App buttons under a message: label → address."""
    return {b["text"]: b["web_app"]["url"] for b in message.buttons() if "web_app" in b}


def every_web_app(messages: list[SentMessage]) -> list[dict[str, Any]]:
    return [b for m in messages for b in m.buttons() if "web_app" in b]


async def test_a_card_opens_its_whole_form_and_the_menu_the_board(web_bot: Driver) -> None:
    await build_world(web_bot)
    cid = await add_customer(web_bot, REP, "王总", "13800138000")
    card = web_bot.last(REP)
    assert web_apps(card) == {"📝 完整卡片": f"{WEB_URL}?open=card_{cid}"}
    # Every section's keyboard has it, and the English one in English.
    replies = await web_bot.callback(REP, card.message_id, f"cv:{cid}:personal")
    assert web_apps(replies[-1]) == {"📝 完整卡片": f"{WEB_URL}?open=card_{cid}"}
    await web_bot.send(REP2, "/language")
    await web_bot.press(REP2, "English")
    menu = (await web_bot.send(REP2, "/menu"))[-1]
    assert web_apps(menu) == {"🗂 Open the board": f"{WEB_URL}?open=board"}
    assert "🗂 打开看板" in web_apps((await web_bot.send(REP, "/menu"))[-1])


async def test_a_digest_opens_the_dashboard(web_bot: Driver) -> None:
    await build_world(web_bot)
    await add_customer(web_bot, REP, "王总", "13800138000")
    replies = await web_bot.send(LEAD, "/digest")
    assert "👤 看某位成员的记录" in [b["text"] for b in replies[-1].buttons()], texts(replies)
    assert web_apps(replies[-1]) == {"📊 打开仪表盘": f"{WEB_URL}?open=dashboard"}


async def test_staff_get_the_mini_app_in_the_menu_button_in_their_language(web_bot: Driver) -> None:
    await build_world(web_bot)
    standin = web_bot.standin
    for uid in STAFF:
        assert standin.menu_button(uid) == {
            "type": "web_app",
            "text": "看板",
            "web_app": {"url": WEB_URL},
        }, uid
    for uid in (CUSTOMER, STRANGER):
        assert standin.menu_button(uid) == {"type": "default"}, uid

    await web_bot.send(REP, "/language")
    await web_bot.press(REP, "English")
    assert standin.menu_button(REP)["text"] == "Board"

    # A member taken out of the team loses it.
    await web_bot.send(LEAD, "/team")
    await web_bot.press(LEAD, "Tom")
    await web_bot.press(LEAD, "移出团队")
    await web_bot.press(LEAD, "确认")
    assert standin.menu_button(REP2) == {"type": "default"}


async def test_at_start_up_every_staff_member_gets_the_menu_button(web_bot: Driver) -> None:
    """A Mini App switched on after the team was made: nobody need send /start again."""
    await build_world(web_bot)
    for uid in STAFF:
        await web_bot.app.bot.set_chat_menu_button(chat_id=uid, menu_button=MenuButtonDefault())
    await web_bot.send(OTHER_REP, "/language")
    await web_bot.press(OTHER_REP, "English")

    assert await mini_app.offer_all(web_bot.app.bot, web_bot.services) == len(STAFF)

    for uid in STAFF:
        expected = "Board" if uid == OTHER_REP else "看板"
        assert web_bot.standin.menu_button(uid) == {
            "type": "web_app",
            "text": expected,
            "web_app": {"url": WEB_URL},
        }, uid
    assert web_bot.standin.menu_button(CUSTOMER) == {"type": "default"}


async def test_without_a_public_address_there_is_no_mini_app_button(bot: Driver) -> None:
    await build_world(bot)
    await add_customer(bot, REP, "王总", "13800138000")
    await bot.send(REP, "/menu")
    await bot.send(LEAD, "/digest")
    everything = [m for uid in (REP, LEAD) for m in bot.standin.messages(uid)]
    assert len(everything) > 10 and every_web_app(everything) == []
    assert all(bot.standin.menu_button(uid) == {"type": "default"} for uid in STAFF)
    assert not any(r.method == "setChatMenuButton" for r in bot.standin.requests)


def test_a_loopback_address_serves_browsers_only() -> None:
    """Telegram opens only https Mini Apps: a loopback http address (the console's) gets no
    buttons in the chat, and a screen is named in the query, the address's own kept."""
    local = Settings(SALESBOT_WEB_URL="http://127.0.0.1:8080/")
    assert local.mini_app_url is None and mini_app.link(local, "board") is None
    public = Settings(SALESBOT_WEB_URL="https://crm.example.com/app?team=1")
    assert (
        mini_app.link(public) == "https://crm.example.com/app/?team=1"
    )  # a folder: the page's files beside it
    assert mini_app.link(public, "card_7") == "https://crm.example.com/app/?team=1&open=card_7"
    bare = Settings(SALESBOT_WEB_URL="https://crm.example.com")
    assert mini_app.link(bare) == "https://crm.example.com/"
    assert mini_app.link(bare, "dashboard") == "https://crm.example.com/?open=dashboard"


async def _menu_buttons_command(bot: Driver, database_url: str, **env: str) -> str:
    """`salesbot menu-buttons` in its own process, against the test's stand-in and database."""
    environment = {
        **os.environ,
        "BOT_TOKEN": CONSOLE_TOKEN,
        "DATABASE_URL": database_url,
        "TELEGRAM_API_BASE_URL": bot.standin.base_url,
        "TELEGRAM_FILE_BASE_URL": bot.standin.base_file_url,
        "SALESBOT_LOG_LEVEL": "WARNING",
        **env,
    }
    if "SALESBOT_WEB_URL" not in env:
        environment.pop("SALESBOT_WEB_URL", None)
    command = [sys.executable, "-c", "from bot.cli import main; main()", "menu-buttons"]
    process = await asyncio.create_subprocess_exec(
        *command, env=environment, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, output.decode(errors="replace")
    return output.decode()


async def test_the_menu_buttons_command_switches_them_on_and_off(bot: Driver, database_url: str) -> None:
    """Switching the Mini App on or off later: `salesbot menu-buttons` sets every staff
    member's button now (the bot itself also sets them at start-up when it has a Mini App)."""
    await build_world(bot)
    said = await _menu_buttons_command(bot, database_url, SALESBOT_WEB_URL=WEB_URL)
    assert f"{len(STAFF)} staff member(s) now have the Mini App" in said
    for uid in STAFF:
        assert bot.standin.menu_button(uid)["type"] == "web_app", uid
    assert bot.standin.menu_button(CUSTOMER) == {"type": "default"}

    said = await _menu_buttons_command(bot, database_url)
    assert f"{len(STAFF)} staff member(s) now have the default menu" in said
    assert all(bot.standin.menu_button(uid) == {"type": "default"} for uid in STAFF)
