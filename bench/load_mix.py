"""A team under mixed load: how long its reps wait, quiet and while their lead asks for reports.

    .venv/bin/python bench/load_mix.py                  # SQLite (per_update.py's data, cached)
    .venv/bin/python bench/load_mix.py --db postgresql  # $SALESBOT_BENCH_DATABASE_URL (or --database URL)

The real Application, wired by `bot.app.build_application` as in production, polls a Bot
API stand-in that runs in a process of its own. The team's reps live in that process too,
as Telegram users: each types a customer's name, adds notes and plays playbook steps at a
human pace, waiting for the bot's answer before a pause. Run 1 is quiet (the reps only);
run 2 is loaded: the same reps while their lead asks for `/digest`, `/report month` and
`/export` every 2 s. The data is per_update.py's (100,000 customers and 1,000,000 notes
over 50 teams by default), built once and cached. See ``bench/README.md``. Nothing here
asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import child_standin  # bench/: the stand-in in a process of its own
import per_update as pu  # bench/: the data, its cache, the bot's wiring, percentiles
from aiohttp import web
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_SUBMITTED, JobEvent
from sqlalchemy import select
from telegram import Update

from bot.app import CONSOLE_TOKEN, SalesApp, start_application, stop_application
from bot.console.driver import BOT_USERNAME, SPEC
from bot.playbooks.engine import CALLBACK_PREFIX
from bot.scheduling import jobs
from bot.storage.db import make_engine
from botapi_standin import BotApiStandIn, BotEvent, Limits

DATABASE_ENV = "SALESBOT_BENCH_DATABASE_URL"  # the PostgreSQL database for --db postgresql
ACTIONS = ("find", "note", "playbook")
# What the lead asks for, in turn: (kind, what they type).
LEAD_ASKS = (("digest", "/digest"), ("report", "/report month"), ("export", "/export"))
LABELS = {"digest": "/digest", "report": "/report month", "export": "/export"}
SETTLE_LIMIT = 600.0  # seconds the bot's start-up jobs may take before the runs begin anyway


# =========================================================================== options


@dataclass(frozen=True)
class Options:
    """What to run, how long, and on which data."""

    database: str | None
    reps: int
    seconds: float
    warmup: float
    scale: int
    pause: float
    lead_every: float
    mix: dict[str, float]
    timeout: float
    seed: int
    rebuild: bool

    def data_argv(self) -> list[str]:
        """per_update.py's options for the same data (its cache is shared with it)."""
        argv = ["--customers", str(self.scale), "--notes", str(self.scale * 10)]
        argv += ["--reps", str(max(10, self.reps))]
        if self.database:
            argv += ["--database", self.database]
        return argv + (["--rebuild"] if self.rebuild else [])


def parse_mix(text: str) -> dict[str, float]:
    """`find=1,note=1,playbook=1` as weights."""
    mix: dict[str, float] = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        if name.strip() not in ACTIONS or not weight:
            raise ValueError(part)
        mix[name.strip()] = float(weight)
    if not any(mix.values()) or any(w < 0 for w in mix.values()):
        raise ValueError(text)
    return mix


