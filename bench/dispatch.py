"""The care-message dispatcher against Telegram's sending limits.

    .venv/bin/python bench/dispatch.py            # SQLite (a temporary file)
    .venv/bin/python bench/dispatch.py --database postgresql://…

It puts `--messages` planned rows for `--chats` customers, all due now, in the outbox
table, and lets the real `bot.scheduling.dispatcher.Dispatcher` (with its own defaults, as wired
in production) drain them through the real Application's bot. The Bot API stand-in runs
in a child process with Telegram's limits read strictly (30/s overall with a burst of
30, 1/s per private chat with a burst of 1, 429 `retry_after` beyond), so the bot's CPU
is its own. It reports the achieved rate against the
configured one, the CPU per message, the 429s, that nothing was lost or sent twice, and
where the time went. See ``bench/README.md``. Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import json
import logging
import math
import multiprocessing
import platform
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

import child_standin  # bench/: the stand-in in a process of its own
import sqlalchemy
import telegram
from aiohttp import web
from sqlalchemy import delete, insert
from sqlalchemy.engine import make_url
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import CONSOLE_TOKEN, SalesApp, Wiring, build_application, start_application
from bot.config import Settings
from bot.console.driver import BOT_USERNAME, SPEC
from bot.runtime import Runtime
from bot.scheduling.dispatcher import BATCH, PER_CHAT_SECONDS, RATE_PER_SECOND, Dispatcher
from bot.storage.db import make_engine, make_session_factory, upgrade
from bot.storage.models import Customer, Membership, Note, OutboxMessage, Team, User
from botapi_standin import BotApiStandIn, BotEvent, Limits, RequestRecord

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
KEY_PREFIX = "bench-dispatch:"  # every outbox row of the benchmark; removed before and after a run
TEAM_NAME = "bench dispatch"
REP_ID = 40_000_000
CHAT_BASE = 40_000_001  # customer i (from 0) has Telegram id CHAT_BASE + i
GOAL = 0.95  # achieved rate over the configured rate
ORDERS = ("shuffled", "round-robin", "grouped")


# =========================================================================== options


@dataclass(frozen=True)
class Options:
    """What to send and how."""

    database: str | None
    messages: int
    chats: int
    order: str
    rate: float
    per_chat: float
    batch: int
    seed: int
    standin_limits: str
    ptb_rate_limiter: bool


def parse_options(argv: list[str] | None = None) -> Options:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description="The care-message dispatcher against Telegram's limits (30/s overall, 1/s per chat)."
    )
    parser.add_argument(
        "--database", help="database URL (default: a temporary SQLite file); only the benchmark's rows change"
    )
    parser.add_argument("--messages", type=int, default=900, help="outbox rows to send (default 900)")
    parser.add_argument("--chats", type=int, default=300, help="customers they go to (default 300)")
    parser.add_argument(
        "--order",
        choices=ORDERS,
        default="shuffled",
        help="order of the rows in the queue: shuffled (default, seeded), round-robin (chat 1, 2, …, "
        "1, 2, …) or grouped (a chat's messages one after another)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=RATE_PER_SECOND,
        help=f"the dispatcher's overall rate (default {RATE_PER_SECOND:g}/s)",
    )
    parser.add_argument(
        "--per-chat",
        type=float,
        default=PER_CHAT_SECONDS,
        help=f"the dispatcher's seconds between two messages to one chat (default {PER_CHAT_SECONDS:g})",
    )
    parser.add_argument("--batch", type=int, default=BATCH, help=f"rows claimed per pass (default {BATCH})")
    parser.add_argument("--seed", type=int, default=20261123, help="random seed for the shuffled order")
    parser.add_argument(
        "--standin-limits",
        choices=("telegram", "off"),
        default="telegram",
        help="what-if: 'off' lifts the stand-in's flood limits (default: Telegram's, read strictly)",
    )
    parser.add_argument(
        "--no-ptb-rate-limiter",
        dest="ptb_rate_limiter",
        action="store_false",
        help="what-if: build the bot without python-telegram-bot's AIORateLimiter (on in production)",
    )
    args = parser.parse_args(argv)
    if args.messages < 1 or args.chats < 1 or args.chats > args.messages:
        parser.error("need 1 ≤ chats ≤ messages")
    if args.rate <= 0 or args.per_chat < 0 or args.batch < 1:
        parser.error("need rate > 0, per-chat ≥ 0 and batch ≥ 1")
    return Options(
        database=args.database,
        messages=args.messages,
        chats=args.chats,
        order=args.order,
        rate=args.rate,
        per_chat=args.per_chat,
        batch=args.batch,
        seed=args.seed,
        standin_limits=args.standin_limits,
        ptb_rate_limiter=args.ptb_rate_limiter,
    )


def chat_ids(opts: Options) -> list[int]:
    """The customers' Telegram ids."""
    return [CHAT_BASE + i for i in range(opts.chats)]


