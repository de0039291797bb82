"""The Bot API stand-in in a process of its own, for the benchmarks.

The stand-in's CPU then stays out of the bot's figures. The child serves the stand-in
and a small control API (routes a benchmark adds, plus `/stop`); the parent gets a
handle with the stand-in's URLs and an HTTP client for the control API.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
from collections.abc import AsyncIterator, Awaitable, Callable
from multiprocessing.connection import Connection
from typing import Any

import httpx
from aiohttp import web

from botapi_standin import BotApiStandIn

Route = tuple[str, str, Callable[[web.Request], Awaitable[web.Response]]]  # (method, path, handler)


async def serve(conn: Connection, standin: BotApiStandIn, routes: list[Route]) -> None:
    """Child side: serve the started stand-in and the control API until the parent says stop."""
    stop = asyncio.Event()

    async def finish(request: web.Request) -> web.Response:
        stop.set()
        return web.json_response({})

    control = web.Application()
    for method, path, handler in [*routes, ("POST", "/stop", finish)]:
        control.router.add_route(method, path, handler)
    runner = web.AppRunner(control, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    conn.send(
        {
            "base_url": standin.base_url,
            "base_file_url": standin.base_file_url,
            "control": f"http://127.0.0.1:{runner.addresses[0][1]}",
        }
    )
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await standin.stop()


class Handle:
    """Parent side: the stand-in's URLs and a client for the control API."""

    def __init__(
        self, process: multiprocessing.process.BaseProcess, info: dict[str, str], timeout: float
    ) -> None:
        self.process = process
        self.base_url = info["base_url"]
        self.base_file_url = info["base_file_url"]
        self._control = httpx.AsyncClient(base_url=info["control"], timeout=timeout)

    async def close(self) -> None:
        """Stop the child process."""
        with contextlib.suppress(httpx.HTTPError):
            await self._control.post("/stop")
        await self._control.aclose()
        await asyncio.to_thread(self.process.join, 10)
        if self.process.is_alive():
            self.process.terminate()


@contextlib.asynccontextmanager
async def in_child(
    target: Callable[..., None], args: tuple[Any, ...], make: Callable[[Any, dict[str, str]], Handle]
) -> AsyncIterator[Any]:
    """Start `target(conn, *args)` in its own process (own interpreter, own event loop)."""
    context = multiprocessing.get_context("spawn")
    parent_end, child_end = context.Pipe()
    process = context.Process(target=target, args=(child_end, *args), daemon=True)
    process.start()
    if not await asyncio.to_thread(parent_end.poll, 60):
        process.terminate()
        raise SystemExit("the stand-in process did not start")
    handle = make(process, parent_end.recv())
    try:
        yield handle
    finally:
        await handle.close()