def parse_options(argv: list[str] | None = None) -> Options:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description="Reps' latency through the real bot, quiet and while their lead asks for reports."
    )
    parser.add_argument(
        "--db",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help=f"sqlite: a file cached under bench/results/ (shared with per_update.py); postgresql: "
        f"the database in ${DATABASE_ENV}",
    )
    parser.add_argument("--database", help=f"a database URL (instead of --db and ${DATABASE_ENV})")
    parser.add_argument("--reps", type=int, default=10, help="reps of the team who act (default 10)")
    parser.add_argument("--seconds", type=float, default=40.0, help="length of each run (default 40)")
    parser.add_argument(
        "--warmup", type=float, default=10.0, help="unmeasured run first, the lead included (default 10 s)"
    )
    parser.add_argument(
        "--scale", type=int, default=100_000, help="customers (default 100,000); notes are 10 times that"
    )
    parser.add_argument(
        "--pause", type=float, default=1.0, help="a rep's pause after each answer, ±25%% (default 1 s)"
    )
    parser.add_argument(
        "--lead-every", type=float, default=2.0, help="the lead's pace in the loaded run (default 2 s)"
    )
    parser.add_argument(
        "--mix",
        default="find=1,note=1,playbook=1",
        help="weights of the reps' actions (default find=1,note=1,playbook=1)",
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="an update with no answer after this is failed (60 s)"
    )
    parser.add_argument("--seed", type=int, default=20261123, help="random seed (data and behaviour)")
    parser.add_argument(
        "--rebuild", action="store_true", help="rebuild the data even if a matching database exists"
    )
    args = parser.parse_args(argv)
    database = args.database
    if database is None and args.db == "postgresql":
        database = os.environ.get(DATABASE_ENV)
        if not database:
            parser.error(f"--db postgresql reads the database URL from ${DATABASE_ENV} (or pass --database)")
    if not 1 <= args.reps <= 99 or args.scale < 1_000 or args.seconds <= 0 or args.pause < 0:
        parser.error("need 1 to 99 reps, a scale of at least 1,000 customers, seconds > 0 and pause ≥ 0")
    try:
        mix = parse_mix(args.mix)
    except ValueError:
        parser.error(f"--mix takes weights of {', '.join(ACTIONS)}, e.g. find=2,note=1,playbook=1")
    given = {**vars(args), "database": database, "mix": mix}
    return Options(**{option.name: given[option.name] for option in dataclasses.fields(Options)})


# =========================================================================== the team


async def load_team(url: str, data: pu.Options, reps: int) -> dict[str, Any]:
    """The benchmark team's lead and its first `reps` reps who own a customer that a name finds.

    At full scale that is reps 1 to `reps`; on small data a rep may own no such customer.
    """
    lead = pu.lead_id(pu.BENCH_TEAM)
    users = pu.table("users")
    engine = make_engine(url)
    people: list[dict[str, Any]] = []
    try:
        for r in range(1, data.reps + 1):
            world = await pu.load_world(engine, data, pu.rep_id(pu.BENCH_TEAM, r))
            queries = list(dict.fromkeys((q.text, q.customer_id) for q in world.queries if q.kind == "name"))
            if queries:
                people.append(
                    {
                        "user_id": pu.rep_id(pu.BENCH_TEAM, r),
                        "customers": world.rep_customers,
                        "queries": queries,
                    }
                )
            if len(people) == reps:
                break
        ids = [lead, *(person["user_id"] for person in people)]
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(users.c.telegram_id, users.c.name).where(users.c.telegram_id.in_(ids))
            )
            names = {int(row.telegram_id): str(row.name) for row in rows}
    finally:
        await engine.dispose()
    if len(people) < reps:
        raise SystemExit(
            f"only {len(people)} reps of the team own a customer to find by name; use a larger --scale"
        )
    for person in people:
        person["name"] = names[person["user_id"]]
    return {"team_id": pu.BENCH_TEAM, "lead": {"user_id": lead, "name": names[lead]}, "reps": people}


# =========================================================================== the stand-in and the team

DoneIf = Callable[[BotEvent], bool | None]  # True: the answer is complete; False: it failed; None: not yet


def callback_datas(event: BotEvent) -> list[str]:
    """The callback data of the buttons on the message an event sent or edited."""
    if event.kind not in ("send", "edit") or event.message is None:
        return []
    return [str(b.get("callback_data", "")) for b in event.message.buttons()]


def alerted(event: BotEvent) -> bool | None:
    """False for a pop-up alert (a button the bot found stale), else None."""
    return False if event.kind == "answer" and (event.answer or {}).get("show_alert") else None


def shows(wanted: Callable[[str], bool]) -> DoneIf:
    """Done when a message is sent or edited with a button whose data is wanted."""

    def done(event: BotEvent) -> bool | None:
        return True if any(wanted(data) for data in callback_datas(event)) else alerted(event)

    return done


def button(prefix: str) -> DoneIf:
    """Done when a message shows a button whose data starts with `prefix`."""
    return shows(lambda data: data.startswith(prefix))


def sends_document(event: BotEvent) -> bool | None:
    """Done when a document is sent (an export)."""
    return (
        True
        if event.kind == "send" and event.message is not None and event.message.kind == "document"
        else None
    )


def any_message(event: BotEvent) -> bool | None:
    """Done at the first message sent or edited."""
    return True if event.kind in ("send", "edit") else None


