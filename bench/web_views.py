"""The Mini App's API at a big team's size: server time of each screen's data, on `digest.py`'s team.

    .venv/bin/python bench/web_views.py                    # SQLite (the data digest.py caches)
    .venv/bin/python bench/web_views.py --database postgresql+asyncpg://user@host/db

The data is `bench/digest.py`'s (one team of 50 reps, 100,000 customers, 1,000,000 notes;
built once and cached, with the same options), so a rep has 2,000 customers on average; the
rep measured is the one closest to 2,000.
Each round times, with the bot's own services (`bot.web.views`, one transaction each, the
JSON-ready answer included, HTTP not included):

- *board, rep*: a rep's pipeline board (every column's count and first 40 cards, of their
  ~2,000 customers), and with the "behind the rhythm" filter;
- *board, lead*: the lead's board of one rep;
- *card form*: one customer's form with its newest notes;
- *dashboard 7 / 30 days*: the lead's activity chart and per-rep table of the 50 reps;
- *a bar's customers*: the customers behind one day of the chart;
- *the digest's lists*: the four lists under the dashboard's chart (each one's count and first
  page, for the 100,000 customers), and the next page of the A-grade customers gone quiet.

Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import digest as bd
from sqlalchemy import func
from sqlmodel import select

from bot.app import Wiring, build_services
from bot.config import Settings
from bot.domain.access import Actor, Role
from bot.storage.db import make_engine, make_session_factory, transaction
from bot.storage.models import Customer
from bot.web import views


async def _timed(work: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    gc.collect()
    started = time.perf_counter()
    result = await work()
    return (time.perf_counter() - started) * 1000, result


def _figures(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered) + 0.5) - 1)]
    return f"p50 {bd.percentile(values, 50):7.1f}  p95 {p95:7.1f}  max {max(values):7.1f} ms"


async def run(opts: bd.Options, rounds: int) -> dict[str, Any]:
    prepared = await bd.prepare(opts)
    print(f"backend {prepared.backend}; data {'built' if prepared.built else 'reused'}: {prepared.counts}")
    engine = make_engine(prepared.url)
    sessions = make_session_factory(engine)
    services = build_services(
        Wiring(settings=Settings(_env_file=None), sessions=sessions, clock=lambda: bd.NOW)
    )
    async with transaction(sessions) as session:
        counts = (
            await session.exec(
                select(Customer.owner_id, func.count())
                .where(Customer.team_id == bd.TEAM_ID)
                .group_by(Customer.owner_id)  # type: ignore[arg-type]
            )
        ).all()
        # The rep whose pipeline is closest to 2,000 customers (the measure).
        rep_id, owned = min(counts, key=lambda row: abs(row[1] - 2000))
        customer_id = (
            await session.exec(select(Customer.id).where(Customer.owner_id == rep_id).order_by(Customer.id))  # type: ignore[arg-type]
        ).first()
    assert customer_id is not None
    rep = Actor(rep_id, Role.REP, bd.TEAM_ID)
    lead = Actor(bd.LEAD_ID, Role.LEAD, bd.TEAM_ID)
    day = (bd.NOW.date()).isoformat()
    work: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        (f"board, rep ({owned:,} customers)", lambda: views.board(services, rep, {})),
        ("board, rep, behind only", lambda: views.board(services, rep, {"behind": "1"})),
        ("board, lead, one rep", lambda: views.board(services, lead, {"owner": str(rep_id)})),
        ("card form", lambda: views.card_form(services, rep, customer_id)),
        ("dashboard, 7 days", lambda: views.dashboard(services, lead, {"days": "7"})),
        ("dashboard, 30 days", lambda: views.dashboard(services, lead, {"days": "30"})),
        ("a bar's customers", lambda: views.dashboard_day(services, lead, {"day": day})),
        ("the digest's four lists", lambda: views.dashboard_lists(services, lead, {})),
        (
            "a list's next page",
            lambda: views.dashboard_list(services, lead, {"name": "quiet_a", "offset": "10"}),
        ),
    ]
    series: dict[str, list[float]] = {name: [] for name, _ in work}
    sizes: dict[str, int] = {}
    for round_ in range(rounds + 1):
        for name, step in work:
            ms, answer = await _timed(step)
            sizes[name] = len(json.dumps(answer, ensure_ascii=False).encode())
            if round_:  # the first round warms caches and is not counted
                series[name].append(ms)
    await engine.dispose()
    print(f"\n{rounds} rounds (after one unmeasured), server time of the answer:")
    for name, values in series.items():
        print(f"  {name:<34} {_figures(values)}   JSON {sizes[name] / 1024:6.1f} KB")
    return {"backend": prepared.backend, "rounds": rounds, "ms": series, "json_bytes": sizes}


def main() -> None:
    """Parse `--rounds` here and the data options as `digest.py` does."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--rounds", type=int, default=20)
    ours, rest = parser.parse_known_args()
    result = asyncio.run(run(bd.parse_options(rest), ours.rounds))
    out = Path(__file__).resolve().parent / "results" / f"web_views-{result['backend']}.json"
    out.write_text(json.dumps(result, indent=1))
    print(f"wrote {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")


if __name__ == "__main__":
    main()
