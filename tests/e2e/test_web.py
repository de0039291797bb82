"""The Mini App's server, started by the bot as `salesbot run` starts it, over real HTTP.

Nothing without valid initData; then the bot's own access rules, so whoever the bot
refuses a card is refused it here too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import CONSOLE_TOKEN
from bot.config import Settings
from bot.console.driver import Driver, running_bot
from bot.i18n import catalogue
from bot.web.initdata import sign, user_field
from bot.web.server import NONCE_HEADER, build_web_app
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

WEB_URL = "https://mini.example.com/app"
ORIGIN = "https://mini.example.com"
TEXTS = catalogue()
WRITES = web.AppKey("writes", list[Any])


def web_settings(engine: AsyncEngine, **extra: Any) -> Settings:
    return Settings(
        DATABASE_URL=engine.url.render_as_string(hide_password=False),
        SALESBOT_WEB_URL=WEB_URL,
        SALESBOT_WEB_PORT=0,  # any free port
        **extra,
    )


@pytest.fixture
async def web_bot(engine: AsyncEngine, clock: FakeClock) -> AsyncIterator[Driver]:
    """The bot with its Mini App server on, on a clean database."""
    settings = web_settings(engine)
    async with running_bot(engine=engine, clock=clock, settings=settings, retry_delays=(0.05, 0.1)) as driver:
        yield driver


@pytest.fixture
async def http(web_bot: Driver) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        server = web_bot.app.bot_data.web
        assert server is not None
        yield Api(session, f"http://127.0.0.1:{server.port}", web_bot)


def init_data(
    bot: Driver,
    user_id: int,
    *,
    name: str = "Someone",
    language: str = "zh-hans",
    age: timedelta = timedelta(minutes=2),
    token: str = CONSOLE_TOKEN,
) -> str:
    """initData as Telegram would give the Mini App, made `age` ago by the bot's clock."""
    made = bot.services.now() - age
    fields = {
        "query_id": f"q{user_id}",
        "user": user_field(user_id, name, language_code=language),
        "auth_date": str(int(made.timestamp())),
    }
    return sign(fields, token)


class Api:
    """Requests to the running Mini App server."""

    def __init__(self, session: aiohttp.ClientSession, base: str, bot: Driver) -> None:
        self.session, self.base, self.bot = session, base, bot

    async def get(self, path: str, user_id: int | None = None, **headers: str) -> tuple[int, Any]:
        if user_id is not None:
            headers.setdefault("Authorization", "tma " + init_data(self.bot, user_id))
        async with self.session.get(self.base + path, headers=headers) as response:
            return response.status, await response.json()


def error(body: Any, key: str, lang: str = "zh") -> None:
    assert body == {"error": key, "message": TEXTS.text(lang, key)}


async def test_without_valid_initdata_nothing_is_served(http: Api, web_bot: Driver, clock: FakeClock) -> None:
    await build_world(web_bot)
    cid = await add_customer(web_bot, REP, "秘密客户", "13800138009")
    path = f"/api/customers/{cid}"
    for headers in ({}, {"Authorization": "Bearer x"}, {"Authorization": "tma "}):
        status, body = await http.get(path, **headers)
        assert status == 401
        error(body, "plain.web.missing")
    status, body = await http.get("/api/nowhere")
    assert status == 401  # not even which paths exist

    good = init_data(web_bot, REP)
    altered = good.replace(f"%22id%22%3A{REP}", f"%22id%22%3A{REP2}")
    assert altered != good
    forged = {
        "altered": altered,
        "wrong hash": good[:-64] + "0" * 64,
        "another bot": init_data(web_bot, REP, token="100000002:another-bots-token"),
        "unsigned": good.rsplit("&hash=", 1)[0],
        "malformed": "user=%7B&&hash=zz",
    }
    for what, raw in forged.items():
        status, body = await http.get(path, Authorization=f"tma {raw}")
        assert status == 401, what
        error(body, "plain.web.invalid")
    expired = init_data(web_bot, REP, age=timedelta(days=1, seconds=1))
    status, body = await http.get(path, Authorization=f"tma {expired}", **{"Accept-Language": "en-US,en"})
    assert status == 401
    error(body, "plain.web.expired", "en")
    # The same initData is fine until it is a day old.
    status, _ = await http.get(path, Authorization=f"tma {good}")
    assert status == 200
    clock.advance(days=1)
    status, body = await http.get(path, Authorization=f"tma {good}")
    assert status == 401
    error(body, "plain.web.expired")


