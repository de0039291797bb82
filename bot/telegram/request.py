"""How the bot talks to Telegram: repeat a call Telegram certainly did not do, never one it may have done.

python-telegram-bot sends each call once, and its rate limiter handles only 429. A call
is tried again, a few times with a short pause, when Telegram answered 500, 502 or 503
(it answered, and refused), or when the request never reached it (no connection, or
none free in the pool). When the answer did not come (a read or write timeout, a
connection dropped mid-way, a gateway's 504), Telegram may have done the call: a
message sent again would arrive twice, so only calls that read or set the same thing
again (``get…``, ``setMyCommands``, file downloads…) are repeated; any other raises
``Unconfirmed``. So a caller can tell the two cases apart: ``Unconfirmed`` means Telegram
may have done the call, and doing it again may do it twice; a plain ``NetworkError`` or
``TimedOut`` means it certainly did not, and it may be tried again later. getUpdates is
left to the Updater's own endless polling loop (``retry_delays=()``).
"""

from __future__ import annotations

import asyncio
import logging

import httpx
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

log = logging.getLogger(__name__)

# Pauses before the second, third and fourth try.
RETRY_DELAYS: tuple[float, ...] = (0.5, 1.0, 2.0)
# python-telegram-bot's default; getUpdates waits its long poll on top of it.
READ_TIMEOUT = 5.0

# Answers from Telegram that say it did not do the call. 504 is missing: a gateway that
# gave up waiting does not know whether the Bot API server did it (nor does any other 5xx).
REFUSED = frozenset({500, 502, 503})
# Calls that do the same thing when repeated (besides every get… call and file downloads).
REPEATABLE = frozenset(
    {
        "setMyCommands",
        "deleteMyCommands",
        "setChatMenuButton",
        "setMyName",
        "setMyDescription",
        "setMyShortDescription",
        "setWebhook",
        "deleteWebhook",
    }
)


def repeatable(api_method: str, http_method: str = "POST") -> bool:
    """Whether doing this call twice has the same effect as doing it once."""
    return http_method == "GET" or api_method.startswith("get") or api_method in REPEATABLE


def never_sent(error: NetworkError) -> bool:
    """Whether the request certainly never reached Telegram (no connection was made)."""
    cause = error.__cause__
    return isinstance(cause, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


class Unconfirmed(TimedOut):
    """Telegram may have done the call, but no answer said so: do not do it again.

    Raised for a call that is not `repeatable` after a read or write timeout, a
    connection dropped mid-way, or a 5xx answer other than a refusal (a gateway's 504).
    It is a `TimedOut` (the answer did not come), so code that handles network errors
    alike still does; code that would try again later must catch it first.
    """


class TelegramRequest(HTTPXRequest):
    """The HTTP client for the Bot API, with the retry policy above."""

    __slots__ = ("_retry_delays",)

    def __init__(
        self,
        *,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        read_timeout: float = READ_TIMEOUT,
        connection_pool_size: int = 256,
    ) -> None:
        super().__init__(connection_pool_size=connection_pool_size, read_timeout=read_timeout)
        self._retry_delays = retry_delays

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send the request; try again after a refusal or a request that never left."""
        name = url.rsplit("/", 1)[-1]  # the Bot API method (the file name for a download)
        safe = repeatable(name, method)
        for tries, delay in enumerate((*self._retry_delays, None)):
            try:
                code, payload = await super().do_request(
                    url,
                    method,
                    request_data,
                    read_timeout=read_timeout,
                    write_timeout=write_timeout,
                    connect_timeout=connect_timeout,
                    pool_timeout=pool_timeout,
                )
            except NetworkError as error:  # TimedOut included
                if not (safe or never_sent(error)):
                    raise Unconfirmed(
                        f"no answer to {name} ({error}); not repeated, as Telegram may have done it"
                    ) from error
                if delay is None:
                    raise
                reason = str(error)
            else:
                if code >= 500 and code not in REFUSED and not safe:
                    raise Unconfirmed(f"HTTP {code} to {name}; not repeated, as Telegram may have done it")
                if not (code in REFUSED or (safe and code >= 500)) or delay is None:
                    return code, payload
                reason = f"HTTP {code}"
            log.info(
                "telegram %s failed (%s); try %d of %d in %.1f s",
                name,
                reason,
                tries + 2,
                len(self._retry_delays) + 1,
                delay,
            )
            await asyncio.sleep(delay)
        raise AssertionError("unreachable: the last try returns or raises")  # pragma: no cover
