"""The SQLite adapter: one trip per statement, same results as SQLAlchemy's own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

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
