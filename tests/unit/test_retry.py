"""A briefly locked database is retried; one that stays locked becomes a friendly Busy."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.domain.errors import Busy
from bot.i18n import catalogue
from bot.runtime import Runtime
from bot.storage.db import make_session_factory


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