async def test_a_card_is_served_to_exactly_those_the_bot_shows_it_to(http: Api, web_bot: Driver) -> None:
    await build_world(web_bot)
    cid = await add_customer(web_bot, REP, "秘密客户", "13800138009")
    for uid in (CUSTOMER, STRANGER):
        await web_bot.send(uid, "/start")
    everyone = (ADMIN, LEAD, REP, REP2, OTHER_LEAD, OTHER_REP, CUSTOMER, STRANGER)
    served: dict[int, int] = {}
    for uid in everyone:
        replies = await web_bot.callback(uid, web_bot.last(uid).message_id, f"cv:{cid}:basic")
        shown = "秘密客户" in texts(replies)
        status, body = await http.get(f"/api/customers/{cid}", uid)
        served[uid] = status
        assert (status == 200) == shown, (uid, status, shown)
    # Staff who may not see it are told it does not exist; the rest are not staff at all.
    assert served == {
        ADMIN: 200,
        LEAD: 200,
        REP: 200,
        REP2: 404,
        OTHER_LEAD: 404,
        OTHER_REP: 404,
        CUSTOMER: 403,
        STRANGER: 403,
    }
    status, body = await http.get(f"/api/customers/{cid}", REP2)
    error(body, "plain.web.not_found")
    status, body = await http.get(f"/api/customers/{cid + 1000}", REP)
    assert status == 404
    error(body, "plain.web.not_found")
    status, body = await http.get("/api/customers/999999999999", REP)
    assert status == 404  # not an id at all


async def test_the_card_has_the_fields_the_bot_shows(http: Api, web_bot: Driver) -> None:
    await build_world(web_bot)
    cid = await add_customer(web_bot, REP, "秘密客户", "13800138009")
    status, card = await http.get(f"/api/customers/{cid}", REP)
    assert status == 200
    assert card["id"] == cid
    assert card["owner_id"] == REP
    assert card["owner"] is None  # a rep's own card does not name them, as in the bot
    assert card["stage"] == "find"
    assert card["fields"]["name"] == "秘密客户"
    assert "13800138009" in card["fields"]["phone"].replace(" ", "")
    assert card["fields"]["birthday"] is None
    status, card = await http.get(f"/api/customers/{cid}", LEAD)
    assert status == 200
    assert card["owner"] == "王芳"


async def test_me_says_role_team_and_language(http: Api, web_bot: Driver) -> None:
    world = await build_world(web_bot)
    await web_bot.send(LEAD, "/language")
    await web_bot.press(LEAD, "English")
    status, me = await http.get("/api/me", REP)
    assert status == 200
    assert me == {
        "user_id": REP,
        "role": "rep",
        "is_admin": False,
        "team": {"id": world.team, "name": "Alpha"},
        "language": "zh",
    }
    status, me = await http.get("/api/me", LEAD)
    assert status == 200
    assert (me["role"], me["team"], me["language"]) == ("lead", {"id": world.team, "name": "Alpha"}, "en")
    status, me = await http.get("/api/me", OTHER_LEAD)
    assert me["team"] == {"id": world.other_team, "name": "Beta"}
    status, me = await http.get("/api/me", ADMIN)
    assert (status, me["is_admin"], me["team"]) == (200, True, None)


async def test_someone_the_bot_does_not_know_is_refused(http: Api, web_bot: Driver) -> None:
    await build_world(web_bot)
    for uid, lang, client in ((STRANGER, "zh", "zh-hans"), (99, "en", "en"), (98, "zh", "zh-TW")):
        raw = init_data(web_bot, uid, language=client)
        status, body = await http.get("/api/me", Authorization=f"tma {raw}")
        assert status == 403, uid
        error(body, "plain.web.forbidden", lang)


async def test_the_server_stops_with_the_bot_and_is_off_without_a_url(engine: AsyncEngine) -> None:
    async with running_bot(engine=engine, settings=web_settings(engine)) as driver:
        server = driver.app.bot_data.web
        assert server is not None
        url = f"http://127.0.0.1:{server.port}/api/me"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            assert response.status == 401
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(url)
    plain = Settings(DATABASE_URL=engine.url.render_as_string(hide_password=False))
    async with running_bot(engine=engine, settings=plain) as driver:
        assert driver.app.bot_data.web is None