def queue_order(opts: Options) -> list[int]:
    """The chat of each row, in the order the rows are inserted (and claimed)."""
    chats = chat_ids(opts)
    round_robin = [chats[i % len(chats)] for i in range(opts.messages)]
    if opts.order == "round-robin":
        return round_robin
    if opts.order == "grouped":
        return sorted(round_robin)
    random.Random(opts.seed).shuffle(round_robin)
    return round_robin


# =========================================================================== the stand-in process


class TimedLog(list[RequestRecord]):
    """The stand-in's request log, with the monotonic time each request was answered."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def append(self, record: RequestRecord) -> None:
        """Record one request and when it was answered."""
        self.times.append(time.monotonic())
        super().append(record)


def standin_process(conn: Connection, chats: list[int], limits: str) -> None:
    """Child process: serve the Bot API stand-in, plus a small control API for the parent."""
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_serve_standin(conn, chats, limits))


async def _serve_standin(conn: Connection, chats: list[int], limits: str) -> None:
    chosen = Limits.telegram() if limits == "telegram" else Limits.unlimited()
    standin = BotApiStandIn(SPEC, token=CONSOLE_TOKEN, bot_username=BOT_USERNAME, limits=chosen)
    standin.add_user(REP_ID, "王芳", language_code="zh-hans", started=True)
    for i, chat in enumerate(chats):
        # started=True: the customer opened the bot, so it may write to them.
        standin.add_user(chat, f"客户{i + 1}", language_code="zh-hans", started=True)
    log = TimedLog()
    standin.requests = log
    sends: list[tuple[float, int, int]] = []  # (monotonic, chat, message id) of each message stored

    def on_event(event: BotEvent) -> None:
        if event.kind == "send" and event.message is not None and event.chat_id is not None:
            sends.append((time.monotonic(), event.chat_id, event.message.message_id))

    standin.subscribe(on_event)
    await standin.start()

    async def reset(request: web.Request) -> web.Response:
        # Full buckets, empty logs: what happened before the measurement does not count.
        standin.limits = standin.limits
        log.clear()
        log.times.clear()
        sends.clear()
        return web.json_response({"cpu": time.process_time()})

    async def report(request: web.Request) -> web.Response:
        messages = {
            str(chat): [[m.message_id, m.text or ""] for m in standin.messages(chat)] for chat in chats
        }
        requests = [
            {
                "t": at,
                "method": record.method,
                "status": record.status,
                "description": record.description,
                "chat_id": record.params.get("chat_id"),
            }
            for at, record in zip(log.times, log, strict=True)
        ]
        return web.json_response(
            {"sends": sends, "requests": requests, "messages": messages, "cpu": time.process_time()}
        )

    await child_standin.serve(conn, standin, [("POST", "/reset", reset), ("GET", "/report", report)])


class StandIn(child_standin.Handle):
    """The parent's handle on the stand-in process."""

    async def reset(self) -> float:
        """Refill the flood buckets and clear the logs; the stand-in's CPU seconds so far."""
        response = await self._control.post("/reset")
        response.raise_for_status()
        return float(response.json()["cpu"])

    async def report(self) -> dict[str, Any]:
        """Messages stored (time, chat, id), requests answered, every chat's messages, CPU."""
        response = await self._control.get("/report")
        response.raise_for_status()
        return dict(response.json())