@dataclass
class Shown:
    """The message that completed an answer: its id and its buttons' data."""

    message_id: int
    datas: list[str]


@dataclass
class Waiter:
    """One update on its way: when it was sent, its first answer, its complete answer."""

    done_if: DoneIf
    query_id: str | None = None  # the callback query of a button press, whose answer is ours
    sent: float = 0.0
    first: float | None = None
    complete: float | None = None
    ok: bool = False
    shown: Shown | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class RunLog:
    """What one run recorded."""

    started: float
    deadline: float
    records: list[dict[str, Any]] = field(default_factory=list)
    # Messages sent or edited in a chat while nobody there waited (by event kind), and
    # presses that could not be made because the button had gone ("button gone").
    stray: Counter[str] = field(default_factory=Counter)


Make = Callable[[], dict[str, Any]]  # builds the update a user causes (the stand-in stores their message)


class Crowd:
    """The team's reps and lead, as Telegram users of the stand-in, in the stand-in's process.

    Each person has at most one update on its way, so whatever the bot sends or edits in
    their chat meanwhile is the answer to it. Times are taken when the stand-in handles
    the bot's request, as Telegram would deliver it.
    """

    def __init__(self, standin: BotApiStandIn, script: dict[str, Any]) -> None:
        self.standin = standin
        self.script = script
        self.team = script["team"]
        self.waiting: dict[int, Waiter] = {}
        self.log: RunLog | None = None
        self.rounds = 0
        standin.subscribe(self.on_event)

    def on_event(self, event: BotEvent) -> None:
        """Time the answer to the update on its way in the event's chat."""
        if event.chat_id is None or event.kind == "chat_action":
            return
        now = time.perf_counter()
        waiter = self.waiting.get(event.chat_id)
        if event.kind == "answer" and (
            waiter is None or (event.answer or {}).get("callback_query_id") != waiter.query_id
        ):
            return  # a late answer to an earlier press (sent along with its edit), not news
        if waiter is None:
            if self.log is not None:
                self.log.stray[event.kind] += 1
            return
        if waiter.first is None:
            waiter.first = now
        verdict = waiter.done_if(event)
        if verdict is None:
            return
        waiter.complete, waiter.ok = now, verdict
        if event.message is not None and event.kind in ("send", "edit"):
            waiter.shown = Shown(event.message.message_id, callback_datas(event))
        del self.waiting[event.chat_id]
        waiter.done.set()

    async def run(self, seconds: float, *, lead: bool, lead_at_least: int) -> dict[str, Any]:
        """Let the reps (and the lead) act for `seconds`; every action begun by then is finished."""
        self.rounds += 1
        started = time.perf_counter()
        log = RunLog(started, started + seconds)
        self.log = log
        requests, cpu = len(self.standin.requests), time.process_time()
        seed = self.script["seed"]
        reps = [
            asyncio.create_task(Rep(self, rep, random.Random(f"{seed}:{self.rounds}:{rep['user_id']}")).act())
            for rep in self.team["reps"]
        ]
        if lead:
            await self._lead(reps, lead_at_least)
        await asyncio.gather(*reps)
        self.log = None
        made = self.standin.requests[requests:]
        errors = Counter(f"{r.method} {r.status} {r.description}" for r in made if r.status != 200)
        return {
            "seconds": time.perf_counter() - started,
            "records": log.records,
            "stray": dict(log.stray),
            "requests": len(made),
            "errors": dict(errors),
            "standin_cpu": time.process_time() - cpu,
        }

    def typed(self, user_id: int, text: str) -> Make:
        """The user sends a text."""
        return lambda: self.standin.text_update(user_id, text)

    def press(self, user_id: int, message_id: int, data: str) -> Make:
        """The user presses a button of a bot message."""
        return lambda: self.standin.callback_update(user_id, message_id, data)

    async def ask(
        self,
        who: str,
        user_id: int,
        kind: str,
        step: str,
        make: Make,
        done_if: DoneIf,
        *,
        record: bool = True,
    ) -> Shown | None:
        """Send one update and wait for its answer; record the times. The message shown, None if it failed."""
        log = self.log
        assert log is not None
        waiter = Waiter(done_if)
        try:
            payload = make()
        except ValueError:  # the button has gone from the message: the action cannot go on
            log.stray["button gone"] += 1
            return None
        waiter.query_id = payload.get("callback_query", {}).get("id")
        self.waiting[user_id] = waiter
        waiter.sent = time.perf_counter()
        self.standin.enqueue(payload)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiter.done.wait(), float(self.script["timeout"]))
        if self.waiting.get(user_id) is waiter:
            del self.waiting[user_id]
        if record:
            log.records.append(
                {
                    "who": who,
                    "user_id": user_id,
                    "kind": kind,
                    "step": step,
                    "at": waiter.sent - log.started,
                    "first_ms": since(waiter.sent, waiter.first),
                    "complete_ms": since(waiter.sent, waiter.complete),
                    "ok": waiter.ok,
                    "timed_out": waiter.complete is None,
                }
            )
        return waiter.shown if waiter.ok else None

    async def _lead(self, reps: list[asyncio.Task[None]], at_least: int) -> None:
        """Ask in turn for the digest, the month's report and the export, one every `lead_every` seconds.

        A request is sent when the previous one is complete, and no sooner than
        `lead_every` after that one was sent. The lead goes on while any rep finishes an
        action, and asks at least `at_least` times.
        """
        log = self.log
        assert log is not None
        lead, team_id = self.team["lead"]["user_id"], self.team["team_id"]
        done_if = {
            "digest": button(f"dp:{team_id}:"),
            "report": button(f"dp:{team_id}:"),
            "export": sends_document,
        }
        asked = 0
        while time.perf_counter() < log.deadline or not all(t.done() for t in reps) or asked < at_least:
            kind, text = LEAD_ASKS[asked % len(LEAD_ASKS)]
            asked += 1
            sent = time.perf_counter()
            await self.ask("lead", lead, kind, kind, self.typed(lead, text), done_if[kind])
            await asyncio.sleep(max(0.0, sent + float(self.script["lead_every"]) - time.perf_counter()))


