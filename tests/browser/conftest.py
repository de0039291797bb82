"""The Mini App in a real browser: Debian's Chromium driven by Playwright, against the bot's own
server, with Telegram's script replaced by a stand-in the test controls (telegram-web-app.js
here). No request leaves the machine: anything but the local server is refused.

Screenshots go to test-artifacts/screens/ (not kept in git).
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, Route, async_playwright
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import CONSOLE_TOKEN
from bot.config import Settings
from bot.console.driver import Driver, running_bot
from bot.web import initdata
from tests.conftest import FakeClock

CHROMIUM = "/usr/bin/chromium"
TELEGRAM_SCRIPT = "https://telegram.org/js/telegram-web-app.js"
STANDIN = (Path(__file__).parent / "telegram-web-app.js").read_text(encoding="utf-8")
SCREENS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screens"
PHONE = {"width": 360, "height": 740}
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def web_bot(engine: AsyncEngine, clock: FakeClock) -> AsyncIterator[Driver]:
    """The bot with its Mini App served on a loopback port (the page's origin for writes)."""
    port = free_port()
    settings = Settings(
        DATABASE_URL=engine.url.render_as_string(hide_password=False),
        SALESBOT_WEB_URL=f"http://127.0.0.1:{port}/",
        SALESBOT_WEB_PORT=port,
    )
    async with running_bot(engine=engine, clock=clock, settings=settings, retry_delays=(0.05, 0.1)) as driver:
        yield driver


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test.sh installs Debian's chromium package")
    # Playwright starts Chromium with a new empty profile of its own each time.
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield launched
        finally:
            await launched.close()


class Phone:
    """A phone-sized page of the Mini App, opened as one Telegram user."""

    def __init__(self, page: Page, base: str) -> None:
        self.page, self.base = page, base
        self.refused: list[str] = []

    async def open(
        self, bot: Driver, user_id: int, name: str, *, language: str = "zh-hans", hash_: str = ""
    ) -> None:
        fields = {
            "user": initdata.user_field(user_id, name, language_code=language),
            "auth_date": str(int(bot.services.now().timestamp())),
            "query_id": f"q{user_id}",
        }
        await self.open_with(initdata.sign(fields, CONSOLE_TOKEN), hash_=hash_)

    async def open_with(self, init_data: str, *, hash_: str = "") -> None:
        config: dict[str, Any] = {"initData": init_data, "platform": "android"}
        await self.page.add_init_script(f"window.__tgStandin = {_json(config)};")
        await self.page.goto(self.base + "/" + hash_)

    async def screenshot(self, name: str) -> Path:
        SCREENS.mkdir(parents=True, exist_ok=True)
        path = SCREENS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path

    async def overflowing(self) -> list[str]:
        """Visible elements whose own text is wider than their box (clipped or spilling out)."""
        found: list[str] = await self.page.evaluate(
            """() => {
                const out = [];
                for (const node of document.querySelectorAll("body *")) {
                    const style = getComputedStyle(node);
                    if (style.display === "none" || style.visibility === "hidden") continue;
                    const own = [...node.childNodes].some((c) => c.nodeType === 3 && c.textContent.trim());
                    // The board and the filters scroll sideways on purpose; ellipsis is a chosen cut.
                    if (!own || node.closest(".board, .filters")) continue;
                    const wide = node.scrollWidth > node.clientWidth + 1;
                    if (wide && style.overflowX !== "auto" && style.textOverflow !== "ellipsis")
                        out.push(node.tagName + ": " + node.textContent.trim().slice(0, 40));
                }
                return out;
            }"""
        )
        return found


def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


@pytest.fixture
async def phone(browser: Browser, web_bot: Driver) -> AsyncIterator[Phone]:
    server = web_bot.app.bot_data.web
    assert server is not None
    base = f"http://127.0.0.1:{server.port}"
    context = await browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    page = await context.new_page()
    opened = Phone(page, base)

    async def route(request_route: Route) -> None:
        url = request_route.request.url
        if url == TELEGRAM_SCRIPT:
            await request_route.fulfill(body=STANDIN, content_type="application/javascript")
        elif url.startswith(base + "/"):
            await request_route.continue_()
        else:  # tests touch no network
            opened.refused.append(url)
            await request_route.abort()

    await page.route("**/*", route)
    try:
        yield opened
    finally:
        await context.close()
