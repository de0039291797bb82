"""Browser tests: Debian's Chromium (/usr/bin/chromium) driven by Playwright, as a phone inside
Telegram.

- One headless Chromium per test session (`chromium`), started with the flags this machine
  needs (a closed network makes Chromium's background services misbehave) and a fresh
  profile. Each test connects to it over the DevTools protocol in its own event loop
  (pytest-asyncio gives each test its own loop, and the bot's fixtures live in it) and gets
  a new browser context, so tests share no cookies, storage or cache.
- `tg_phone` / `page`: a 360×740 touch screen at device scale 2. Telegram's script
  (https://telegram.org/js/telegram-web-app.js) is answered with the stand-in in
  botapi_standin/webapp, which the test configures through `TelegramPhone.open`; loopback
  addresses are reached as usual, and every other request is refused and listed in
  `refused` (tests touch no network). Chromium itself resolves no host name but loopback.
- An uncaught exception in the page fails the test (`page_errors`; a test that expects one
  empties the list).
- `TelegramPhone.screenshot(name)` writes test-artifacts/screens/<name>.png (git-ignored);
  `overflowing(page)` lists visible elements whose text is wider than their box.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Page, Route, WebSocketRoute, async_playwright
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import CONSOLE_TOKEN
from bot.config import Settings
from bot.console.driver import Driver, running_bot
from botapi_standin.webapp import TELEGRAM_SCRIPT_URL, sign_init_data, standin_script
from tests.conftest import FakeClock

CHROMIUM = Path("/usr/bin/chromium")
SCREENS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screens"
PHONE = {"width": 360, "height": 740}
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Belt and braces for "no network": no host name resolves but loopback's.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE [::1]",
]
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
STARTUP_SECONDS = 30


def is_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"http", "https", "ws", "wss"} and parts.hostname in LOOPBACK


# -- Chromium, once per session ---------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A headless Chromium for the whole session; its DevTools endpoint on loopback."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test.sh installs Debian's chromium package")
    workdir = tmp_path_factory.mktemp("chromium")
    profile, log_path = workdir / "profile", workdir / "chromium.log"
    command = [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "about:blank"], stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
    try:
        # Chromium writes the port it chose, then the browser's path, once it listens.
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + STARTUP_SECONDS
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if process.poll() is not None or time.monotonic() > deadline:
                log_text = log_path.read_text(errors="replace")[-3000:]
                pytest.fail(f"Chromium did not start (exit {process.poll()}):\n{log_text}")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port_file.read_text().splitlines()[0]}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Browser]:
    """The session's Chromium, seen from this test's event loop."""
    async with async_playwright() as playwright:
        connected = await playwright.chromium.connect_over_cdp(chromium)
        try:
            yield connected
        finally:
            await connected.close()  # closes this test's contexts; Chromium goes on


# -- A phone inside Telegram ------------------------------------------------------------------


class TelegramPhone:
    """A phone-sized page as a Telegram client shows a Mini App."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.refused: list[str] = []  # outside requests the page tried, refused
        self.page_errors: list[str] = []  # uncaught exceptions in the page
        page.on("pageerror", lambda error: self.page_errors.append(f"{error.name}: {error.message}"))

    async def open(
        self, url: str, *, init_data: str = "", platform: str = "android", **settings: Any
    ) -> None:
        """Open `url` as Telegram opens a Mini App, with the stand-in set up first.

        `settings` are the stand-in's other keys (themeParams, colorScheme, version,
        isExpanded, confirmAnswer, popupAnswer: see its header).
        """
        config = {"initData": init_data, "platform": platform, **settings}
        await self.page.add_init_script(f"window.__tgStandin = {json.dumps(config, ensure_ascii=False)};")
        await self.page.goto(url)

    async def standin(self) -> dict[str, Any]:
        """What the stand-in recorded: calls, popups, closed, and the buttons' state."""
        state: dict[str, Any] = await self.page.evaluate(
            """() => { const s = window.__tgStandin;
                return {calls: s.calls, popups: s.popups, closed: s.closed,
                        MainButton: s.MainButton, BackButton: s.BackButton}; }"""
        )
        return state

    async def press(self, which: str) -> None:
        """Tap Telegram's Main ("main") or Back ("back") button."""
        await self.page.evaluate("(which) => window.__tgStandin.press(which)", which)

    async def screenshot(self, name: str) -> Path:
        """The whole page as test-artifacts/screens/<name>.png."""
        if not re.fullmatch(r"[\w.-]+", name):
            raise ValueError(f"not a file name: {name!r}")
        SCREENS.mkdir(parents=True, exist_ok=True)
        path = SCREENS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path

    async def overflowing(self, ignore: str = "") -> list[str]:
        return await overflowing(self.page, ignore=ignore)


