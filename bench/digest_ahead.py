"""`/digest` answered from a digest built ahead, against building it again, on `digest.py`'s big team.

    .venv/bin/python bench/digest_ahead.py                 # SQLite (the data digest.py caches)
    .venv/bin/python bench/digest_ahead.py --database postgresql+asyncpg://user@host/db

The data is `bench/digest.py`'s (one team of 50 reps, 100,000 customers, 1,000,000 notes;
built once and cached, with the same options). Each round times, for the lead of that team:

- *rebuilt*: the bot's own digest builder (`bot.telegram.digest.builder`: the figures in a
  transaction, then texts, buttons and chart in a worker thread), then keeping it
  (`svc.store`); what `/digest` costs when the stored digest is stale;
- *from the build*: `svc.fresh_for`, what `/digest` runs before sending a fresh stored
  digest (the permission check, the lookup and `is_fresh`), and its parts: the
  fingerprint of the team's settings and members, and the latest write stamps;
- the same check when a note was written since (stale).

The data has rows stamped up to its NOW (and follow-ups created later), and at this size a
customer falls behind the contact rhythm every minute or so: a digest built at NOW is
stale by its data and by time alone (the run prints how long it stayed valid). So that the
check runs every probe and passes, as in a quiet team, the stored build's stamps are moved
past the data's last write (and its day to that moment's) before the fresh path is timed.
Sending (the same in both cases) is not measured. Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import digest as bd
from sqlalchemy import delete, update

from bot.app import Wiring, build_services
from bot.config import Settings
from bot.domain.access import Actor, Role
from bot.services import digest as svc
from bot.storage.db import make_engine, make_session_factory, transaction
from bot.storage.models import DigestBuild, Note

PAST_THE_DATA = bd.NOW + timedelta(days=30)  # after every row the data set stamped
LATER = PAST_THE_DATA + timedelta(minutes=5)


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):8.1f} ms (min {min(values):.1f}, max {max(values):.1f})"


async def _timed(work: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    gc.collect()
    bd.cold_caches()
    started = time.perf_counter()
    result = await work()
    return (time.perf_counter() - started) * 1000, result


async def run(opts: bd.Options, rounds: int) -> None:
    """Prepare the data, then time each step `rounds` times (after one unmeasured round)."""
    prepared = await bd.prepare(opts)
    print(f"backend {prepared.backend}; data {'built' if prepared.built else 'reused'}: {prepared.counts}")
    engine = make_engine(prepared.url)
    sessions = make_session_factory(engine)
    services = build_services(
        Wiring(settings=Settings(_env_file=None), sessions=sessions, clock=lambda: bd.NOW)
    )
    builder = services.digest_builder
    assert builder is not None
    lead = Actor(bd.LEAD_ID, Role.LEAD, bd.TEAM_ID)
    series: dict[str, list[float]] = {}
    facts: dict[str, Any] = {}
    try:
        for number in range(rounds + 1):
            async with transaction(sessions) as session:
                await session.exec(delete(DigestBuild))  # each round builds anew

            async def rebuild() -> svc.Built:
                built = await builder(
                    team_id=bd.TEAM_ID, kind="day", reader=bd.LEAD_ID, language="zh", now=bd.NOW
                )
                await services.db(lambda s: svc.store(s, built))
                return built

            ms, built = await _timed(rebuild)
            series.setdefault("rebuilt (figures, texts and chart, kept)", []).append(ms)
            facts["valid_for_minutes_at_NOW"] = round(
                (built.valid_until - built.built_at).total_seconds() / 60, 2
            )
            facts["chart_bytes"] = len(built.chart)
            async with transaction(sessions) as session:
                facts["changed_since_NOW"] = await svc.changed_since(
                    session, bd.TEAM_ID, built.built_at - svc.WRITE_SLACK
                )
                await session.exec(
                    update(DigestBuild).values(
                        day=bd.local_day(LATER),
                        built_at=PAST_THE_DATA,
                        valid_until=LATER + timedelta(hours=1),
                    )
                )

            async def answer() -> Any:
                return await services.db(
                    lambda s: svc.fresh_for(s, lead, team_id=bd.TEAM_ID, language="zh", now=LATER)
                )

            ms, stored = await _timed(answer)
            series.setdefault("from the build: fresh_for", []).append(ms)
            facts["fresh"] = stored is not None
            ms, _ = await _timed(lambda: services.db(lambda s: svc.fingerprint(s, bd.TEAM_ID)))
            series.setdefault("  of which: fingerprint", []).append(ms)
            since = PAST_THE_DATA - svc.WRITE_SLACK
            ms, changed = await _timed(
                lambda: services.db(lambda s: svc.changed_since(s, bd.TEAM_ID, since))  # noqa: B023
            )
            series.setdefault("  of which: latest write stamps", []).append(ms)
            facts["changed"] = changed

            async def note() -> None:
                async with transaction(sessions) as session:
                    session.add(
                        Note(
                            customer_id=1,
                            team_id=bd.TEAM_ID,
                            author_id=bd.LEAD_ID,
                            text="x",
                            created_at=LATER,
                        )
                    )

            await note()
            ms, stale = await _timed(answer)
            series.setdefault("stale (a note since): fresh_for", []).append(ms)
            facts["stale_seen"] = stale is None
            async with transaction(sessions) as session:
                await session.exec(delete(Note).where(Note.created_at == LATER))  # type: ignore[arg-type]
            if number == 0:
                series.clear()
            bd.pu.progress(f"  round {number + 1}/{rounds + 1}{' (warm-up)' if number == 0 else ''}")
        bd.pu.progress(f"  {rounds} rounds", final=True)
        for name, values in series.items():
            print(f"{name:<44} {_median(values)}")
        print(f"facts: {facts}")
    finally:
        async with transaction(sessions) as session:
            await session.exec(delete(DigestBuild))
        await engine.dispose()


def main() -> None:
    """Parse `--rounds` here and the data options as `digest.py` does."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--rounds", type=int, default=5)
    ours, rest = parser.parse_known_args()
    asyncio.run(run(bd.parse_options(rest), ours.rounds))


if __name__ == "__main__":
    main()
