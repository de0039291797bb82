"""SQLite through aiosqlite in one trip per statement.

aiosqlite runs each SQLite connection in a thread of its own and every call on it
is a trip there and back (about 0.07 ms of CPU and 0.1 ms of wall time on a small
machine). SQLAlchemy's adapter makes four trips per statement (open a cursor,
execute, fetch, close) and one per commit, even when nothing was written. A card
lookup is one statement and a note three, so most of their database time was
those trips.

This adapter keeps aiosqlite, its thread and SQLAlchemy's dialect, and changes
only the trips: a statement opens, executes, fetches everything and closes its
cursor in one call on the connection's thread, and commit and rollback are not
sent when SQLite has no transaction open. Results are the same: every row is
fetched at once, as SQLAlchemy's own adapter does. Streaming (server-side)
cursors keep SQLAlchemy's behaviour.

It also makes an engine's connections take turns to write (`WriterTurns`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import sqlite3
import weakref
from collections.abc import Sequence
from typing import Any, cast

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

log = logging.getLogger(__name__)

Description = Sequence[tuple[Any, ...]] | None

# Statements before which Python's sqlite3 opens a transaction (its "DML" check).
_WRITES = ("insert", "update", "delete", "replace")


def _starts_writing(operation: str) -> bool:
    """Whether sqlite3 opens a transaction for this statement (when none is open)."""
    return operation.lstrip()[:7].lower().startswith(_WRITES)


class WriterTurns:
    """An engine's connections take turns to write, first come, first served.

    SQLite lets one connection write at a time. Reads never wait (WAL), and sqlite3
    opens a transaction only at a transaction's first write, so its writes wait only
    for the write lock itself, in SQLite's busy handler. That handler sleeps and tries
    again (up to 100 ms between tries) and favours no one. With 20 to 100 reps writing
    at once through the bot (16 updates at a time; figures from a busy shared machine,
    so only their proportions count), a transaction held the lock for 23 ms at most,
    yet a first write waited for it about 1 s at the 99th percentile and up to 4.5 s,
    close to the 5 s busy timeout after which "database is locked" is raised. Waiting
    here instead, in an asyncio queue, hands the lock on in arrival order: the 99th
    percentile fell to 0.15-0.4 s and the longest wait to under 0.7 s, for a somewhat
    longer typical wait (the lock is handed on through the event loop).

    A turn is taken before a transaction's first write and given back when it commits,
    rolls back or closes. Other processes still meet SQLite's busy handler. A turn not
    had after `patience` seconds (a transaction that writes while its own task holds
    another one's turn) is done without, as before: SQLite's busy timeout then decides.
    """

    def __init__(self, patience: float) -> None:
        self.patience = patience
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    async def take(self) -> tuple[asyncio.Lock, asyncio.AbstractEventLoop] | None:
        """Wait for the turn to write: the lock to give back (and its loop), or None if it took too long."""
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        if not lock.locked():
            await lock.acquire()  # free: taken at once, without a timer
            return lock, loop
        try:
            async with asyncio.timeout(self.patience):  # no task of its own, unlike wait_for
                await lock.acquire()
        except TimeoutError:
            log.warning("no turn to write after %.1f s; writing without one", self.patience)
            return None
        return lock, loop


class _Result:
    """What one statement left on its cursor, read on the connection's thread."""

    __slots__ = ("description", "lastrowid", "rowcount", "rows")

    def __init__(self, cursor: sqlite3.Cursor, rows: list[Any]) -> None:
        self.description: Description = cursor.description
        self.rowcount = cursor.rowcount
        self.lastrowid = cursor.lastrowid
        self.rows = rows


def _run(connection: aiosqlite.Connection, operation: str, parameters: Any, many: bool) -> _Result:
    """Execute a statement and read its whole result (runs on the connection's thread)."""
    cursor = connection._conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, () if parameters is None else parameters)
        rows = cursor.fetchall() if cursor.description else []
        return _Result(cursor, rows)
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor whose statement is one trip to the connection's thread."""

    __slots__ = ("_result",)

    # Nothing is left open on the thread after a statement, so there is nothing to close.
    _awaitable_cursor_close = False

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]  # no cursor stays open
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._result: _Result | None = None

    @property
    def description(self) -> Description:
        return self._result.description if self._result is not None else None

    @property
    def rowcount(self) -> int:
        return self._result.rowcount if self._result is not None else -1

    @property
    def lastrowid(self) -> int:
        return self._result.lastrowid if self._result is not None else 0  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        return await self._trip(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        return await self._trip(operation, seq_of_parameters, many=True)

    async def _trip(self, operation: Any, parameters: Any, *, many: bool) -> None:
        connection = self._connection
        adapt = cast(OneTripConnection, self._adapt_connection)
        if adapt._turn is None and _starts_writing(operation) and not adapt._open():
            adapt._turn = await adapt.dbapi.turns.take()
        try:
            async with adapt._execute_mutex:
                result: _Result = await connection._execute(_run, connection, operation, parameters, many)
        finally:
            if adapt._turn is not None and not adapt._open():
                adapt._end_turn()  # the write failed before a transaction was open
        self._result = result
        self._rows = collections.deque(result.rows)

    def nextset(self) -> None:
        self._rows.clear()


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """A connection that skips commit and rollback when no transaction is open, and
    takes its turn to write (see `WriterTurns`)."""

    __slots__ = ("_turn",)

    _cursor_cls = OneTripCursor  # type: ignore[assignment]
    dbapi: OneTripDBAPI

    def __init__(self, dbapi: OneTripDBAPI, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._turn: tuple[asyncio.Lock, asyncio.AbstractEventLoop] | None = None

    def _end_turn(self) -> None:
        turn, self._turn = self._turn, None
        if turn is None:
            return
        lock, loop = turn
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            lock.release()
        else:
            # Terminated by the garbage collector, maybe on another thread: hand it to the loop.
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
                loop.call_soon_threadsafe(lock.release)

    def _open(self) -> bool:
        # Read from this thread while the connection's thread is idle (every call on
        # it is awaited under the adapter's mutex); in_transaction is a plain flag.
        raw: sqlite3.Connection | None = self._connection._connection
        return raw is not None and raw.in_transaction

    def commit(self) -> None:
        try:
            if self._open():
                super().commit()
        finally:
            self._end_turn()

    def rollback(self) -> None:
        try:
            if self._open():
                super().rollback()
        finally:
            self._end_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._end_turn()

    def terminate(self) -> None:
        try:
            super().terminate()
        finally:
            self._end_turn()


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The aiosqlite DBAPI whose connections make one trip per statement and take turns to write."""

    def __init__(self, *, patience: float = 5.0) -> None:
        super().__init__(aiosqlite, sqlite3)
        self.turns = WriterTurns(patience)

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        connection = aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True
        return OneTripConnection(self, cast(Any, await_(connection)))