def test_the_web_url_must_be_https() -> None:
    with pytest.raises(ValueError, match="https"):
        Settings(SALESBOT_WEB_URL="http://mini.example.com")
    assert Settings(SALESBOT_WEB_URL="").web_url is None
    assert Settings(SALESBOT_WEB_URL="https://Mini.Example.com:443/app").web_origin == ORIGIN
    assert Settings(SALESBOT_WEB_URL="https://mini.example.com:8443/").web_origin == ORIGIN + ":8443"


# ---------------------------------------------------------------- writes


@pytest.fixture
async def writer(web_bot: Driver) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    """The Mini App's application with a dummy write route (none exists yet), on a test server."""
    app = build_web_app(web_bot.services, CONSOLE_TOKEN)
    writes: list[Any] = []

    async def echo(request: web.Request) -> web.Response:
        writes.append(await request.json())
        return web.json_response({"ok": True})

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("a bug")

    app.router.add_post("/api/echo", echo)
    app.router.add_post("/api/broken", broken)
    app[WRITES] = writes
    async with TestClient(TestServer(app)) as client:
        yield client


async def test_writes_need_the_mini_apps_origin_and_a_fresh_nonce(
    web_bot: Driver, writer: TestClient[web.Request, web.Application]
) -> None:
    await build_world(web_bot)
    raw = init_data(web_bot, REP)

    async def post(headers: dict[str, str], path: str = "/api/echo") -> tuple[int, Any]:
        headers = {"Authorization": f"tma {raw}", **headers}
        async with writer.post(path, data=json.dumps({"n": 1}), headers=headers) as response:
            return response.status, await response.json()

    nonce = "n0nce-0123456789abcdef"
    status, body = await post({"Origin": ORIGIN, NONCE_HEADER: nonce})
    assert (status, body) == (200, {"ok": True})
    status, body = await post({"Origin": ORIGIN, NONCE_HEADER: nonce})
    assert status == 409  # the same request again
    error(body, "plain.web.replayed")
    for origin in ({}, {"Origin": "https://evil.example.com"}, {"Origin": "null"}, {"Origin": WEB_URL}):
        status, body = await post({**origin, NONCE_HEADER: "another-nonce-0123456789"})
        assert status == 403, origin
        error(body, "plain.web.bad_origin")
    for bad in ({}, {NONCE_HEADER: "short"}, {NONCE_HEADER: "white space is not allowed in it"}):
        status, body = await post({"Origin": ORIGIN, **bad})
        assert status == 400, bad
        error(body, "plain.web.nonce")
    # A nonce belongs to its initData: the Mini App opened again starts afresh.
    raw = init_data(web_bot, REP, age=timedelta(minutes=1))
    status, _ = await post({"Origin": ORIGIN, NONCE_HEADER: nonce})
    assert status == 200
    assert writer.app[WRITES] == [{"n": 1}, {"n": 1}]
    # Reads need neither.
    async with writer.get("/api/me", headers={"Authorization": f"tma {raw}"}) as response:
        assert response.status == 200
    # Without valid initData a write is refused before anything else.
    raw = init_data(web_bot, REP, token="100000002:another-bots-token")
    status, body = await post({"Origin": ORIGIN, NONCE_HEADER: "yet-another-nonce-0123"})
    assert status == 401
    assert writer.app[WRITES] == [{"n": 1}, {"n": 1}]


async def test_an_unexpected_error_is_logged_and_answered_with_an_apology(
    web_bot: Driver, writer: TestClient[web.Request, web.Application], caplog: pytest.LogCaptureFixture
) -> None:
    await build_world(web_bot)
    headers = {
        "Authorization": "tma " + init_data(web_bot, LEAD),
        "Origin": ORIGIN,
        NONCE_HEADER: "n0nce-0123456789abcdef",
    }
    async with writer.post("/api/broken", headers=headers) as response:
        assert response.status == 500
        error(await response.json(), "plain.web.failed")
    logged = [r for r in caplog.records if r.levelno == logging.ERROR and r.name == "bot.web.server"]
    assert len(logged) == 1 and logged[0].exc_info is not None
    caplog.clear()  # expected here: the autouse check fails any other test that logs one


# ---------------------------------------------------------------- the screens


