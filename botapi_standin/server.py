"""The stand-in as an HTTP server: ``BotApiStandIn``, an aiohttp application in the running loop.

It puts the parts together (state, update queue, methods), serves ``/bot<token>/<method>``
and ``/file/bot<token>/<path>``, decodes and validates each request against the
specification, and records it in ``requests`` (parameters the method does not have are
ignored, as Telegram does, and listed in ``ignored_parameters``). A fault a test armed in ``faults`` takes
the place of the method, or delays its answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

from aiohttp import web

from botapi_standin.faults import Fault, Faults
from botapi_standin.limits import Clock, Limits
from botapi_standin.methods import BotApiMethods
from botapi_standin.spec import ApiError, BotApiSpec, RawRequest, UploadedFile, bad_request, decode_request
from botapi_standin.state import DEFAULT_TOKEN, Call
from botapi_standin.updates import UpdateQueue
from botapi_standin.world import JsonDict, RequestRecord

logger = logging.getLogger(__name__)

# Bots may upload up to 50 MB; leave room for the multipart framing.
MAX_REQUEST_BYTES = 52 * 1024 * 1024


class BotApiStandIn(UpdateQueue, BotApiMethods):
    """A local Bot API server with simulated users, chats and files."""

    def __init__(
        self,
        spec: BotApiSpec | str | os.PathLike[str] | None = None,
        *,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "standin_bot",
        bot_first_name: str = "Stand-in Bot",
        limits: Limits | None = None,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(
            spec,
            token=token,
            bot_username=bot_username,
            bot_first_name=bot_first_name,
            limits=limits,
            clock=clock,
            wall_clock=wall_clock,
        )
        self._host = host
        self._requested_port = port
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._handlers = self._method_table()
        # Test-controlled failures of the next calls of a method (botapi_standin.faults).
        self.faults = Faults(self._spec.methods)

    def _method_table(self) -> dict[str, Callable[[Call], Awaitable[Any]]]:
        table = {**self._update_methods(), **self._message_methods()}
        unknown = set(table) - set(self._spec.methods)
        if unknown:
            raise RuntimeError(f"methods missing from the Bot API specification: {unknown}")
        return table

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start serving on host:port (port 0 picks a free one) in the running loop."""
        if self._runner is not None:
            raise RuntimeError("the stand-in is already running")
        self._stopping = False
        # handler_cancellation ends a long poll whose client went away (PTB cancels its
        # getUpdates on shutdown); a short shutdown_timeout keeps stop() fast.
        runner = web.AppRunner(
            self._build_app(), handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self._host, self._requested_port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        address = runner.addresses[0]
        self._port = int(address[1])

    async def stop(self) -> None:
        """Wake any long poll, then stop serving."""
        if self._runner is None:
            return
        self._stopping = True
        self._wake_pollers()
        self._release_all()
        runner, self._runner = self._runner, None
        await runner.cleanup()
        self._port = None

    async def __aenter__(self) -> BotApiStandIn:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The TCP port the stand-in listens on."""
        if self._port is None:
            raise RuntimeError("the stand-in is not running")
        return self._port

    @property
    def base_url(self) -> str:
        """What to pass to ApplicationBuilder.base_url (PTB appends the token)."""
        return f"http://{self._host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """What to pass to ApplicationBuilder.base_file_url (PTB appends the token)."""
        return f"http://{self._host}:{self.port}/file/bot"

    # ------------------------------------------------------------------ HTTP layer

    def _build_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        return app

    async def _handle_api(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        method = self._spec.find_method(name)
        params: JsonDict = {}
        ignored: tuple[str, ...] = ()
        fault: Fault | None = None
        body: JsonDict
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if method is None:
                raise ApiError(404, "Not Found")
            raw = await _read_request(request)
            fault = self.faults.take(method.name)
            if fault is not None and fault.kind != "slow_after":
                # Telegram's front end failed before the call reached the method (or its
                # checks): an error page, or no answer at all.
                with contextlib.suppress(ApiError):
                    decoded = decode_request(self._spec, method, raw)  # for the record
                    params, ignored = decoded.params, decoded.ignored
                if fault.kind == "drop":
                    status, body = 0, {"description": "connection dropped"}
                else:
                    status, body = fault.status, fault.error_body()
            else:
                decoded = decode_request(self._spec, method, raw)
                params, ignored = decoded.params, decoded.ignored
                await self._wait_if_held(method.name, params)
                handler = self._handlers.get(method.name)
                if handler is None:
                    raise bad_request("method not supported by the stand-in")
                result = await handler(Call(method.name, decoded.params, decoded.attachments))
                status, body = 200, {"ok": True, "result": result}
        except ApiError as exc:
            status, body = exc.status, exc.payload()
        except Exception:
            # A bug in the stand-in: answer like a broken server, and say where to look.
            logger.exception("stand-in failed on %s", name)
            status = 500
            body = {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        self.requests.append(
            RequestRecord(
                method.name if method else name,
                params,
                status,
                body.get("description"),
                fault=fault.kind if fault is not None else None,
                ignored=ignored,
            )
        )
        if fault is not None:
            # Recorded first: a client that gives up waiting closes the connection, and
            # aiohttp then cancels this handler in the middle of the delay.
            await asyncio.sleep(fault.delay)
            if fault.kind == "drop":
                if request.transport is not None:
                    request.transport.abort()
                return web.Response(status=204)  # never written: the connection is gone
        return web.json_response(body, status=status)

    @property
    def ignored_parameters(self) -> list[tuple[str, str]]:
        """(method, parameter) of every parameter ignored so far, in order: a typo shows up here."""
        return [(r.method, name) for r in self.requests for name in r.ignored]

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
        stored = self._files_by_path.get(request.match_info["path"])
        if stored is None:
            return web.json_response(ApiError(404, "Not Found").payload(), status=404)
        content_type = stored.mime_type or "application/octet-stream"
        return web.Response(body=stored.content, content_type=content_type)

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        return web.json_response(ApiError(404, "Not Found").payload(), status=404)


async def _read_request(request: web.Request) -> RawRequest:
    """Collect parameters from the query string and a form, multipart or JSON body."""
    strings: dict[str, str] = dict(request.query)
    typed: dict[str, Any] = {}
    files: dict[str, UploadedFile] = {}
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON object") from None
            if not isinstance(body, dict):
                raise bad_request("can't parse JSON object")
            typed = body
        elif request.content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    data = value.file.read()
                    files[key] = UploadedFile(key, value.filename, value.content_type, data)
                elif isinstance(value, str):
                    strings[key] = value
                else:
                    strings[key] = bytes(value).decode("utf-8", "replace")
    return RawRequest(strings, typed, files)