OVERFLOWING = """(ignore) => {
    const found = [];
    for (const node of document.querySelectorAll("body, body *")) {
        if (ignore && node.closest(ignore)) continue;
        const style = getComputedStyle(node);
        const shown = style.display !== "none" && style.visibility !== "hidden";
        if (!shown || !node.getClientRects().length) continue;
        // Inline boxes (clientWidth 0) are measured through the block that holds them.
        if (node.clientWidth === 0 || !(node.innerText || "").trim()) continue;
        // A box that scrolls sideways, or cuts its text with an ellipsis, does so on purpose.
        const scrolls = style.overflowX === "auto" || style.overflowX === "scroll";
        if (scrolls || style.textOverflow === "ellipsis") continue;
        if (node.scrollWidth > node.clientWidth + 1) found.push(node);
    }
    // The innermost boxes only: an overflowing child widens its parents' scrollWidth too.
    const describe = (node) => {
        const classes = String(node.className || "").trim().split(/\\s+/).filter(Boolean);
        const text = node.innerText.trim().replace(/\\s+/g, " ").slice(0, 60);
        const name = [node.tagName.toLowerCase(), ...classes].join(".");
        return `${name}: ${text} (${node.scrollWidth} > ${node.clientWidth})`;
    };
    const innermost = (node) => !found.some((other) => other !== node && node.contains(other));
    return found.filter(innermost).map(describe);
}"""


async def overflowing(page: Page, *, ignore: str = "") -> list[str]:
    """Visible elements whose text is wider than their box (innermost ones), as
    "tag.class: text (scrollWidth > clientWidth)". Boxes that scroll sideways or end their text
    with an ellipsis are left out, and so is anything inside `ignore` (a CSS selector)."""
    found: list[str] = await page.evaluate(OVERFLOWING, ignore)
    return found


@pytest.fixture
async def tg_phone(browser: Browser) -> AsyncIterator[TelegramPhone]:
    """A new phone (its own browser context), with Telegram's script answered by the stand-in."""
    context = await browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        service_workers="block",  # a service worker's requests would pass by the routes
    )
    phone = TelegramPhone(await context.new_page())
    script = standin_script()

    async def route(request_route: Route) -> None:
        url = request_route.request.url
        if url == TELEGRAM_SCRIPT_URL:
            await request_route.fulfill(body=script, content_type="application/javascript")
        elif is_loopback(url):
            await request_route.continue_()
        else:  # tests touch no network
            phone.refused.append(url)
            await request_route.abort("blockedbyclient")

    async def route_socket(socket_route: WebSocketRoute) -> None:
        if is_loopback(socket_route.url):
            socket_route.connect_to_server()
        else:
            phone.refused.append(socket_route.url)
            await socket_route.close(code=1008, reason="tests touch no network")

    await context.route("**/*", route)
    await context.route_web_socket(re.compile(".*"), route_socket)
    try:
        yield phone
        assert phone.page_errors == [], f"uncaught exceptions in the page: {phone.page_errors}"
    finally:
        await context.close()


@pytest.fixture
def page(tg_phone: TelegramPhone) -> Page:
    """The phone's page (Playwright's Page)."""
    return tg_phone.page


# -- The bot's Mini App -----------------------------------------------------------------------


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


# The Mini App's board and filter chips scroll sideways on purpose.
MINI_APP_SCROLLERS = ".board, .filters"


class Phone(TelegramPhone):
    """The bot's Mini App on a phone, opened as one Telegram user."""

    def __init__(self, phone: TelegramPhone, base: str) -> None:  # the same page, routes and records
        self.page, self.refused, self.page_errors = phone.page, phone.refused, phone.page_errors
        self.base = base

    async def open_as(
        self,
        bot: Driver,
        user_id: int,
        name: str,
        *,
        language: str = "zh-hans",
        hash_: str = "",
        query: str = "",
    ) -> None:
        """Open the Mini App with launch data Telegram would sign for this user (the console's token);
        `query` is the address's own (`?open=card_12`, as the chat's buttons give)."""
        user: Mapping[str, Any] = {"id": user_id, "first_name": name, "language_code": language}
        signed = sign_init_data(CONSOLE_TOKEN, user, bot.services.now(), query_id=f"q{user_id}")
        await self.open_with(signed, hash_=hash_, query=query)

    async def open_with(self, init_data: str, *, hash_: str = "", query: str = "") -> None:
        await self.open(self.base + "/" + query + hash_, init_data=init_data)

    async def overflowing(self, ignore: str = MINI_APP_SCROLLERS) -> list[str]:
        return await overflowing(self.page, ignore=ignore)


@pytest.fixture
async def phone(tg_phone: TelegramPhone, web_bot: Driver) -> Phone:
    """A phone on the bot's Mini App (the same page and routes as `tg_phone`)."""
    server = web_bot.app.bot_data.web
    assert server is not None
    return Phone(tg_phone, f"http://127.0.0.1:{server.port}")