def standin_in_child(chats: list[int], limits: str) -> contextlib.AbstractAsyncContextManager[StandIn]:
    """Start the stand-in in its own process (own interpreter, own event loop)."""
    return child_standin.in_child(
        standin_process,
        (
            chats,
            limits,
        ),
        lambda process, info: StandIn(process, info, timeout=60),
    )


# =========================================================================== the data


async def remove_leftovers(services: Runtime) -> None:
    """Delete what this benchmark added (also what an interrupted run left)."""

    async def work(session: AsyncSession) -> None:
        team_ids = list((await session.exec(select(Team.id).where(col(Team.name) == TEAM_NAME))).all())
        await session.exec(delete(OutboxMessage).where(col(OutboxMessage.key).startswith(KEY_PREFIX)))
        if team_ids:
            await session.exec(delete(Note).where(col(Note.team_id).in_(team_ids)))
            await session.exec(delete(OutboxMessage).where(col(OutboxMessage.team_id).in_(team_ids)))
            await session.exec(delete(Customer).where(col(Customer.team_id).in_(team_ids)))
            await session.exec(delete(Membership).where(col(Membership.team_id).in_(team_ids)))
            await session.exec(delete(Team).where(col(Team.id).in_(team_ids)))
        await session.exec(delete(User).where(col(User.telegram_id) == REP_ID))

    await services.db(work)


async def fill(services: Runtime, opts: Options, order: list[int]) -> dict[str, tuple[int, int]]:
    """A team, its rep, the customers (opted in on Telegram) and the due rows; text → (row id, chat)."""
    now = services.now()

    async def people(session: AsyncSession) -> dict[int, int]:
        team = Team(name=TEAM_NAME, created_at=now)
        session.add(team)
        session.add(User(telegram_id=REP_ID, name="王芳", created_at=now))
        await session.flush()
        assert team.id is not None
        session.add(Membership(user_id=REP_ID, team_id=team.id, role="rep", joined_at=now))
        customers = [
            Customer(
                team_id=team.id,
                owner_id=REP_ID,
                name=f"客户{i + 1}",
                optin_code=f"benchdispatch{chat}",
                optin_state="in",
                telegram_chat_id=chat,
                created_at=now,
                updated_at=now,
            )
            for i, chat in enumerate(chat_ids(opts))
        ]
        session.add_all(customers)
        await session.flush()
        return {c.telegram_chat_id: c.id for c in customers if c.telegram_chat_id and c.id}

    customer_of = await services.db(people)
    due = now - timedelta(seconds=1)
    rows = [
        {
            "key": f"{KEY_PREFIX}{i}",
            "customer_id": customer_of[chat],
            "rep_id": REP_ID,
            "occasion": "birthday",
            "day": due.date(),
            "channel": "telegram",
            "chat_id": chat,
            "language": "zh",
            "text": f"生日快乐！祝您身体健康，万事如意。（bench {i + 1}/{opts.messages} → {chat}）",
            "status": "planned",
            "due_at": due,
            "created_at": now,
            "updated_at": now,
        }
        for i, chat in enumerate(order)
    ]

    async def outbox(session: AsyncSession) -> dict[str, tuple[int, int]]:
        team = (await session.exec(select(Team).where(col(Team.name) == TEAM_NAME))).one()
        for row in rows:
            row["team_id"] = team.id
        for start in range(0, len(rows), 500):
            await session.exec(insert(OutboxMessage).values(rows[start : start + 500]))
        found = (
            await session.exec(select(OutboxMessage).where(col(OutboxMessage.key).startswith(KEY_PREFIX)))
        ).all()
        return {r.text: (r.id or 0, r.chat_id or 0) for r in found}

    return await services.db(outbox)


