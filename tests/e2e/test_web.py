"""The Mini App's server, started by the bot as `salesbot run` starts it, over real HTTP.

Nothing without valid initData; then the bot's own access rules, so whoever the bot
refuses a card is refused it here too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
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
from bot.services.digest import Item
from bot.storage.models import Customer, Outcome, Purchase, Task
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


# ---------------------------------------------------------------- the digest's lists on the dashboard


async def seed_lists(bot: Driver, team: int) -> dict[str, int]:
    """Customers on each of the digest's four lists: 王芳 (REP) has 张伟 with 12 overdue
    follow-ups and 刘洋, at risk and an A-grade never contacted; Tom (REP2) has 陈静 with an
    overdue follow-up and a complaint past due, and 赵敏, an A-grade not contacted for 40 days."""
    ids = {name: await add_customer(bot, rep, name) for rep, name in OWNERS}
    now, today = bot.services.now(), bot.services.today()

    async def seed(session: Any) -> None:
        for n in range(12):
            session.add(
                Task(
                    team_id=team,
                    owner_id=REP,
                    customer_id=ids["张伟"],
                    due_on=today - timedelta(days=n + 1),
                    text=f"回访第 {n + 1} 次",
                )
            )
        session.add(
            Task(
                team_id=team,
                owner_id=REP2,
                customer_id=ids["陈静"],
                due_on=today - timedelta(days=20),
                text="送样品",
            )
        )
        session.add(
            Outcome(
                team_id=team,
                customer_id=ids["陈静"],
                user_id=REP2,
                playbook="complaint",
                kind="complaint",
                type="quality",
                result="pending",
                words="包装破了",
                due_on=today - timedelta(days=4),
            )
        )
        for days in (400, 370):
            session.add(
                Purchase(
                    customer_id=ids["刘洋"],
                    team_id=team,
                    purchased_on=today - timedelta(days=days),
                    amount=Decimal("1500.50"),
                )
            )
        for name, created, contacted in (
            ("刘洋", now - timedelta(days=90), None),
            ("赵敏", now - timedelta(days=100), now - timedelta(days=40)),
        ):
            customer = await session.get(Customer, ids[name])
            customer.grade, customer.grade_manual = "A", True
            customer.created_at, customer.last_contact_at = created, contacted
            session.add(customer)

    await bot.services.db(seed)
    return ids


OWNERS = ((REP, "张伟"), (REP, "刘洋"), (REP2, "陈静"), (REP2, "赵敏"))
LIST_KEYS = {"overdue": "o", "complaints": "c", "at_risk": "r", "quiet_a": "q"}


def as_the_bot_words_it(name: str, page: dict[str, Any], lang: str = "zh") -> str:
    """A page of a list as the API gives it, worded with the bot's own template for that list."""
    items = [Item(i["customer_id"], i["name"], i["owner"], i["detail"]) for i in page["items"]]
    return TEXTS.text(lang, f"digest.list_{name}", items=items, total=page["total"])


async def test_the_dashboards_lists_are_the_digests_lists_page_by_page(http: Api, web_bot: Driver) -> None:
    world = await build_world(web_bot)
    ids = await seed_lists(web_bot, world.team)
    status, data = await http.get("/api/dashboard/lists", LEAD)
    assert status == 200
    lists = {page["name"]: page for page in data["lists"]}
    assert list(lists) == ["overdue", "complaints", "at_risk", "quiet_a"]  # the digest's order
    assert {name: page["total"] for name, page in lists.items()} == {
        "overdue": 13,
        "complaints": 1,
        "at_risk": 1,
        "quiet_a": 2,
    }
    assert (data["page"], len(lists["overdue"]["items"])) == (10, 10)
    assert data["empty"] == TEXTS.text("zh", "digest.list_empty")
    due = web_bot.services.today() - timedelta(days=20)
    # Each heading is the bot's own button for that list, with its count.
    assert [page["title"] for page in data["lists"]] == [
        "⏰ 逾期跟进（13）",
        "😟 投诉（1）",
        "⚠️ 流失风险（1）",
        "⭐ A 类未联系（2）",
    ]
    assert lists["overdue"]["items"][0] == {
        "customer_id": ids["陈静"],
        "name": "陈静",
        "owner": "Tom",
        "detail": {"due": due.isoformat(), "days": 20, "text": "送样品"},
    }
    assert lists["complaints"]["items"][0]["detail"]["words"] == "包装破了"
    risk = lists["at_risk"]["items"][0]
    assert (risk["customer_id"], risk["owner"], risk["detail"]["revenue"]) == (
        ids["刘洋"],
        "王芳",
        "¥3,001.00",
    )
    quiet = [(i["name"], i["detail"]["never"]) for i in lists["quiet_a"]["items"]]
    assert quiet == [("刘洋", True), ("赵敏", False)]  # the longest quiet first

    # The bot's list screens say exactly what the dashboard's items say, page by page.
    message = web_bot.last(LEAD).message_id
    for name, page in lists.items():
        shown = texts(await web_bot.callback(LEAD, message, f"dl:{world.team}:{LIST_KEYS[name]}:0:0"))
        assert shown == as_the_bot_words_it(name, page), name
    status, more = await http.get("/api/dashboard/list?name=overdue&offset=10", LEAD)
    assert status == 200 and (more["offset"], more["total"], len(more["items"])) == (10, 13, 3)
    shown = texts(await web_bot.callback(LEAD, message, f"dl:{world.team}:o:10:0"))
    assert shown == as_the_bot_words_it("overdue", more)
    first_ids = {(i["detail"]["text"]) for i in lists["overdue"]["items"]}
    assert first_ids.isdisjoint(i["detail"]["text"] for i in more["items"])  # no follow-up twice
    status, past = await http.get("/api/dashboard/list?name=quiet_a&offset=10", LEAD)
    assert status == 200 and (past["total"], past["items"]) == (2, [])


