"""A briefly locked database is retried, one that stays locked becomes a friendly Busy; bugs are not."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.domain.errors import Busy
from bot.i18n import catalogue
from bot.runtime import Runtime
from bot.storage.db import is_transient, make_session_factory


def locked() -> OperationalError:
    return OperationalError("INSERT …", {}, sqlite3.OperationalError("database is locked"))


def quick_retries(engine: AsyncEngine) -> Runtime:
    return Runtime(
        settings=Settings(),
        sessions=make_session_factory(engine),
        catalogue=catalogue(),
        retry_delays=(0.01, 0.01),
    )


async def test_transient_errors_are_retried_then_given_up(engine: AsyncEngine) -> None:
    services = quick_retries(engine)
    attempts: list[int] = []

    async def flaky(session: AsyncSession) -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise locked()
        return "done"

    assert await services.db(flaky) == "done" and len(attempts) == 3

    async def always(session: AsyncSession) -> str:
        raise locked()

    with pytest.raises(Busy):
        await services.db(always)

    async def broken(session: AsyncSession) -> str:
        raise ValueError("a bug, not a lock")

    with pytest.raises(ValueError):
        await services.db(broken)


async def test_reads_on_a_connection_retry_the_same_way(engine: AsyncEngine) -> None:
    services = quick_retries(engine)
    attempts: list[int] = []

    async def flaky(connection: AsyncConnection) -> int:
        attempts.append(1)
        if len(attempts) < 3:
            raise locked()
        return int((await connection.execute(text("SELECT 41 + 1"))).scalar_one())

    assert await services.read(flaky) == 42 and len(attempts) == 3

    async def always(connection: AsyncConnection) -> int:
        raise locked()

    with pytest.raises(Busy):
        await services.read(always)


# ---------------------------------------------------------------- which errors are retried

PG = PGDialect_asyncpg.import_dbapi()


def from_asyncpg(error: Exception, *, invalidated: bool = False) -> DBAPIError:
    """An asyncpg error as SQLAlchemy raises it: translated by its adapter, then wrapped."""
    adapted = next(
        PG._asyncpg_error_translate[c] for c in type(error).__mro__ if c in PG._asyncpg_error_translate
    )
    return DBAPIError.instance(
        "SELECT 1", None, adapted(str(error), error), PG.Error, connection_invalidated=invalidated
    )


def from_sqlite(tmp_path: Path, *statements: str) -> DBAPIError:
    """The error SQLite itself raises for the last statement, wrapped as SQLAlchemy does."""
    db = sqlite3.connect(tmp_path / "t.db", timeout=0, isolation_level=None)
    try:
        for statement in statements:
            db.execute(statement)
    except sqlite3.Error as error:
        return DBAPIError.instance(statements[-1], None, error, sqlite3.Error)
    finally:
        db.close()
    raise AssertionError("no error")


def sqlite_locked(tmp_path: Path) -> DBAPIError:
    """SQLite's "database is locked": another connection holds the write lock."""
    holder = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    holder.execute("CREATE TABLE IF NOT EXISTS t (a UNIQUE)")
    holder.execute("BEGIN IMMEDIATE")
    try:
        return from_sqlite(tmp_path, "INSERT INTO t VALUES (1)")
    finally:
        holder.close()


def test_a_lock_or_a_server_going_away_is_retried(tmp_path: Path) -> None:
    transient = [
        sqlite_locked(tmp_path),
        # Measured while PostgreSQL stopped and started (see tests/e2e/test_database_outage.py).
        from_asyncpg(asyncpg.exceptions.CannotConnectNowError("the database system is starting up")),
        from_asyncpg(asyncpg.exceptions.CannotConnectNowError("the database system is shutting down")),
        from_asyncpg(
            asyncpg.exceptions.ConnectionDoesNotExistError(
                "connection was closed in the middle of operation"
            ),
            invalidated=True,
        ),
        from_asyncpg(
            asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command")
        ),
        ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),
        # The server picked this transaction as the loser of a conflict: run it again.
        from_asyncpg(asyncpg.exceptions.SerializationError("could not serialize access")),
        from_asyncpg(asyncpg.exceptions.DeadlockDetectedError("deadlock detected")),
    ]
    assert [is_transient(e) for e in transient] == [True] * len(transient)
    assert isinstance(transient[0].orig, sqlite3.OperationalError)


def test_a_bug_is_not_retried_even_when_it_mentions_a_lock(tmp_path: Path) -> None:
    sqlite_locked(tmp_path)  # the table exists
    bugs = [
        from_sqlite(tmp_path, "SELECT locked_at FROM t"),  # "no such column: locked_at"
        from_sqlite(tmp_path, "SELECT * FROM busy_connections"),  # "no such table: busy_connections"
        from_sqlite(tmp_path, "INSERT INTO t VALUES (2)", "INSERT INTO t VALUES (2)"),  # UNIQUE
        from_asyncpg(asyncpg.exceptions.PostgresSyntaxError('syntax error at or near "SELEC"')),
        from_asyncpg(asyncpg.exceptions.UniqueViolationError("duplicate key value")),
        from_asyncpg(asyncpg.exceptions.DivisionByZeroError("division by zero")),
        from_asyncpg(asyncpg.exceptions.UndefinedColumnError('column "locked" does not exist')),
        ValueError("a bug, not a lock"),
    ]
    assert [is_transient(e) for e in bugs] == [False] * len(bugs)


async def test_retries_stop_at_the_budget_when_each_attempt_waits_itself(engine: AsyncEngine) -> None:
    # On SQLite an attempt can wait the busy timeout (5 s) before failing "locked": six of
    # them would keep the user waiting half a minute. The budget stops new attempts.
    services = quick_retries(engine)
    services.retry_delays = (0.01,) * 10
    now = [0.0]
    services.monotonic = lambda: now[0]
    attempts: list[int] = []

    async def waits_then_locked(session: AsyncSession) -> str:
        attempts.append(1)
        now[0] += 5.0  # what SQLite's busy timeout costs one attempt
        raise locked()

    with pytest.raises(Busy):
        await services.db(waits_then_locked)
    assert len(attempts) == 3  # at 0 s, 5 s and 10 s; a fourth would start past 12 s
