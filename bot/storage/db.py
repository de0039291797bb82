"""Engine, sessions and migrations."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.storage.sqlite_driver import OneTripDBAPI

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# How long SQLite waits for another writer before "database is locked" (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = 5000
SQLITE_MMAP_BYTES = 256 * 1024 * 1024


def make_engine(
    url: str, *, echo: bool = False, sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS
) -> AsyncEngine:
    """Create the async engine; SQLite gets WAL, a busy timeout and foreign keys.

    `sqlite_busy_timeout_ms` is how long one attempt waits for another process's write
    before SQLite gives up with "database is locked" (tests shorten it).
    """
    if url.startswith("sqlite"):
        # Sessions and connections always end their own transactions (commit, or
        # rollback on close), so the pool's extra rollback on every return is only an
        # extra trip to aiosqlite's thread, about 0.3 ms per transaction.
        # aiosqlite (the default driver) goes through an adapter that makes one trip to
        # the connection's thread per statement instead of four, and has the engine's
        # connections take turns to write, first come first served (see sqlite_driver).
        one_trip = (
            {"module": OneTripDBAPI(patience=SQLITE_BUSY_TIMEOUT_MS / 1000)}
            if make_url(url).get_driver_name() == "aiosqlite"
            else {}
        )
        engine = create_async_engine(
            url, echo=echo, connect_args={"timeout": 30}, pool_reset_on_return=None, **one_trip
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(sqlite_busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Searches read many index pages: map the file (shared by the pool's connections)
            # and give each connection a 16 MiB page cache instead of SQLite's 2 MiB.
            cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
            cursor.execute("PRAGMA cache_size=-16384")
            cursor.close()

        return engine
    # No pre-ping (a round trip per checkout); dropped connections are retried instead
    # (see is_transient) and recycled before servers or proxies time them out.
    return create_async_engine(url, echo=echo, pool_size=10, max_overflow=10, pool_recycle=1800)


SessionFactory = async_sessionmaker[AsyncSession]


def make_session_factory(engine: AsyncEngine) -> SessionFactory:
    """Sessions that keep objects usable after commit (no lazy loads in async code)."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    """Alembic configuration pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _upgrade(connection: Connection, url: str, revision: str) -> None:
    cfg = alembic_config(url)
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to `revision` on the engine's database."""
    url = engine.url.render_as_string(hide_password=False)
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade, url, revision)


# SQLite's primary result codes for "another connection holds the lock".
SQLITE_BUSY, SQLITE_LOCKED = 5, 6
# PostgreSQL SQLSTATEs after which the same transaction, run again, can succeed: no
# connection or a lost one (08000, 08001, 08003, 08004, 08006; not 08P01, a protocol
# violation, nor 08007, a commit whose outcome is unknown), the server shutting down,
# crashing or starting up (57P01-57P03), or this transaction chosen as the loser of a
# conflict (40001 serialization failure, 40P01 deadlock).
PG_TRANSIENT_STATES = frozenset(
    {"08000", "08001", "08003", "08004", "08006", "57P01", "57P02", "57P03", "40001", "40P01"}
)


def is_transient(error: BaseException) -> bool:
    """Whether a database error is worth retrying: locked, busy, restarting or unreachable.

    Exactly these, measured against a real PostgreSQL restart and a SQLite file locked by
    another process, and nothing else, so that a bug (bad SQL, a violated constraint)
    still surfaces at once:

    - SQLAlchemy saw the connection die (`connection_invalidated`): asyncpg's
      "connection was closed in the middle of operation" after the server terminated it;
    - SQLite busy or locked (`database is locked`, after the busy timeout);
    - a PostgreSQL error with a SQLSTATE above, e.g. "the database system is starting
      up" or "shutting down" (CannotConnectNowError, 57P03), which SQLAlchemy wraps as a
      plain DBAPIError without invalidating anything;
    - no server to connect to: ConnectionRefusedError / ConnectionResetError (raised by
      asyncpg on connect, unwrapped), or a connect that timed out.
    """
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        return _transient_driver_error(error.orig)
    return isinstance(error, (ConnectionError, TimeoutError))


def _transient_driver_error(orig: BaseException | None) -> bool:
    """The driver's own error (what SQLAlchemy wrapped) is a lock or a server going away."""
    if isinstance(orig, sqlite3.Error):
        code = getattr(orig, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF in (SQLITE_BUSY, SQLITE_LOCKED)
        text = str(orig).lower()  # an error made by hand (tests) carries no code
        return "database is locked" in text or "database table is locked" in text
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if not isinstance(state, str):
        return False
    return state in PG_TRANSIENT_STATES


@asynccontextmanager
async def transaction(factory: SessionFactory) -> AsyncIterator[AsyncSession]:
    """A session whose work is committed on success and rolled back on error."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


T = TypeVar("T")


class Transact(Protocol):
    """Runs work in one transaction and returns its result: what a use case that owns its
    transaction takes (the wiring's `db`, with its retries; a test's plain `transaction`)."""

    def __call__(self, work: Callable[[AsyncSession], Awaitable[T]], /) -> Awaitable[T]:
        """Run `work` in a transaction, committed when it returns."""
        ...
