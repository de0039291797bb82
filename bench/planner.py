"""The care planner: what a planning pass costs at 100,000 customers.

    .venv/bin/python bench/planner.py                    # SQLite: per_update.py's data, on a copy
    .venv/bin/python bench/planner.py --database postgresql+asyncpg://user@host/db

The data is per_update.py's (50 teams of a lead and 10 reps, 100,000 customers, 1,000,000
notes), built and cached by it. On SQLite the cached file is copied first
(`bench/results/planner-scratch.db`), so the cache is never changed; with `--database` the
database must hold that data already (`per_update.py --database …` builds it, or pass
`--build`), and the rows this benchmark adds are removed before and after.

Every pass runs in its own transaction, as `jobs.plan_now` runs it, at a fixed moment
(10:30 in Shanghai on Monday 28 December 2026, so New Year's Day is in the week ahead):

- first pass: a full pass on an empty outbox; it plans the week ahead (once);
- full pass: a full pass again, which finds everything planned already. Before the
  planner was incremental, every pass (every 15 minutes) was this one;
- nothing changed: `planner.plan_changes` with no mark waiting and no new local day;
- 10 cards changed: `plan_changes` after ten birthdays were edited (untimed, one
  transaction each, as a rep would).

The modes run with whatever `bot` package Python imports, so the planner as it was can be
measured with the same script: `git archive <commit> bot | tar -x -C /tmp/before`, then
`PYTHONPATH=/tmp/before python bench/planner.py --database sqlite+aiosqlite:///…` on the
same copy. A `bot` without `plan_changes` measures the first pass and the full pass only.
Figures go to the terminal and to `bench/results/planner-<backend>[-label].json`. Nothing
here asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

import bot
from bot.i18n import load_catalogue
from bot.scheduling import jobs, planner
from bot.storage.db import make_engine, make_session_factory, transaction

RESULTS = Path(__file__).resolve().parent / "results"
SCRATCH = RESULTS / "planner-scratch.db"
NOW = datetime(2026, 12, 28, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai, a Monday
PLANNER_TABLES = ("plan_marks", "plan_passes")


@dataclass(frozen=True)
class Options:
    """What to measure, and how often."""

    database: str | None
    build: bool
    full: int
    quiet: int
    changed: int
    label: str


def parse_options(argv: list[str] | None = None) -> Options:
    """Command-line options."""
    parser = argparse.ArgumentParser(description="The care planner's passes at 100,000 customers.")
    parser.add_argument(
        "--database",
        help="a database holding per_update.py's data, used as it is (default: a copy of per_update.py's "
        "cached SQLite file)",
    )
    parser.add_argument(
        "--build", action="store_true", help="with --database: build per_update.py's data there"
    )
    parser.add_argument("--full", type=int, default=5, help="full passes to time (5)")
    parser.add_argument("--quiet", type=int, default=50, help="passes that find nothing changed (50)")
    parser.add_argument("--changed", type=int, default=20, help="passes after ten card edits (20)")
    parser.add_argument("--label", default="", help="added to the JSON file's name")
    args = parser.parse_args(argv)
    return Options(args.database, args.build, args.full, args.quiet, args.changed, args.label)


async def data_url(opts: Options) -> str:
    """The database to plan on: a fresh copy of per_update.py's SQLite cache, or --database."""
    if opts.database is not None and not opts.build:
        return opts.database
    import per_update  # bench/: builds and caches the data (imported only to do so)

    prepared = await per_update.prepare_database(
        per_update.parse_options([] if opts.database is None else ["--database", opts.database])
    )
    if opts.database is not None:
        return prepared.url
    cached = Path(prepared.url.split("///", 1)[1])
    for suffix in ("", "-wal", "-shm"):
        Path(f"{SCRATCH}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(cached, SCRATCH)
    print(f"planning on a copy of {cached.name}: {SCRATCH}")
    return f"sqlite+aiosqlite:///{SCRATCH}"


async def reset(engine: AsyncEngine) -> None:
    """Back to the data as built: no outbox rows, no marks, no planner state."""

    def tables(connection: Any) -> set[str]:
        return set(inspect(connection).get_table_names())

    async with engine.begin() as connection:
        present = await connection.run_sync(tables)
        await connection.execute(text("DELETE FROM outbox"))
        for name in PLANNER_TABLES:
            if name in present:
                await connection.execute(text(f"DELETE FROM {name}"))


def renderer() -> planner.Render:
    """The bot's own care texts (the catalogue, as `salesbot run` renders them)."""
    catalogue = load_catalogue()
    return jobs.renderer(SimpleNamespace(text=catalogue.text))  # type: ignore[arg-type]


@dataclass
class Series:
    """Timings of one kind of pass, in milliseconds."""

    wall: list[float]
    cpu: list[float]
    rows: list[int]

    def summary(self) -> dict[str, float]:
        """Median, p90, min and max (wall), median CPU, rows added per pass."""
        ordered = sorted(self.wall)
        return {
            "n": len(self.wall),
            "median_ms": statistics.median(self.wall),
            "p90_ms": ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))],
            "min_ms": ordered[0],
            "max_ms": ordered[-1],
            "cpu_median_ms": statistics.median(self.cpu),
            "rows_median": statistics.median(self.rows),
        }


