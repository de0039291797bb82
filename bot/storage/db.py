"""Engine, sessions and migrations."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.storage.sqlite_driver import OneTripDBAPI

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# How long SQLite waits for another writer before "database is locked" (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = 5000
SQLITE_MMAP_BYTES = 256 * 1024 * 1024


def make_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Create the async engine; SQLite gets WAL, a busy timeout and foreign keys."""
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
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
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


def is_transient(error: BaseException) -> bool:
    """Whether a database error is worth retrying (locked, busy, connection dropped)."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, OperationalError):
        text = str(error.orig).lower() if error.orig is not None else str(error).lower()
        return any(
            marker in text for marker in ("locked", "busy", "connection", "terminat", "could not serialize")
        )
    return isinstance(error, (ConnectionError, asyncio.TimeoutError))


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