async def outbox_rows(services: Runtime) -> list[OutboxMessage]:
    """The benchmark's rows as they are now."""

    async def work(session: AsyncSession) -> list[OutboxMessage]:
        query = select(OutboxMessage).where(col(OutboxMessage.key).startswith(KEY_PREFIX))
        return list((await session.exec(query)).all())

    return await services.db(work)


# =========================================================================== the instrumented dispatcher


@dataclass
class Timings:
    """Where the dispatcher's time went, collected while it runs (monotonic seconds)."""

    in_send: bool = False
    send_db: float = 0.0  # current _send's database time
    send_http: float = 0.0  # current _send's Bot API time
    pass_db: list[float] = field(default_factory=list)  # recover, claim, claim_reviews
    row_db: list[float] = field(default_factory=list)  # per message: start_sending + delivered
    row_http: list[float] = field(default_factory=list)  # per message: sendMessage, PTB's limiter included
    row_chat_wait: list[float] = field(default_factory=list)  # per message: the per-chat sleep it had to take
    row_total: list[float] = field(default_factory=list)  # per message: the whole _send
    transactions_per_row: list[int] = field(default_factory=list)
    send_transactions: int = 0


class TimedServices(Runtime):
    """The bot's services, timing each database transaction (same sessions, same retries)."""

    timings: Timings

    async def db(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `work` as the bot does, and count its time to the message or the pass."""
        started = time.perf_counter()
        try:
            return await super().db(work)
        finally:
            spent = time.perf_counter() - started
            if self.timings.in_send:
                self.timings.send_db += spent
                self.timings.send_transactions += 1
            else:
                self.timings.pass_db.append(spent)


def timed_services(services: Runtime, timings: Timings) -> TimedServices:
    """A copy of the bot's services whose `db` is timed."""
    copy = TimedServices(**{f.name: getattr(services, f.name) for f in dataclasses.fields(services)})
    copy.timings = timings
    return copy


class TimedBot:
    """The Application's bot, timing each `send_message` (Bot API round trip, limiter waits, retries)."""

    def __init__(self, bot: Any, timings: Timings) -> None:
        self.bot, self.timings = bot, timings

    async def send_message(self, *args: Any, **kwargs: Any) -> Any:
        """`bot.send_message`, timed."""
        started = time.perf_counter()
        try:
            return await self.bot.send_message(*args, **kwargs)
        finally:
            self.timings.send_http += time.perf_counter() - started


class TimedDispatcher(Dispatcher):
    """The production dispatcher, unchanged, with each row's send timed from outside."""

    def __init__(self, services: TimedServices, bot: TimedBot, timings: Timings, **options: Any) -> None:
        super().__init__(services, bot, **options)
        self.timings = timings

    async def _send(self, row: OutboxMessage) -> None:
        assert row.chat_id is not None
        timings = self.timings
        # The same sum as Dispatcher._send makes before it sleeps.
        gap = self.per_chat - (time.monotonic() - self._last.get(row.chat_id, float("-inf")))
        timings.in_send, timings.send_db, timings.send_http, timings.send_transactions = True, 0.0, 0.0, 0
        started = time.perf_counter()
        try:
            await super()._send(row)
        finally:
            timings.in_send = False
            timings.row_total.append(time.perf_counter() - started)
            timings.row_chat_wait.append(max(gap, 0.0))
            timings.row_db.append(timings.send_db)
            timings.row_http.append(timings.send_http)
            timings.transactions_per_row.append(timings.send_transactions)


# =========================================================================== analysis


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def spread(values: list[float]) -> dict[str, float]:
    """Sum, median, p99 and max, in milliseconds (sum in seconds)."""
    return {
        "sum_s": sum(values),
        "median_ms": statistics.median(values) * 1000 if values else 0.0,
        "p99_ms": percentile(values, 99) * 1000,
        "max_ms": max(values, default=0.0) * 1000,
    }


def ideal_seconds(opts: Options, order: list[int], limits: Limits) -> float:
    """First to last send at best: what the stand-in's buckets and the configured rate allow."""
    rate = min(opts.rate, limits.global_per_second) if limits.enabled else opts.rate
    burst = limits.global_burst if limits.enabled else 1
    most = max(Counter(order).values())
    per_chat = max(opts.per_chat, 1 / limits.per_chat_per_second if limits.enabled else 0.0)
    return max((opts.messages - min(burst, opts.messages)) / rate, (most - 1) * per_chat)


RETRY = re.compile(r"retry after (\d+)")


def analyse_429(report: dict[str, Any], per_chat: float) -> dict[str, Any]:
    """The 429 answers: how many, which bucket, how close they came after the previous message."""
    sends = report["sends"]
    last_to: dict[int, float] = {}
    events = sorted(
        [(t, 1, chat, None) for t, chat, _ in sends]
        + [
            (r["t"], 0, int(r["chat_id"]), r["description"])
            for r in report["requests"]
            if r["status"] == 429 and r["chat_id"] is not None
        ],
        key=lambda e: (e[0], e[1]),
    )
    previous = -math.inf
    kinds: Counter[str] = Counter()
    gaps: list[float] = []
    retry_after = 0.0
    for t, is_send, chat, description in events:
        if is_send:
            last_to[chat], previous = t, t
            continue
        kind = "per chat" if t - last_to.get(chat, -math.inf) < per_chat else "overall"
        kinds[kind] += 1
        gaps.append((t - previous) * 1000)
        found = RETRY.search(description or "")
        retry_after += float(found.group(1)) if found else 0.0
    return {
        "count": sum(kinds.values()),
        "by_bucket": dict(kinds),
        "ms_after_previous_send": [round(g, 2) for g in gaps[:50]],
        "retry_after_sum_s": retry_after,
    }


def check_delivery(
    expected: dict[str, tuple[int, int]], rows: list[OutboxMessage], report: dict[str, Any]
) -> dict[str, Any]:
    """Every row sent, and every text received exactly once, in its own chat, with the row's message id."""
    statuses = Counter(row.status for row in rows)
    message_of = {row.text: row.message_id for row in rows}
    received: Counter[str] = Counter()
    wrong_chat = wrong_id = unexpected = 0
    for chat, messages in report["messages"].items():
        for message_id, text in messages:
            if text not in expected:
                unexpected += 1
                continue
            received[text] += 1
            if expected[text][1] != int(chat):
                wrong_chat += 1
            if message_of.get(text) != message_id:
                wrong_id += 1
    return {
        "rows": len(rows),
        "statuses": dict(statuses),
        "received": sum(received.values()),
        "lost": sum(1 for text in expected if received[text] == 0),
        "duplicated": sum(n - 1 for n in received.values() if n > 1),
        "wrong_chat": wrong_chat,
        "message_id_mismatch": wrong_id,
        "unexpected": unexpected,
        "ok": statuses == Counter({"sent": len(expected)})
        and all(received[text] == 1 for text in expected)
        and wrong_chat == wrong_id == unexpected == 0,
    }


def timeline(report: dict[str, Any]) -> dict[str, Any]:
    """First and last send, pauses, sends per second, and the closest two messages to one chat."""
    times = sorted(t for t, _, _ in report["sends"])
    if not times:
        return {"first": 0.0, "last": 0.0, "elapsed_s": 0.0, "per_second": [], "longest_pause_s": 0.0}
    first = times[0]
    pauses = [b - a for a, b in pairwise(times)]
    per_second = Counter(int(t - first) for t in times)
    by_chat: dict[int, list[float]] = {}
    for t, chat, _ in report["sends"]:
        by_chat.setdefault(chat, []).append(t)
    chat_gaps = [b - a for ts in by_chat.values() for a, b in pairwise(sorted(ts))]
    return {
        "first": first,
        "last": times[-1],
        "elapsed_s": times[-1] - first,
        "per_second": [per_second.get(s, 0) for s in range(int(times[-1] - first) + 1)],
        "longest_pause_s": max(pauses, default=0.0),
        "pauses_over_100ms": sum(1 for p in pauses if p > 0.1),
        "pauses_over_100ms_s": sum(p for p in pauses if p > 0.1),
        "closest_two_to_one_chat_s": min(chat_gaps, default=math.inf),
    }


def environment(backend: str) -> dict[str, Any]:
    """Versions and machine, for comparing runs."""
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": multiprocessing.cpu_count(),
        "backend": backend,
        "sqlite": sqlite3.sqlite_version,
        "python-telegram-bot": telegram.__version__,
        "sqlalchemy": sqlalchemy.__version__,
        "commit": git("rev-parse", "--short", "HEAD"),
        "dispatcher_changed_since_commit": bool(
            git("status", "--porcelain", "--", "bot/scheduling/dispatcher.py")
        ),
    }


