"""The SQLite adapter: one trip per statement, same results as SQLAlchemy's own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.storage.db import make_engine
from bot.storage.sqlite_driver import OneTripConnection


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'trips.db'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)"))
    yield engine
    await engine.dispose()


class Trips:
    """Counts calls made on the connections' threads."""

    def __init__(self) -> None:
        self.count = 0

    def wrap(self, raw: Any) -> None:
        original: Callable[..., Any] = raw._execute

        async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await original(fn, *args, **kwargs)

        raw._execute = counted


async def test_the_default_driver_uses_the_adapter(sqlite: AsyncEngine) -> None:
    async with sqlite.connect() as connection:
        raw = await connection.get_raw_connection()
        assert isinstance(raw.dbapi_connection, OneTripConnection)


async def test_a_statement_is_one_trip_and_a_read_commits_without_one(sqlite: AsyncEngine) -> None:
    trips = Trips()
    async with sqlite.connect() as connection:
        trips.wrap((await connection.get_raw_connection()).driver_connection)
        rows = (await connection.execute(text("SELECT 1, 'a'"))).all()
        assert [tuple(r) for r in rows] == [(1, "a")]
        assert trips.count == 1
        await connection.commit()  # nothing was written: no transaction to end
        assert trips.count == 1
        await connection.execute(text("INSERT INTO t (name) VALUES ('x')"))
        assert trips.count == 2
        await connection.commit()
        assert trips.count == 3


async def test_rowcount_returning_and_many(sqlite: AsyncEngine) -> None:
    async with sqlite.begin() as connection:
        await connection.execute(
            text("INSERT INTO t (name) VALUES (:n)"), [{"n": "a"}, {"n": "b"}, {"n": "c"}]
        )
        updated = await connection.execute(text("UPDATE t SET name = name || '!' WHERE name != 'c'"))
        assert updated.rowcount == 2
        returned = await connection.execute(text("INSERT INTO t (name) VALUES ('d') RETURNING id, name"))
        assert [tuple(r) for r in returned] == [(4, "d")]
        empty = await connection.execute(text("SELECT name FROM t WHERE name = 'nobody'"))
        assert empty.all() == []
    async with sqlite.connect() as connection:
        names = (await connection.execute(text("SELECT name FROM t ORDER BY id"))).scalars().all()
        assert names == ["a!", "b!", "c", "d"]


async def test_errors_keep_their_kind_and_roll_back(sqlite: AsyncEngine) -> None:
    async with sqlite.connect() as connection:
        await connection.execute(text("INSERT INTO t (name) VALUES ('same')"))
        with pytest.raises(IntegrityError):
            await connection.execute(text("INSERT INTO t (name) VALUES ('same')"))
        await connection.rollback()
        with pytest.raises(OperationalError):
            await connection.execute(text("SELECT nothing FROM nowhere"))
        await connection.rollback()
    async with sqlite.connect() as connection:
        count = (await connection.execute(text("SELECT count(*) FROM t"))).scalar_one()
        assert count == 0  # the insert before the error was rolled back


async def no_busy_wait(connection: AsyncConnection) -> None:
    """Make SQLite refuse at once ("database is locked") instead of waiting for the write lock."""
    await connection.execute(text("PRAGMA busy_timeout=0"))


async def test_writers_take_turns_in_arrival_order_instead_of_meeting_a_lock(sqlite: AsyncEngine) -> None:
    # SQLite's own waiting is off: a second writer at the same time would fail at once.
    order: list[str] = []
    first = await sqlite.connect()
    await no_busy_wait(first)
    await first.execute(text("INSERT INTO t (name) VALUES ('first')"))  # holds the turn until commit

    async def write(connection: AsyncConnection, name: str) -> None:
        await connection.execute(text("INSERT INTO t (name) VALUES (:n)"), {"n": name})
        order.append(name)
        await connection.commit()
        await connection.close()

    others = [await sqlite.connect() for _ in range(2)]
    for connection in others:
        await no_busy_wait(connection)
    names = ("second", "third")
    waiting = [asyncio.create_task(write(c, name)) for c, name in zip(others, names, strict=True)]
    for _ in range(20):
        await asyncio.sleep(0)
    assert order == []  # both wait for their turn (not failed, not written)
    await first.commit()
    await first.close()
    await asyncio.gather(*waiting)
    assert order == ["second", "third"]
    async with sqlite.connect() as connection:
        names = (await connection.execute(text("SELECT name FROM t ORDER BY id"))).scalars().all()
        assert names == ["first", "second", "third"]


async def test_a_turn_is_given_back_on_rollback_failure_and_close(sqlite: AsyncEngine) -> None:
    turns = sqlite.dialect.dbapi.turns  # type: ignore[union-attr]
    async with sqlite.connect() as connection:
        await connection.execute(text("INSERT INTO t (name) VALUES ('same')"))
        await connection.commit()
        with pytest.raises(IntegrityError):
            await connection.execute(text("INSERT INTO t (name) VALUES ('same')"))
        await connection.rollback()
        await connection.execute(text("INSERT INTO t (name) VALUES ('left open')"))
    # Closed with its transaction open (rolled back by SQLAlchemy): the turn is free again.
    assert not any(lock.locked() for lock in turns._locks.values())
    async with sqlite.connect() as connection:
        await connection.execute(text("INSERT INTO t (name) VALUES ('dropped')"))
        await connection.invalidate()  # the connection is thrown away mid-transaction
    assert not any(lock.locked() for lock in turns._locks.values())
    async with sqlite.begin() as connection:
        await connection.execute(text("INSERT INTO t (name) VALUES ('next')"))
    assert not any(lock.locked() for lock in turns._locks.values())


async def test_a_write_that_cannot_get_a_turn_meets_sqlites_own_lock_instead_of_hanging(
    sqlite: AsyncEngine,
) -> None:
    # One task writing on two connections at once: the second cannot have the turn its own
    # first transaction holds. After `patience` it writes without one, and SQLite decides.
    sqlite.dialect.dbapi.turns.patience = 0.05  # type: ignore[union-attr]
    async with sqlite.connect() as outer, sqlite.connect() as inner:
        await no_busy_wait(inner)
        await outer.execute(text("INSERT INTO t (name) VALUES ('outer')"))
        with pytest.raises(OperationalError, match="locked"):
            await inner.execute(text("INSERT INTO t (name) VALUES ('inner')"))
        await inner.rollback()
        await outer.commit()
