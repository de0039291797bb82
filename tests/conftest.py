"""Shared fixtures: a migrated database (SQLite, or PostgreSQL when asked), a settable clock,
and the real bot running against the local Bot API stand-in."""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
import subprocess
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

# Long CPU work (exports, charts) runs in threads in tests: worker processes would cost each
# test's bot a second or two to start. tests/e2e/test_heavy_processes.py uses them, as
# `salesbot run` does.
os.environ.setdefault("SALESBOT_HEAVY_PROCESSES", "0")

PG_URL = os.environ.get("SALESBOT_TEST_DATABASE_URL")
# The exact commands that stop and start the test PostgreSQL server (scripts/test.sh sets them).
PG_STOP = os.environ.get("SALESBOT_TEST_PG_STOP")
PG_START = os.environ.get("SALESBOT_TEST_PG_START")


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
def root_level_restored() -> Iterator[None]:
    """Put the root logger's level back after each test.

    A test that runs a command in-process sets logging up as the CLI does (the console's
    quiet mode sets the root logger to ERROR), and later tests' warnings would go unseen.
    """
    root = logging.getLogger()
    level = root.level
    yield
    root.setLevel(level)


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


# Parameters the bot may send to a method that has none such, which Telegram ignores:
# python-telegram-bot's Defaults(parse_mode=...) adds parse_mode to every send and edit,
# editMessageReplyMarkup included.
IGNORED_BY_DESIGN = frozenset({"parse_mode"})


@pytest.fixture
async def bot(engine: AsyncEngine, clock: FakeClock) -> AsyncIterator[Driver]:
    """The real Application over HTTP against the stand-in, on a clean database.

    Afterwards, any other parameter the stand-in ignored (as Telegram would) fails the
    test: it is a misspelt or misplaced parameter that silently does nothing.
    """
    async with running_bot(engine=engine, clock=clock, retry_delays=(0.05, 0.1)) as driver:
        yield driver
        ignored = [(m, p) for m, p in driver.standin.ignored_parameters if p not in IGNORED_BY_DESIGN]
        assert not ignored, f"parameters Telegram would ignore: {ignored}"


@pytest.fixture
def shared_dir() -> Path:
    """The shared folder beside the checkout."""
    return Path(__file__).resolve().parents[2] / "shared"


@dataclass
class PgServer:
    """The test PostgreSQL server, stopped and started for real by the commands given."""

    stop_command: list[str]
    start_command: list[str]
    down: bool = False

    async def stop(self) -> None:
        """Stop the server (fast: sessions are terminated, open transactions rolled back)."""
        self.down = True
        await _run(self.stop_command)

    async def start(self) -> None:
        """Start it again and wait until it accepts connections."""
        await _run(self.start_command)
        self.down = False

    def stop_now(self) -> None:
        """Stop it without giving the event loop a turn (from inside a statement)."""
        self.down = True
        subprocess.run(self.stop_command, check=True, stdout=subprocess.DEVNULL)

    def start_now(self) -> None:
        """Start it without giving the event loop a turn."""
        subprocess.run(self.start_command, check=True, stdout=subprocess.DEVNULL)
        self.down = False


async def _run(command: list[str]) -> None:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await process.communicate()
    assert process.returncode == 0, f"{shlex.join(command)} failed: {err.decode(errors='replace')}"


@pytest.fixture
async def pg_server() -> AsyncIterator[PgServer]:
    """The PostgreSQL server under the tests, to stop and start; it is up again afterwards."""
    if not PG_URL:
        pytest.skip("a server restart needs PostgreSQL (SALESBOT_TEST_DATABASE_URL)")
    if not PG_STOP or not PG_START:
        pytest.skip("SALESBOT_TEST_PG_STOP / SALESBOT_TEST_PG_START not set (scripts/test.sh sets them)")
    server = PgServer(shlex.split(PG_STOP), shlex.split(PG_START))
    yield server
    if server.down:
        await server.start()
