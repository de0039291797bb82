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
"""

from __future__ import annotations

import collections
import sqlite3
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

Description = Sequence[tuple[Any, ...]] | None


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
        async with self._adapt_connection._execute_mutex:
            result: _Result = await connection._execute(_run, connection, operation, parameters, many)
        self._result = result
        self._rows = collections.deque(result.rows)

    def nextset(self) -> None:
        self._rows.clear()


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """A connection that skips commit and rollback when no transaction is open."""

    __slots__ = ()

    _cursor_cls = OneTripCursor  # type: ignore[assignment]

    def _open(self) -> bool:
        # Read from this thread while the connection's thread is idle (every call on
        # it is awaited under the adapter's mutex); in_transaction is a plain flag.
        raw: sqlite3.Connection | None = self._connection._connection
        return raw is not None and raw.in_transaction

    def commit(self) -> None:
        if self._open():
            super().commit()

    def rollback(self) -> None:
        if self._open():
            super().rollback()


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The aiosqlite DBAPI whose connections make one trip per statement."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        connection = aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True
        return OneTripConnection(self, cast(Any, await_(connection)))