def since(start: float, end: float | None) -> float | None:
    """Milliseconds from start to end, None without an end."""
    return None if end is None else (end - start) * 1000


class Rep:
    """One rep at work: finds, notes and playbook steps, pausing after every answer."""

    def __init__(self, crowd: Crowd, rep: dict[str, Any], rng: random.Random) -> None:
        self.crowd, self.rng = crowd, rng
        self.user_id = int(rep["user_id"])
        self.queries = [(str(text), int(cid)) for text, cid in rep["queries"]]
        self.pause = float(crowd.script["pause"])
        self.mix = dict(crowd.script["mix"])

    async def act(self) -> None:
        """Act until the deadline, an action at a time; an action begun is finished."""
        log = self.crowd.log
        assert log is not None
        await asyncio.sleep(self.rng.uniform(0, self.pause))  # not all at once
        while time.perf_counter() < log.deadline:
            action = self.rng.choices(list(self.mix), weights=list(self.mix.values()))[0]
            typed, cid = self.rng.choice(self.queries)
            card = await self.step(
                "find", "find", self.crowd.typed(self.user_id, typed), shows(f"cn:{cid}".__eq__)
            )
            done = card is not None
            if card is not None and action == "note":
                done = await self.note(cid, card)
            elif card is not None and action == "playbook":
                done = await self.playbook(cid, card)
            if not done:
                # Leave whatever form may be half-filled (not recorded), and carry on.
                cancel = self.crowd.typed(self.user_id, "/cancel")
                await self.crowd.ask(
                    "rep", self.user_id, "cancel", "cancel", cancel, any_message, record=False
                )
                await self.rest()

    async def rest(self) -> None:
        """The pause after an answer: `pause` ± 25%."""
        await asyncio.sleep(self.pause * self.rng.uniform(0.75, 1.25))

    async def step(self, kind: str, step: str, make: Make, done_if: DoneIf) -> Shown | None:
        """One update of an action, then the pause."""
        shown = await self.crowd.ask("rep", self.user_id, kind, step, make, done_if)
        await self.rest()
        return shown

    def press(self, message_id: int, data: str) -> Make:
        """Press a button of a bot message in the rep's chat."""
        return self.crowd.press(self.user_id, message_id, data)

    async def note(self, cid: int, card: Shown) -> bool:
        """📝 on the card, then the note's text: the bot saves it and offers call/visit/message."""
        asked = await self.step("note", "open", self.press(card.message_id, f"cn:{cid}"), button("f:"))
        if asked is None:
            return False
        prefix = self.crowd.script["note_prefix"]
        text = f"{prefix} {self.user_id}-{self.rng.randrange(10**6)}: {self.rng.choice(pu.NOTE_ZH)}。"
        saved = await self.step("note", "save", self.crowd.typed(self.user_id, text), button(f"nk:{cid}:"))
        return saved is not None

    async def playbook(self, cid: int, card: Shown) -> bool:
        """▶️ on the card, a playbook, one or two of its steps answered by buttons, then ⏸."""
        menu = await self.step(
            "playbook", "menu", self.press(card.message_id, f"pl:{cid}"), button(f"ps:{cid}:")
        )
        if menu is None:
            return False
        starts = [data for data in menu.datas if data.startswith(f"ps:{cid}:")]
        preferred = f"ps:{cid}:{self.crowd.script['playbook']}"
        start = preferred if preferred in starts else starts[0]
        ours = f"{CALLBACK_PREFIX}:{cid}:"
        shown = await self.step("playbook", "start", self.press(menu.message_id, start), button(ours))
        for _ in range(self.rng.choice((1, 2))):
            data = forward_button(shown.datas, ours, self.rng) if shown is not None else None
            if shown is None or data is None:
                break
            shown = await self.step("playbook", "step", self.press(shown.message_id, data), moved_on(data))
        if shown is None:
            return False
        pause = next((d for d in shown.datas if d.startswith(ours) and d.split(":")[4] == "z"), None)
        if pause is None:
            return True  # the run has ended
        run_id = pause.split(":")[2]
        paused = await self.step(
            "playbook", "pause", self.press(shown.message_id, pause), shows(f"pr:{cid}:{run_id}".__eq__)
        )
        return paused is not None


