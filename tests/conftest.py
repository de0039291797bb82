"""Shared fixtures: a migrated database (SQLite, or PostgreSQL when asked), a settable clock,
and the real bot running against the local Bot API stand-in."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from bot.console.driver import Driver, running_bot
from bot.storage import models  # noqa: F401  (tables on the metadata)
from bot.storage.db import make_engine, upgrade

PG_URL = os.environ.get("SALESBOT_TEST_DATABASE_URL")


@dataclass
class FakeClock:
    """A clock the test sets and moves."""

    current: datetime = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        """Move time forward."""
        self.current += timedelta(**delta)


@pytest.fixture(autouse=True)
def no_unexpected_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail any test during which the bot logged an unexpected error (a crash the user saw).

    "bot" also matches the stand-in's loggers (botapi_standin.*): a stand-in bug fails too.
    """
    yield
    crashes = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("bot")]
    assert not crashes, [r.getMessage() for r in crashes]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database migrated once for the whole run."""
    url = PG_URL or f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"

    async def prepare() -> None:
        engine = make_engine(url)
        if PG_URL:
            async with engine.begin() as connection:
                await connection.execute(text("DROP SCHEMA public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
        await upgrade(engine)
        await engine.dispose()

    asyncio.run(prepare())
    return url


async def wipe(engine: AsyncEngine) -> None:
    """Empty every table (faster than a new database per test)."""
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                await connection.execute(text(f"DELETE FROM {table}"))
            # What the planner's triggers marked while the other tables were emptied.
            await connection.execute(text("DELETE FROM plan_marks"))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the shared database, emptied for this test."""
    engine = make_engine(database_url)
    await wipe(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    """The settable clock the bot reads."""
    return FakeClock()


@pytest.fixture
async def bot(engine: AsyncEngine, clock: FakeClock) -> AsyncIterator[Driver]:
    """The real Application over HTTP against the stand-in, on a clean database."""
    async with running_bot(engine=engine, clock=clock, retry_delays=(0.05, 0.1)) as driver:
        yield driver


@pytest.fixture
def shared_dir() -> Path:
    """The shared folder beside the checkout."""
    return Path(__file__).resolve().parents[2] / "shared"
