"""The errors a real PostgreSQL server gives, as the bot receives them: which are retried.

Stopping the server, connecting to it while it is down and using a pooled connection
after a restart must read as transient; a bug in a statement must not, so that it
surfaces at once instead of as "busy" after every retry.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.db import is_transient, make_engine
from tests.conftest import PG_URL, PgServer

pytestmark = pytest.mark.skipif(not PG_URL, reason="PostgreSQL's own errors")


async def _error(engine: AsyncEngine, *statements: str) -> BaseException:
    try:
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    except Exception as error:
        return error
    raise AssertionError(f"{statements} did not fail")


async def test_a_bug_from_the_server_is_not_transient(engine: AsyncEngine) -> None:
    bugs = [
        await _error(engine, "SELEC 1"),
        await _error(engine, "SELECT 1 / 0"),
        await _error(engine, "SELECT locked FROM users"),
        await _error(engine, "CREATE TEMP TABLE t (a int UNIQUE)", "INSERT INTO t VALUES (1), (1)"),
    ]
    assert [is_transient(e) for e in bugs] == [False] * len(bugs), bugs


async def test_a_server_that_is_down_or_was_restarted_is_transient(
    database_url: str, pg_server: PgServer
) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:  # a connection now in the pool
            await connection.execute(text("SELECT 1"))
        await pg_server.stop()
        down = await _error(engine, "SELECT 1")  # the pooled one, dead
        refused = await _error(engine, "SELECT 1")  # a new one, refused
        await pg_server.start()
        assert is_transient(down) and is_transient(refused), (down, refused)
        async with engine.connect() as connection:  # the pool made a new one
            assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()