def moved_on(pressed: str) -> DoneIf:
    """Done when the run of the pressed step button shows its buttons with another seq (the next step)."""
    _, cid, run_id, seq, *_ = pressed.split(":")
    prefix = f"{CALLBACK_PREFIX}:{cid}:{run_id}:"
    return shows(lambda data: data.startswith(prefix) and data.split(":")[3] != seq)


def forward_button(datas: list[str], prefix: str, rng: random.Random) -> str | None:
    """A button that answers the step shown: a choice or score at random, else Next or Done."""
    ours = [data for data in datas if data.startswith(prefix) and len(data.split(":")) >= 5]
    picks = [data for data in ours if data.split(":")[4] == "p"]
    if picks:
        return rng.choice(picks)
    return next((data for action in ("n", "d") for data in ours if data.split(":")[4] == action), None)


def standin_process(conn: Connection, script: dict[str, Any]) -> None:
    """Child process: serve the stand-in, with the team as its users and a control API to run them."""
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_serve_standin(conn, script))


async def _serve_standin(conn: Connection, script: dict[str, Any]) -> None:
    standin = BotApiStandIn(SPEC, token=CONSOLE_TOKEN, bot_username=BOT_USERNAME, limits=Limits.unlimited())
    team = script["team"]
    for person in [team["lead"], *team["reps"]]:
        standin.add_user(person["user_id"], person["name"], language_code="zh-hans", started=True)
    await standin.start()
    crowd = Crowd(standin, script)

    async def run(request: web.Request) -> web.Response:
        asked = await request.json()
        result = await crowd.run(
            float(asked["seconds"]), lead=bool(asked["lead"]), lead_at_least=int(asked["lead_at_least"])
        )
        return web.json_response(result)

    await child_standin.serve(conn, standin, [("POST", "/run", run)])


class StandIn(child_standin.Handle):
    """The parent's handle on the stand-in process."""

    async def run(self, seconds: float, *, lead: bool, lead_at_least: int = 0) -> dict[str, Any]:
        """One run of the team; what it recorded."""
        asked = {"seconds": seconds, "lead": lead, "lead_at_least": lead_at_least}
        response = await self._control.post("/run", json=asked, timeout=None)
        response.raise_for_status()
        return dict(response.json())