async def test_the_dashboards_lists_follow_the_rep_chooser(http: Api, web_bot: Driver) -> None:
    world = await build_world(web_bot)
    await seed_lists(web_bot, world.team)
    everything: dict[str, list[dict[str, Any]]] = {}
    for name in LIST_KEYS:
        status, page = await http.get(f"/api/dashboard/list?name={name}&offset=0", LEAD)
        status, rest = await http.get(f"/api/dashboard/list?name={name}&offset=10", LEAD)
        assert status == 200
        everything[name] = page["items"] + rest["items"]
    for rep, rep_name in ((REP, "王芳"), (REP2, "Tom")):
        status, data = await http.get(f"/api/dashboard/lists?owner={rep}", LEAD)
        assert status == 200
        for page in data["lists"]:
            name = page["name"]
            status, rest = await http.get(f"/api/dashboard/list?name={name}&offset=10&owner={rep}", LEAD)
            theirs = [i for i in everything[name] if i["owner"] == rep_name]
            assert page["items"] + rest["items"] == theirs, (rep, name)
            assert page["total"] == rest["total"] == len(theirs)
    status, data = await http.get(f"/api/dashboard/lists?owner={REP2}", LEAD)
    assert {page["name"]: page["total"] for page in data["lists"]} == {
        "overdue": 1,
        "complaints": 1,
        "at_risk": 0,
        "quiet_a": 1,
    }
    # Someone not in the team is refused as not there, as the rep chooser's other views are.
    for path in (
        f"/api/dashboard/lists?owner={OTHER_REP}",
        f"/api/dashboard/list?name=overdue&owner={OTHER_REP}",
    ):
        status, body = await http.get(path, LEAD)
        assert status == 404, path
        error(body, "plain.web.not_found")


async def test_a_rep_and_another_teams_lead_get_nothing_of_the_teams_lists(
    http: Api, web_bot: Driver
) -> None:
    world = await build_world(web_bot)
    await seed_lists(web_bot, world.team)
    assert "没有权限" in texts(await web_bot.send(REP, "/digest"))  # the bot refuses a rep the digest
    for path in (
        "/api/dashboard/lists",
        "/api/dashboard/list?name=overdue",
        f"/api/dashboard/lists?owner={REP}",
    ):
        status, body = await http.get(path, REP)
        assert status == 404, path
        error(body, "plain.web.not_found")
    # Another team's lead sees their own team's lists: empty, and nothing of this team.
    status, data = await http.get("/api/dashboard/lists", OTHER_LEAD)
    assert status == 200 and [page["total"] for page in data["lists"]] == [0, 0, 0, 0]
    assert all(page["items"] == [] for page in data["lists"])
    status, page = await http.get("/api/dashboard/list?name=overdue&offset=10", OTHER_LEAD)
    assert status == 200 and (page["total"], page["items"]) == (0, [])
    for owner in (REP, REP2):
        status, body = await http.get(f"/api/dashboard/lists?owner={owner}", OTHER_LEAD)
        assert status == 404
        error(body, "plain.web.not_found")
    # Bad input gets the bot's own words for it.
    for path in (
        "/api/dashboard/list?name=secrets",
        "/api/dashboard/list",
        "/api/dashboard/list?name=overdue&offset=-10",
        "/api/dashboard/list?name=overdue&offset=ten",
        "/api/dashboard/lists?owner=Tom",
    ):
        status, body = await http.get(path, LEAD)
        assert status == 422, path
        error(body, "error.invalid")