class Writer:
    """Writes as the Mini App's page makes them: its origin and a fresh nonce each."""

    def __init__(self, http: Api) -> None:
        self.http, self.count = http, 0

    async def send(self, method: str, path: str, user_id: int, body: Any) -> tuple[int, Any]:
        self.count += 1
        headers = {
            "Authorization": "tma " + init_data(self.http.bot, user_id),
            "Origin": ORIGIN,
            NONCE_HEADER: f"page-nonce-{self.count:016d}",
        }
        async with self.http.session.request(
            method, self.http.base + path, data=json.dumps(body), headers=headers
        ) as response:
            return response.status, await response.json()


async def test_the_page_is_served_without_initdata_and_its_data_only_with_it(
    http: Api, web_bot: Driver
) -> None:
    for path, kind in (("/", "text/html"), ("/app.js", "javascript"), ("/app.css", "text/css")):
        async with http.session.get(http.base + path) as response:
            assert response.status == 200 and kind in response.headers["Content-Type"], path
            assert "tma" not in (await response.text())[:0]  # the page itself carries no data
    status, body = await http.get("/api/board")
    assert status == 401
    error(body, "plain.web.missing")


async def test_a_rep_moves_a_card_and_edits_it_and_the_bot_shows_both(http: Api, web_bot: Driver) -> None:
    await build_world(web_bot)
    cid = await add_customer(web_bot, REP, "张伟")
    writer = Writer(http)
    status, board = await http.get("/api/board", REP)
    assert status == 200 and [c["name"] for col in board["columns"] for c in col["cards"]] == ["张伟"]
    status, moved = await writer.send("POST", f"/api/customers/{cid}/stage", REP, {"stage": "closing"})
    assert (status, moved["stage"], moved["title"]) == (200, "closing", "促成交易")
    status, form = await http.get(f"/api/customers/{cid}/form", REP)
    assert status == 200
    body = {"changes": {"birthday": "农历八月十五", "email": "nope"}, "version": form["version"]}
    status, refused = await writer.send("PATCH", f"/api/customers/{cid}", REP, body)
    assert status == 422 and set(refused["errors"]) == {"email"}
    assert refused["errors"]["email"] == TEXTS.text("zh", "error.email")
    body["changes"] = {"birthday": "农历八月十五"}
    status, _ = await writer.send("PATCH", f"/api/customers/{cid}", REP, body)
    assert status == 200
    replies = await web_bot.send(REP, "张伟")
    assert "促成交易" in texts(replies)
    assert "八月十五" in texts(await web_bot.press(REP, "个人"))
    # The form as it was opened is now out of date: a second save from it is refused.
    status, stale = await writer.send("PATCH", f"/api/customers/{cid}", REP, body)
    assert status == 409 and stale["error"] == "error.changed"
    # Another rep's customer: refused as not there, and nothing moves.
    status, _ = await writer.send("POST", f"/api/customers/{cid}/stage", REP2, {"stage": "won"})
    assert status == 404
    status, _ = await http.get(f"/api/customers/{cid}/form", REP2)
    assert status == 404
    status, bad = await writer.send("POST", f"/api/customers/{cid}/stage", REP, {"stage": "nowhere"})
    assert status == 422 and bad["message"] == TEXTS.text("zh", "error.unknown_choice")


async def test_the_leads_dashboard_over_http_and_a_rep_is_refused_it(http: Api, web_bot: Driver) -> None:
    await build_world(web_bot)
    cid = await add_customer(web_bot, REP, "张伟")
    await web_bot.send(REP, "张伟")
    await web_bot.press(REP, "记录")
    await web_bot.send(REP, "见面聊了新品")
    status, data = await http.get("/api/dashboard?days=7", LEAD)
    assert status == 200 and len(data["days"]) == 7 and data["days"][-1]["notes"] == 1
    status, day = await http.get(f"/api/dashboard/day?day={data['days'][-1]['day']}", LEAD)
    assert status == 200 and [c["id"] for c in day["customers"]] == [cid]
    status, _ = await http.get("/api/dashboard?days=7", REP)
    assert status == 404
    status, _ = await http.get("/api/dashboard/day?day=yesterday", LEAD)
    assert status == 422
    status, texts_ = await http.get("/api/texts", LEAD)
    assert status == 200 and texts_["web.save"] == "保存"