def standin_in_child(script: dict[str, Any]) -> contextlib.AbstractAsyncContextManager[StandIn]:
    """Start the stand-in and the team in their own process (own interpreter, own event loop)."""
    return child_standin.in_child(
        standin_process, (script,), lambda process, info: StandIn(process, info, timeout=30)
    )


# =========================================================================== the bot


async def settle(sales: SalesApp) -> dict[str, float]:
    """Wait for the bot's start-up work: its first care-planning pass and the sends it made due.

    In production that pass runs 5 s after start and then every 15 minutes; the first one
    over 100,000 customers must not land in a measured run. Returns how long the pass
    took and how long the wait was, in seconds.
    """
    started = time.perf_counter()
    waited = {"planning_pass": 0.0, "settled_after": 0.0}
    queue = sales.job_queue
    if queue is None or not sales.bot_data.schedule:
        return waited
    planned = asyncio.Event()
    loop = asyncio.get_running_loop()
    plan_ids = {job.id for job in queue.jobs() if job.callback is getattr(jobs, "_plan_care", None)}
    times: dict[int, float] = {}

    def on_job(event: JobEvent) -> None:
        if event.job_id in plan_ids:
            times[event.code] = time.perf_counter()
            if event.code != EVENT_JOB_SUBMITTED:
                loop.call_soon_threadsafe(planned.set)

    if plan_ids:
        queue.scheduler.add_listener(on_job, EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(planned.wait(), SETTLE_LIMIT)
        finally:
            queue.scheduler.remove_listener(on_job)
        ended = times.get(EVENT_JOB_EXECUTED, times.get(EVENT_JOB_ERROR, time.perf_counter()))
        waited["planning_pass"] = ended - times.get(EVENT_JOB_SUBMITTED, started)
    # Then until no dispatch pass has been seen running for longer than the dispatcher's interval.
    quiet_for = jobs.DISPATCH_EVERY.total_seconds() + 1
    last_busy = time.perf_counter()
    while time.perf_counter() - last_busy < quiet_for and time.perf_counter() - started < SETTLE_LIMIT:
        dispatcher = sales.bot_data.dispatcher
        if dispatcher is not None and dispatcher.busy:
            last_busy = time.perf_counter()
        await asyncio.sleep(0.1)
    waited["settled_after"] = time.perf_counter() - started
    return waited


@dataclass
class Measured:
    """One run as the stand-in recorded it, and the bot's CPU meanwhile."""

    name: str
    result: dict[str, Any]
    bot_cpu: float
    worker_cpu: float  # the bot's worker processes for long CPU work (bot.heavy), exports


def process_cpu(pids: list[int]) -> dict[int, float]:
    """CPU seconds (user and system) of each process so far, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return out


async def measure(
    standin: StandIn, sales: SalesApp, name: str, seconds: float, *, lead: bool, lead_at_least: int = 0
) -> Measured:
    """One run, with the bot process's CPU seconds over it and its worker processes'."""
    print(f"{name}: {seconds:g} s{' with the lead' if lead else ''}", flush=True)
    services = sales.bot_data.services
    assert services is not None
    cpu, workers = time.process_time(), process_cpu(services.heavy.worker_pids())
    result = await standin.run(seconds, lead=lead, lead_at_least=lead_at_least)
    after = process_cpu(services.heavy.worker_pids())
    worker_cpu = sum(seconds - workers.get(pid, 0.0) for pid, seconds in after.items())
    return Measured(name, result, time.process_time() - cpu, worker_cpu)


# =========================================================================== report


def figures(values: list[float]) -> dict[str, float]:
    """n, p50, p95, p99 (nearest rank) and max of milliseconds."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": pu.percentile(values, 50),
        "p95": pu.percentile(values, 95),
        "p99": pu.percentile(values, 99),
        "max": max(values),
    }


