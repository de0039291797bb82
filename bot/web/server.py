"""The Mini App's HTTP server: an entry point beside the Telegram handlers, over the same services.

Every request carries the initData Telegram gave the Mini App (`Authorization: tma
<initData>`), checked against the bot's token (bot.web.initdata); nothing is read without
it. Its user is then identified as the bot's gate identifies a message's sender
(bot.services.identity), and only staff get further. Each route calls one service
function with that actor, so the bot's access rules (bot.domain.access) decide, once.

Writes (any method but GET, HEAD and OPTIONS) must also come from the Mini App's own
origin (the `Origin` header a browser sets) and carry a nonce (`X-Salesbot-Nonce`) not
used before with the same initData, so a captured request cannot be sent again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.domain import card
from bot.domain.access import Actor
from bot.domain.card import Kind
from bot.domain.errors import Busy, Changed, FieldErrors, InvalidInput, NotAllowed, NotFound, SalesbotError
from bot.i18n import pick_language
from bot.runtime import Runtime
from bot.services import cards as card_service
from bot.services import identity, note_files
from bot.services import team as team_service
from bot.web import initdata, views

log = logging.getLogger(__name__)

NONCE_HEADER = "X-Salesbot-Nonce"
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
READS = frozenset({"GET", "HEAD", "OPTIONS"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Refused(Exception):
    """A request answered with an error: its HTTP status and the catalogue key of its message."""

    def __init__(self, status: int, key: str, reason: str = "") -> None:
        self.status, self.key, self.reason = status, key, reason
        super().__init__(f"{status} {key} {reason}".strip())


@dataclass
class Nonces:
    """Write nonces already used, each with the initData it came with, until that initData expires.

    In memory, so one process's; enough while the Mini App is served by the one `salesbot run`.
    """

    used: dict[tuple[str, str], datetime] = field(default_factory=dict)
    # Past this many, expired entries are dropped before the next is kept.
    tidy_at: int = 10000

    def use(self, *, data_hash: str, nonce: str, until: datetime, now: datetime) -> bool:
        """Mark a nonce used; False when it was already used with this initData."""
        if len(self.used) >= self.tidy_at:
            self.used = {key: end for key, end in self.used.items() if end >= now}
        key = (data_hash, nonce)
        if key in self.used:
            return False
        self.used[key] = until
        return True


SERVICES = web.AppKey("services", Runtime)
TOKEN = web.AppKey("token", str)
FILES = web.AppKey("files", note_files.FileSource)
NONCES = web.AppKey("nonces", Nonces)
ACTOR = web.RequestKey("actor", Actor)
LANGUAGE = web.RequestKey("language", str)


STATIC = Path(__file__).resolve().parent / "static"
PAGES = {"/": "index.html", "/app.js": "app.js", "/app.css": "app.css"}
API = "/api/"


def build_web_app(
    services: Runtime, bot_token: str, *, files: note_files.FileSource | None = None
) -> web.Application:
    """The Mini App's web application: its page, then the initData check, access, and the API routes.

    With `files` (the bot's way to Telegram's files), timeline notes' files are served too.
    """
    app = web.Application(middlewares=[_guard])
    app[SERVICES], app[TOKEN], app[NONCES] = services, bot_token, Nonces()
    for path in PAGES:
        app.router.add_get(path, page)
    app.router.add_get("/api/me", me)
    app.router.add_get("/api/texts", texts)
    app.router.add_get("/api/board", board)
    app.router.add_get("/api/dashboard", dashboard)
    app.router.add_get("/api/dashboard/day", dashboard_day)
    app.router.add_get("/api/dashboard/lists", dashboard_lists)
    app.router.add_get("/api/dashboard/list", dashboard_list)
    app.router.add_get(r"/api/customers/{customer_id:\d{1,9}}", customer)
    app.router.add_patch(r"/api/customers/{customer_id:\d{1,9}}", save_card)
    app.router.add_get(r"/api/customers/{customer_id:\d{1,9}}/form", card_form)
    app.router.add_post(r"/api/customers/{customer_id:\d{1,9}}/stage", move_stage)
    if files is not None:
        app[FILES] = files
        app.router.add_get(r"/api/notes/{note_id:\d{1,9}}/file", note_file)
    return app


async def page(request: web.Request) -> web.FileResponse:
    """The Mini App's page and its script and style: no data in them, so no initData needed."""
    response = web.FileResponse(STATIC / PAGES[request.path])
    response.headers["Cache-Control"] = "no-cache"  # revalidated: a new version shows at once
    return response


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Admit only staff with valid initData (and, for writes, the right origin and a new nonce).

    Refusals become JSON errors in the user's language; an unexpected error is logged
    with its traceback and answered with an apology.
    """
    services = request.app[SERVICES]
    request[LANGUAGE] = _client_language(request, services)
    try:
        if request.path.startswith(API):
            await _admit(request)
        return await handler(request)
    except Refused as refusal:
        log.info("web: refused %s %s: %s", request.method, request.path, refusal)
        return _error(request, refusal.status, refusal.key)
    except web.HTTPNotFound:
        return _error(request, 404, "plain.web.not_found")
    except web.HTTPException:
        raise  # aiohttp's own answers (405 for a wrong method, ...)
    except Busy:
        log.warning("web: database busy for %s %s", request.method, request.path)
        return _error(request, 503, "plain.web.busy")
    except FieldErrors as errors:  # every bad field of a form, each with its reason
        language = request[LANGUAGE]
        body = {
            "error": errors.key,
            "message": services.text(language, errors.key, **errors.params),
            "errors": {key: services.text(language, e.key, **e.params) for key, e in errors.errors.items()},
        }
        return web.json_response(body, status=422)
    except (NotFound, NotAllowed) as error:
        # Something the user may not see reads as missing, as in the bot: its existence is not told.
        log.info("web: %s %s: %s", request.method, request.path, type(error).__name__)
        return _error(request, 404, "plain.web.not_found")
    except Changed as error:
        return _error(request, 409, error.key)
    except SalesbotError as error:  # bad input and the like: the bot's own words for it
        language = request[LANGUAGE]
        body = {"error": error.key, "message": services.text(language, error.key, **error.params)}
        return web.json_response(body, status=422)
    except Exception:
        log.exception("web: %s %s failed", request.method, request.path)
        return _error(request, 500, "plain.web.failed")


async def _admit(request: web.Request) -> None:
    app = request.app
    services = app[SERVICES]
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "tma" or not raw.strip():
        raise Refused(401, "plain.web.missing", "no initData")
    now = services.now()
    max_age = timedelta(seconds=services.settings.web_max_age)
    try:
        data = initdata.verify(raw.strip(), app[TOKEN], now=now, max_age=max_age)
    except initdata.InitDataError as error:
        expired = error.problem is initdata.Problem.EXPIRED
        raise Refused(401, "plain.web.expired" if expired else "plain.web.invalid", str(error)) from error
    default = services.settings.default_language
    request[LANGUAGE] = language = pick_language(data.user.language_code, default)
    if request.method not in READS:
        _check_write(request, data, now=now, until=data.auth_date + max_age)
    actor, _ = await identity.identify(
        services,
        telegram_id=data.user.id,
        name=data.user.full_name,
        username=data.user.username,
        language=language,
    )
    request[LANGUAGE] = actor.language
    if not actor.is_staff:
        raise Refused(403, "plain.web.forbidden", f"user {actor.user_id} is {actor.role.value}")
    request[ACTOR] = actor


def _check_write(request: web.Request, data: initdata.InitData, *, now: datetime, until: datetime) -> None:
    """A write must come from the Mini App's page and never be one received before."""
    allowed = request.app[SERVICES].settings.web_origin
    origin = request.headers.get("Origin")
    if allowed is None or origin is None or origin.lower() != allowed:
        raise Refused(403, "plain.web.bad_origin", f"origin {origin!r}")
    nonce = request.headers.get(NONCE_HEADER, "")
    if not _NONCE.match(nonce):
        raise Refused(400, "plain.web.nonce", "no usable nonce")
    if not request.app[NONCES].use(data_hash=data.hash, nonce=nonce, until=until, now=now):
        raise Refused(409, "plain.web.replayed", "nonce used before")