def git(*args: str) -> str:
    """Output of a git command in the project (empty if git is not there)."""
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


# =========================================================================== main


def build_bot(standin: StandIn, url: str, ptb_rate_limiter: bool) -> tuple[SalesApp, Any]:
    """The real Application against the stand-in, scheduling off (the benchmark drives the dispatcher)."""
    engine = make_engine(url)
    # An admin is configured, so the bot logs no one-time admin link at start.
    settings = Settings(
        _env_file=None, DATABASE_URL=url, SALESBOT_ADMIN_IDS=[REP_ID], SALESBOT_LOG_LEVEL="WARNING"
    )
    wiring = Wiring(
        settings=settings,
        sessions=make_session_factory(engine),
        base_url=standin.base_url,
        base_file_url=standin.base_file_url,
        token=CONSOLE_TOKEN,
        rate_limiter=ptb_rate_limiter,
        playbooks={},  # the dispatcher needs none; files being edited elsewhere cannot stop the run
        schedule=False,
    )
    return build_application(wiring), engine


async def run(opts: Options) -> dict[str, Any]:
    """Fill the outbox, drain it through the stand-in process, check and report."""
    started = time.perf_counter()
    scratch = None
    if opts.database is None:
        scratch = tempfile.TemporaryDirectory(prefix="salesbot-dispatch-")
        url = f"sqlite+aiosqlite:///{scratch.name}/dispatch.db"
    else:
        url = Settings(_env_file=None, DATABASE_URL=opts.database).database_url
    migrate = make_engine(url)
    try:
        await upgrade(migrate)
        backend = migrate.dialect.name
    finally:
        await migrate.dispose()
    order = queue_order(opts)
    limits = Limits.telegram() if opts.standin_limits == "telegram" else Limits.unlimited()
    print(
        f"dispatch: {opts.messages} messages to {opts.chats} chats ({opts.order}), rate {opts.rate:g}/s, "
        f"per chat {opts.per_chat:g} s, batch {opts.batch}; {backend}; stand-in limits {opts.standin_limits}"
        f"{'' if opts.ptb_rate_limiter else '; no AIORateLimiter'}"
    )
    try:
        async with standin_in_child(chat_ids(opts), opts.standin_limits) as standin:
            app, engine = build_bot(standin, url, opts.ptb_rate_limiter)
            try:
                await start_application(app)
                services = app.bot_data.services
                assert services is not None
                await remove_leftovers(services)
                expected = await fill(services, opts, order)
                timings = Timings()
                dispatcher = TimedDispatcher(
                    timed_services(services, timings),
                    TimedBot(app.bot, timings),
                    timings,
                    rate=opts.rate,
                    per_chat=opts.per_chat,
                    batch=opts.batch,
                )
                gc.collect()
                standin_cpu = await standin.reset()
                cpu, wall = time.process_time(), time.perf_counter()
                per_pass: list[int] = []
                while True:  # drain(), keeping what each pass claimed
                    got = await dispatcher.run_once()
                    per_pass.append(got)
                    if not got:
                        break
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                report = await standin.report()
                rows = await outbox_rows(services)
                await remove_leftovers(services)
            finally:
                if app.running:
                    await app.stop()
                await app.shutdown()
                await engine.dispose()
    finally:
        if scratch is not None:
            scratch.cleanup()

    delivery = check_delivery(expected, rows, report)
    line = timeline(report)
    sent = len(report["sends"])
    elapsed = line["elapsed_s"]
    achieved = sent / elapsed if elapsed > 0 else math.inf
    ideal = ideal_seconds(opts, order, limits)
    standin_cpu = report["cpu"] - standin_cpu
    limited = analyse_429(report, 1 / limits.per_chat_per_second if limits.enabled else 0.0)
    ptb_sleep = limited["retry_after_sum_s"] + 0.1 * limited["count"] if opts.ptb_rate_limiter else 0.0
    chat_wait = timings.row_chat_wait
    rest = [
        max(total - w - d - h, 0.0)
        for total, w, d, h in zip(timings.row_total, chat_wait, timings.row_db, timings.row_http, strict=True)
    ]
    between = wall - sum(timings.row_total) - sum(timings.pass_db)
    phases = {
        "per_chat_wait": spread(chat_wait),
        "between_sends": {"sum_s": between},
        "rate_limiter_and_rest": spread(rest),
        "database_per_message": spread(timings.row_db),
        "bot_api_call": spread(timings.row_http),
        "database_per_pass": spread(timings.pass_db),
    }
    figures = {
        "messages": opts.messages,
        "sent": sent,
        "first_to_last_s": elapsed,
        "achieved_per_s": achieved,
        "configured_per_s": opts.rate,
        "ratio": achieved / opts.rate,
        "goal": GOAL,
        "meets_goal": achieved / opts.rate >= GOAL,
        "ideal_first_to_last_s": ideal,
        "ratio_to_ideal": ideal / elapsed if elapsed > 0 else math.nan,
        "dispatcher_wall_s": wall,
        "passes": len(per_pass),
        "rows_claimed": sum(per_pass),
        "rows_claimed_per_pass": per_pass,
        "largest_pass_over_batch": max(per_pass) > opts.batch,
        "cpu_ms_per_message": cpu * 1000 / max(sent, 1),
        "cpu_share_of_wall": cpu / wall if wall > 0 else math.nan,
        "standin_cpu_ms_per_message": standin_cpu * 1000 / max(sent, 1),
        "messages_that_waited_for_their_chat": sum(1 for w in chat_wait if w > 0),
        "transactions_per_message": statistics.fmean(timings.transactions_per_row or [0]),
    }

    print()
    print(
        f"delivery              {delivery['statuses']} of {delivery['rows']} rows; received "
        f"{delivery['received']}, lost {delivery['lost']}, duplicated {delivery['duplicated']}, "
        f"wrong chat {delivery['wrong_chat']}, message id mismatch {delivery['message_id_mismatch']}, "
        f"unexpected {delivery['unexpected']}  → {'OK' if delivery['ok'] else 'NOT OK'}"
    )
    print(
        f"first → last send     {elapsed:8.2f} s   (at best {ideal:.2f} s: the stand-in's buckets "
        f"and the configured rate allow no faster)"
    )
    print(
        f"achieved rate         {achieved:8.2f} /s  ÷ configured {opts.rate:g}/s = {figures['ratio']:.3f}  "
        f"(goal ≥ {GOAL}: {'met' if figures['meets_goal'] else 'NOT met'});  ÷ best possible "
        f"{figures['ratio_to_ideal']:.3f}"
    )
    print(
        f"dispatcher wall       {wall:8.2f} s   {len(per_pass)} passes of run_once claimed "
        f"{sum(per_pass)} rows, at most {max(per_pass)} in one pass (batch {opts.batch})"
        + ("  ⚠ a pass claimed more than its batch" if max(per_pass) > opts.batch else "")
    )
    print(
        f"bot CPU per message   {figures['cpu_ms_per_message']:8.2f} ms  (process_time of the bot process, "
        f"its database threads included; {100 * figures['cpu_share_of_wall']:.0f}% of wall); "
        f"stand-in {figures['standin_cpu_ms_per_message']:.2f} ms"
    )
    print(
        f"429 answers           {limited['count']:8d}     {limited['by_bucket'] or ''}"
        + (
            f"; AIORateLimiter paused all sends for {ptb_sleep:.1f} s in all (retry_after + 0.1 s each)"
            if limited["count"] and opts.ptb_rate_limiter
            else ""
        )
    )
    if limited["count"]:
        gaps = ", ".join(f"{g:.1f}" for g in limited["ms_after_previous_send"][:12])
        print(f"                      ms after the previous accepted send: {gaps}")
    print(
        f"pauses between sends  longest {line['longest_pause_s']:.2f} s; {line['pauses_over_100ms']} over "
        f"0.1 s, {line['pauses_over_100ms_s']:.2f} s in all; closest two to one chat "
        f"{line['closest_two_to_one_chat_s']:.3f} s"
    )
    counts = [str(n) for n in line["per_second"]]
    if len(counts) > 60:
        counts = [*counts[:40], f"… ({len(counts) - 50} more) …", *counts[-10:]]
    print(f"sends per second      {' '.join(counts)}")
    print()
    print(
        "where the dispatcher's time went (one message in flight at a time, so the sums add up to its wall):"
    )
    labels = {
        "per_chat_wait": "per-chat waits in _send (sleeping: its chat had a message < per-chat s ago)",
        "between_sends": "between rows, outside _send (waiting for a chat to be free, picking the next)",
        "rate_limiter_and_rest": f"its own {opts.rate:g}/s limiter, and the rest",
        "database_per_message": (
            f"database per message ({figures['transactions_per_message']:.1f} transactions: "
            "start_sending, delivered)"
        ),
        "bot_api_call": "sendMessage (HTTP, AIORateLimiter, its 429 retries)",
        "database_per_pass": "database per pass (recover, claim, claim_reviews)",
    }
    for name, label in labels.items():
        row = phases[name]
        figures_of = (
            f"; median {row['median_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms, max {row['max_ms']:.1f} ms"
            if "median_ms" in row
            else ""
        )
        print(f"  {row['sum_s']:7.2f} s  {label}{figures_of}")
    print(
        f"  {figures['messages_that_waited_for_their_chat']} of {len(chat_wait)} rows waited for their chat"
    )

    output = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": environment(backend),
        "options": {k: v for k, v in vars(opts).items() if k != "database"},
        "database": make_url(url).render_as_string(hide_password=True)
        if opts.database
        else "temporary SQLite",
        "standin_limits": dataclasses.asdict(limits),
        "figures": figures,
        "delivery": delivery,
        "rate_limited_429": limited,
        "timeline": {k: v for k, v in line.items() if k not in ("first", "last")},
        "phases": phases,
        "total_seconds": time.perf_counter() - started,
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"dispatch-{backend}.json"
    path.write_text(json.dumps(output, indent=2, ensure_ascii=False))
    print()
    print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return output


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(run(parse_options(argv)))


if __name__ == "__main__":
    main()