def rep_summary(run: Measured) -> dict[str, Any]:
    """The reps' first-answer figures, over all their updates and per action kind (and per step)."""
    records = [r for r in run.result["records"] if r["who"] == "rep"]
    out: dict[str, Any] = {}
    for kind in ("all", *ACTIONS):
        chosen = [r for r in records if kind in ("all", r["kind"])]
        out[kind] = {
            **figures([r["first_ms"] for r in chosen if r["first_ms"] is not None]),
            "complete": figures([r["complete_ms"] for r in chosen if r["complete_ms"] is not None]),
            "failed": sum(not r["ok"] for r in chosen),
            "timed_out": sum(r["timed_out"] for r in chosen),
        }
    steps = sorted({(r["kind"], r["step"]) for r in records})
    out["steps"] = {
        f"{kind} {step}": figures(
            [
                r["first_ms"]
                for r in records
                if (r["kind"], r["step"]) == (kind, step) and r["first_ms"] is not None
            ]
        )
        for kind, step in steps
    }
    return out


def lead_summary(run: Measured) -> dict[str, Any]:
    """The lead's first and complete answers per kind of request."""
    records = [r for r in run.result["records"] if r["who"] == "lead"]
    out = {}
    for kind, _ in LEAD_ASKS:
        chosen = [r for r in records if r["kind"] == kind]
        out[kind] = {
            "first": figures([r["first_ms"] for r in chosen if r["first_ms"] is not None]),
            "complete": figures([r["complete_ms"] for r in chosen if r["complete_ms"] is not None]),
            "failed": sum(not r["ok"] for r in chosen),
        }
    return out


def ratio(loaded: dict[str, Any], quiet: dict[str, Any], key: str) -> float | None:
    """loaded ÷ quiet of one figure, when both have it."""
    if key not in loaded or key not in quiet or not quiet[key]:
        return None
    return float(loaded[key] / quiet[key])


def cell(value: float | None, width: int = 8, suffix: str = "") -> str:
    """A right-aligned figure, or a dash."""
    return f"{'–':>{width}}" if value is None else f"{value:>{width - len(suffix)}.1f}{suffix}"


def print_report(
    quiet: Measured, loaded: Measured, reps: dict[str, dict[str, Any]], lead: dict[str, Any]
) -> None:
    """The tables."""
    print()
    print("reps: update sent → the bot's first answer, ms (nearest-rank percentiles)")
    header = (
        f"{'':<10}{'quiet n':>8}{'p50':>8}{'p95':>8}{'p99':>8}  {'loaded n':>8}{'p50':>8}{'p95':>8}{'p99':>8}"
        f"  {'÷ p95':>7}{'÷ p99':>7}"
    )
    print(header)
    print("-" * len(header))
    for kind in ("all", *ACTIONS):
        q, ld = reps["quiet"][kind], reps["loaded"][kind]
        line = f"{kind:<10}{q['n']:>8}{cell(q.get('p50'))}{cell(q.get('p95'))}{cell(q.get('p99'))}  "
        line += f"{ld['n']:>8}{cell(ld.get('p50'))}{cell(ld.get('p95'))}{cell(ld.get('p99'))}  "
        line += f"{cell(ratio(ld, q, 'p95'), 7, '×')}{cell(ratio(ld, q, 'p99'), 7, '×')}"
        print(line)
    print()
    print("lead (loaded run): request sent → first answer / → complete answer, ms")
    header = f"{'':<15}{'n':>4}{'first p50':>11}{'p95':>8}{'p99':>8}{'complete p50':>14}"
    header += f"{'p95':>8}{'p99':>8}{'max':>8}"
    print(header)
    print("-" * len(header))
    for kind, _ in LEAD_ASKS:
        f, c = lead[kind]["first"], lead[kind]["complete"]
        print(
            f"{LABELS[kind]:<15}{f['n']:>4}{cell(f.get('p50'), 11)}{cell(f.get('p95'))}{cell(f.get('p99'))}"
            f"{cell(c.get('p50'), 14)}{cell(c.get('p95'))}{cell(c.get('p99'))}{cell(c.get('max'))}"
        )
    print()
    for run, summary in ((quiet, reps["quiet"]), (loaded, reps["loaded"])):
        result = run.result
        failed = summary["all"]["failed"]
        timed_out = summary["all"]["timed_out"]
        rate = summary["all"]["n"] / result["seconds"]
        print(
            f"{run.name:<7} {result['seconds']:5.1f} s, reps {rate:4.1f} updates/s, "
            f"bot CPU {run.bot_cpu / result['seconds']:4.0%} "
            f"(+ worker {run.worker_cpu / result['seconds']:.0%}), "
            f"stand-in CPU {result['standin_cpu'] / result['seconds']:4.0%}; "
            f"failed {failed} (no answer {timed_out}); messages nobody waited for {result['stray'] or 0}; "
            f"Bot API errors {result['errors'] or 0}"
        )