def _client_language(request: web.Request, services: Runtime) -> str:
    """The browser's language, for errors told before the user is known."""
    first = request.headers.get("Accept-Language", "").split(",", 1)[0].split(";", 1)[0].strip()
    return pick_language(first or None, services.settings.default_language)


def _error(request: web.Request, status: int, key: str) -> web.Response:
    text = request.app[SERVICES].text(request[LANGUAGE], key)
    return web.json_response({"error": key, "message": text}, status=status)


# ---------------------------------------------------------------- routes


async def me(request: web.Request) -> web.Response:
    """Who the user is to the bot: role, team and language."""
    services, actor = request.app[SERVICES], request[ACTOR]
    team = None
    if actor.team_id is not None:
        team_id = actor.team_id
        name = await services.db(lambda s: team_service.team_name(s, team_id))
        team = {"id": team_id, "name": name}
    return web.json_response(
        {
            "user_id": actor.user_id,
            "role": actor.role.value,
            "is_admin": actor.is_admin,
            "team": team,
            "language": actor.language,
        }
    )


async def customer(request: web.Request) -> web.Response:
    """A customer's card, as the bot's card reads it; 404 for one the user may not see."""
    services, actor = request.app[SERVICES], request[ACTOR]
    customer_id, today = int(request.match_info["customer_id"]), services.today()
    try:
        view = await services.db(
            lambda s: card_service.card_view(s, actor, customer_id, with_history=False, today=today)
        )
    except (NotFound, NotAllowed) as error:
        # Someone else's customer reads as missing, as in the bot: its existence is not told.
        raise Refused(404, "plain.web.not_found", f"customer {customer_id}") from error
    return web.json_response(card_json(view))