async def timed(work: Callable[[], Awaitable[planner.PlanResult]], series: Series) -> None:
    """Run one pass and add its wall and CPU time (the SQLite driver's thread included)."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    result = await work()
    series.wall.append((time.perf_counter() - wall) * 1000)
    series.cpu.append((time.process_time() - cpu) * 1000)
    series.rows.append(result.planned + result.skipped + result.agendas)


BIRTHDAY = ("birthday_year", "birthday_month", "birthday_day", "birthday_lunar", "birthday_leap")


async def edit_birthdays(
    engine: AsyncEngine,
    rng: random.Random,
    moment: datetime,
    edited: dict[int, tuple[Any, ...]],
    count: int = 10,
) -> None:
    """Ten reps each correct a customer's birthday to a day in the coming week (`edited` keeps
    what each one was, so that the data can be put back as built)."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(f"SELECT id, {', '.join(BIRTHDAY)} FROM customers WHERE archived_at IS NULL ORDER BY id")
        )
        cards = {row[0]: tuple(row[1:]) for row in rows}
    for customer_id in rng.sample(sorted(cards), count):
        edited.setdefault(customer_id, cards[customer_id])
        day = (moment + timedelta(days=rng.randint(1, 6))).date()
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "UPDATE customers SET birthday_month = :m, birthday_day = :d, birthday_lunar = false, "
                    "birthday_year = NULL WHERE id = :id"
                ),
                {"m": day.month, "d": day.day, "id": customer_id},
            )


async def put_back(engine: AsyncEngine, edited: dict[int, tuple[Any, ...]]) -> None:
    """The birthdays as they were built."""
    async with engine.begin() as connection:
        for customer_id, values in edited.items():
            await connection.execute(
                text(f"UPDATE customers SET {', '.join(f'{c} = :{c}' for c in BIRTHDAY)} WHERE id = :id"),
                {"id": customer_id, **dict(zip(BIRTHDAY, values, strict=True))},
            )


def code_measured() -> dict[str, Any]:
    """Which planner these figures are of: where `bot` came from, its commit, incremental or not."""
    root = Path(bot.__file__).resolve().parents[1]
    commit = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {"bot": str(root), "commit": commit or None, "incremental": hasattr(planner, "plan_changes")}


async def run(opts: Options) -> dict[str, Any]:
    """Prepare, measure, report."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    url = await data_url(opts)
    engine = make_engine(url)
    backend = engine.dialect.name
    sessions = make_session_factory(engine)
    render = renderer()
    counts: dict[str, int] = {}
    async with engine.connect() as connection:
        for name in ("teams", "customers", "notes"):
            counts[name] = int((await connection.execute(text(f"SELECT count(*) FROM {name}"))).scalar_one())
    code = code_measured()
    print(
        f"{backend}: {counts}; bot from {code['bot']} ({code['commit']}), incremental: {code['incremental']}"
    )
    load_before = os.getloadavg()
    print(f"load average before: {load_before}, {os.cpu_count()} CPUs")

    def pass_of(work: Any, moment: datetime) -> Callable[[], Awaitable[planner.PlanResult]]:
        async def one() -> planner.PlanResult:
            async with transaction(sessions) as session:
                result: planner.PlanResult = await work(session, now=moment, render=render)
            return result

        return one

    series = {name: Series([], [], []) for name in ("first", "full", "quiet", "changed")}
    edited: dict[int, tuple[Any, ...]] = {}
    await reset(engine)
    try:
        moment = NOW
        await timed(pass_of(planner.plan, moment), series["first"])
        for _ in range(opts.full):
            moment += timedelta(seconds=1)
            await timed(pass_of(planner.plan, moment), series["full"])
        if code["incremental"]:
            incremental = planner.plan_changes
            for _ in range(opts.quiet):
                moment += timedelta(seconds=1)
                await timed(pass_of(incremental, moment), series["quiet"])
            rng = random.Random(20261228)
            for _ in range(opts.changed):
                moment += timedelta(seconds=1)
                await edit_birthdays(engine, rng, moment, edited)
                await timed(pass_of(incremental, moment), series["changed"])
    finally:
        await put_back(engine, edited)
        await reset(engine)
        await engine.dispose()
    load_after = os.getloadavg()
    rows = {
        "first pass (plans the week)": series["first"],
        "full pass (nothing new)": series["full"],
        "nothing changed (plan_changes)": series["quiet"],
        "10 cards changed (plan_changes)": series["changed"],
    }
    print(f"\n{'pass':34s} {'n':>4s} {'median':>10s} {'p90':>10s} {'min':>10s} {'cpu med':>10s} {'rows':>6s}")
    for label, values in rows.items():
        if not values.wall:
            continue
        s = values.summary()
        print(
            f"{label:34s} {s['n']:4d} {s['median_ms']:8.1f}ms {s['p90_ms']:8.1f}ms {s['min_ms']:8.1f}ms "
            f"{s['cpu_median_ms']:8.1f}ms {s['rows_median']:6.0f}"
        )
    print(f"load average after: {load_after}")
    report = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_before_after": [load_before, load_after],
        },
        "backend": backend,
        "code": code,
        "data": counts,
        "moment": NOW.isoformat(),
        "passes": {label: values.summary() for label, values in rows.items() if values.wall},
    }
    name = f"planner-{backend}{'-' + opts.label if opts.label else ''}.json"
    (RESULTS / name).write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"written to bench/results/{name}")
    return report


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    asyncio.run(run(parse_options(argv)))


if __name__ == "__main__":
    main()