# =========================================================================== main


async def run(opts: Options) -> dict[str, Any]:
    """Prepare the data, start the bot polling the stand-in process, run quiet then loaded, report."""
    started = time.perf_counter()
    data = pu.parse_options(opts.data_argv())
    prepared = await pu.prepare_database(data)
    if prepared.built:
        print(f"data built in {prepared.build['total']:.1f} s")
    elif prepared.build:
        print(f"data reused (it took {prepared.build.get('total', 0):.1f} s to build)")
    print(f"database: {prepared.counts}")
    playbooks, skipped = pu.load_playbooks()
    if skipped:
        print(f"playbooks: {len(skipped)} problem(s) in files left out (they fail the checker)")
    team = await load_team(prepared.url, data, opts.reps)
    owners = ", ".join(f"{rep['user_id']} ({rep['customers']} customers)" for rep in team["reps"])
    print(f"team {team['team_id']}: lead {team['lead']['user_id']}, reps {owners}")
    script = {
        "team": team,
        "pause": opts.pause,
        "lead_every": opts.lead_every,
        "mix": opts.mix,
        "timeout": opts.timeout,
        "seed": opts.seed,
        "playbook": pu.PLAYBOOK,
        "note_prefix": pu.RUN_NOTE_PREFIX,
    }

    async with standin_in_child(script) as standin:
        sales, engine = pu.build_salesbot(standin, prepared.url, (), playbooks, once_per_update=True)
        try:
            await start_application(sales)
            assert sales.updater is not None
            await sales.updater.start_polling(allowed_updates=Update.ALL_TYPES)
            print("bot polling; waiting for its start-up jobs", flush=True)
            settled = await settle(sales)
            print(
                f"  settled after {settled['settled_after']:.1f} s "
                f"(the first care-planning pass took {settled['planning_pass']:.1f} s)"
            )
            if opts.warmup > 0:
                await measure(standin, sales, "warm-up", opts.warmup, lead=True, lead_at_least=len(LEAD_ASKS))
            quiet = await measure(standin, sales, "quiet", opts.seconds, lead=False)
            loaded = await measure(standin, sales, "loaded", opts.seconds, lead=True)
        finally:
            if sales.updater is not None and sales.updater.running:
                await sales.updater.stop()
            await stop_application(sales)
            await engine.dispose()

    await pu.remove_leftovers_at(prepared.url)

    reps = {"quiet": rep_summary(quiet), "loaded": rep_summary(loaded)}
    lead = lead_summary(loaded)
    ratios = {
        kind: {key: ratio(reps["loaded"][kind], reps["quiet"][kind], key) for key in ("p95", "p99")}
        for kind in ("all", *ACTIONS)
    }
    print_report(quiet, loaded, reps, lead)

    output = {
        **pu.results_head(prepared, opts),
        "team": {
            "team_id": team["team_id"],
            "lead": team["lead"]["user_id"],
            "reps": [
                {"user_id": r["user_id"], "customers": r["customers"], "names": len(r["queries"])}
                for r in team["reps"]
            ],
        },
        "settle_seconds": settled,
        "reps_first_answer_ms": reps,
        "lead_ms": lead,
        "ratios_loaded_over_quiet": ratios,
        "runs": {
            run.name: {
                "seconds": run.result["seconds"],
                "bot_cpu_seconds": run.bot_cpu,
                "worker_cpu_seconds": run.worker_cpu,
                "standin_cpu_seconds": run.result["standin_cpu"],
                "bot_api_requests": run.result["requests"],
                "bot_api_errors": run.result["errors"],
                "messages_nobody_waited_for": run.result["stray"],
                "records": run.result["records"],
            }
            for run in (quiet, loaded)
        },
        "playbooks_left_out": skipped,
        "total_seconds": time.perf_counter() - started,
    }
    pu.write_results(f"load_mix-{prepared.backend}.json", output)
    return output


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(run(parse_options(argv)))


if __name__ == "__main__":
    main()