def card_json(view: card_service.CardView) -> dict[str, Any]:
    """A card's fields as stored (the Mini App renders them), with its stage, grade and owner."""
    c = view.customer
    fields: dict[str, Any] = {}
    for spec in card.FIELDS:
        if spec.kind is Kind.DATE:
            fields[spec.key] = (
                None
                if c.birthday_month is None or c.birthday_day is None
                else {
                    "year": c.birthday_year,
                    "month": c.birthday_month,
                    "day": c.birthday_day,
                    "lunar": c.birthday_lunar,
                    "leap_month": c.birthday_leap,
                }
            )
        else:
            fields[spec.key] = getattr(c, spec.key) if spec.column else c.extra.get(spec.key)
    return {
        "id": c.id,
        "team_id": c.team_id,
        "owner_id": c.owner_id,
        "owner": view.owner,
        "stage": c.stage,
        "grade": c.grade,
        "fields": fields,
    }


class WebServer:
    """The Mini App's server on its address, started and stopped with the bot (same event loop)."""

    def __init__(self, app: web.Application, *, host: str, port: int) -> None:
        self.app, self.host, self.port = app, host, port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen on the configured address (port 0: any free one, then kept in `port`)."""
        runner = web.AppRunner(self.app)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        address = runner.addresses[0]
        self.port = address[1]
        log.info("Mini App server listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        """Stop listening and close open connections."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()


def build_web_server(
    services: Runtime, bot_token: str, *, files: note_files.FileSource | None = None
) -> WebServer | None:
    """The Mini App's server as configured, or None when SALESBOT_WEB_URL is not set."""
    settings = services.settings
    if settings.web_url is None:
        return None
    app = build_web_app(services, bot_token, files=files)
    return WebServer(app, host=settings.web_listen, port=settings.web_port)


# ---------------------------------------------------------------- the screens' data (bot.web.views)


def _body(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput("error.invalid")
    return data


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        return _body(await request.json())
    except ValueError:
        raise InvalidInput("error.invalid") from None


async def texts(request: web.Request) -> web.Response:
    """The page's texts in the user's language."""
    return web.json_response(views.texts(request.app[SERVICES], request[ACTOR]))


async def board(request: web.Request) -> web.Response:
    """The pipeline board (filters in the query)."""
    return web.json_response(await views.board(request.app[SERVICES], request[ACTOR], request.query))


async def card_form(request: web.Request) -> web.Response:
    """The whole card as one form, with its newest notes."""
    customer_id = int(request.match_info["customer_id"])
    return web.json_response(await views.card_form(request.app[SERVICES], request[ACTOR], customer_id))


# A note's file never changes; only the asker's browser may keep it (it came with their sign-in).
FILE_CACHE = "private, max-age=86400"
FILE_REFUSALS: dict[type[SalesbotError], int] = {
    note_files.FileTooBig: 413,
    note_files.FileGone: 404,
    note_files.FileUnreachable: 503,
}


async def note_file(request: web.Request) -> web.Response:
    """A timeline note's photo, voice note or file; 404 for one the user may not see, as its card."""
    services, actor = request.app[SERVICES], request[ACTOR]
    note_id = int(request.match_info["note_id"])
    try:
        found = await note_files.note_file(services, request.app[FILES], actor, note_id)
    except (note_files.FileTooBig, note_files.FileGone, note_files.FileUnreachable) as error:
        raise Refused(FILE_REFUSALS[type(error)], error.key, f"note {note_id}") from error
    headers = {"Cache-Control": FILE_CACHE, "X-Content-Type-Options": "nosniff"}
    if found.file_kind == "document":  # saved, never shown as a page of this origin
        headers["Content-Disposition"] = f'attachment; filename="{found.file_name}"'
    return web.Response(body=found.content, content_type=found.content_type, headers=headers)


async def save_card(request: web.Request) -> web.Response:
    """Save the card form's changes (all or nothing)."""
    customer_id, body = int(request.match_info["customer_id"]), await _json(request)
    return web.json_response(await views.save_card(request.app[SERVICES], request[ACTOR], customer_id, body))


async def move_stage(request: web.Request) -> web.Response:
    """Move a customer to another stage."""
    customer_id, body = int(request.match_info["customer_id"]), await _json(request)
    return web.json_response(await views.move_stage(request.app[SERVICES], request[ACTOR], customer_id, body))


async def dashboard(request: web.Request) -> web.Response:
    """The lead's dashboard."""
    return web.json_response(await views.dashboard(request.app[SERVICES], request[ACTOR], request.query))


async def dashboard_day(request: web.Request) -> web.Response:
    """The customers behind one day's bar."""
    return web.json_response(await views.dashboard_day(request.app[SERVICES], request[ACTOR], request.query))


async def dashboard_lists(request: web.Request) -> web.Response:
    """The digest's four lists: each one's count and first page."""
    return web.json_response(
        await views.dashboard_lists(request.app[SERVICES], request[ACTOR], request.query)
    )


async def dashboard_list(request: web.Request) -> web.Response:
    """A further page of one of the digest's lists."""
    return web.json_response(await views.dashboard_list(request.app[SERVICES], request[ACTOR], request.query))
