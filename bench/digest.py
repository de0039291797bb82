"""The team lead's digest: how long its figures and its chart take on a big team.

    .venv/bin/python bench/digest.py                 # SQLite (a file cached under bench/results/)
    .venv/bin/python bench/digest.py --database postgresql+asyncpg://user@host/db

One team of 50 reps and a lead, 100,000 customers and 1,000,000 notes over two years,
with purchases, follow-ups, playbook outcomes, finished runs and care messages. The
figures are `bot.services.digest.views.build` (one transaction each, as the bot runs it) for a
daily digest and the week and month reports, each service function it calls on its
own, and `bot.services.chart.render` of the digest's chart. The goal (from the issue):
under 1 s for the data and under 0.5 s for the chart. See ``bench/README.md``. Nothing
here asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import gc
import hashlib
import itertools
import json
import math
import random
import statistics
import subprocess
import sys
import time
from array import array
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast
from zoneinfo import ZoneInfo

import per_update as pu  # bench/: names, customer cards, table helpers, the SQL listener
from alembic.script import ScriptDirectory
from pydantic_core import PydanticUndefined
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.domain import analytics
from bot.domain.access import Actor, Role
from bot.domain.card import Stage
from bot.i18n import catalogue
from bot.services import analytics as analytics_service
from bot.services import chart, outcome_stats
from bot.services import digest as svc
from bot.storage import models
from bot.storage.db import alembic_config, make_engine, make_session_factory, transaction, upgrade
from bot.telegram.digest_render import chart_data

RESULTS = pu.RESULTS
# Bump when the generated data changes shape, so an old cache is rebuilt.
DATA_VERSION = 1
META_TABLE = "bench_digest_data"  # one row in the benchmark's database: what was built, how long it took

# The digest is built as of a fixed moment, so the cached data never goes stale:
# 08:30 in Shanghai on 2026-11-23, half an hour after the digest's default hour.
TZ = "Asia/Shanghai"
NOW = datetime(2026, 11, 23, 8, 30, tzinfo=ZoneInfo(TZ)).astimezone(UTC)
TEAM_ID = 1
LEAD_ID = 20_000_100
REP_BASE = LEAD_ID  # reps are LEAD_ID + 1 … LEAD_ID + reps
ADMIN_ID = 10_000_001

DATA_GOAL_MS = 1000.0
CHART_GOAL_MS = 500.0
KINDS = ("day", "week", "month")

NOTE_KINDS = ("note", "call", "visit", "message", "system")
NOTE_KIND_WEIGHTS = (56, 21, 8, 11, 4)
CONTACT_KINDS = frozenset(svc.CONTACT_KINDS)
STAGES = [stage.value for stage in Stage]
OPEN_STAGES = [s for s in STAGES if s not in ("won", "lost")]
OPEN_STAGE_WEIGHTS = [24, 17, 15, 13, 9, 7, 0]  # find … after_sales (after_sales: buyers only)
GRADES = ("A", "B", "C", None)
GRADE_WEIGHTS = (20, 30, 30, 20)
GRADE_NOTE_WEIGHT = {"A": 3.0, "B": 1.5, "C": 0.8, None: 0.5}  # A customers get more attention
GRADE_BUYS = {"A": 0.6, "B": 0.4, "C": 0.25, None: 0.15}  # share with purchases: about a third in all

OBJECTION_METHODS = {
    "need": ("yes_but", "boomerang", "tactful"),
    "money": ("yes_but", "boomerang", "tactful"),
    "authority": ("yes_but", "tactful", "merge"),
    "price": ("yes_but", "boomerang", "compensate", "rebut", "ignore"),
    "product": ("yes_but", "compensate", "merge", "rebut"),
    "salesperson": ("yes_but", "rebut", "tactful"),
    "timing": ("yes_but", "boomerang", "tactful"),
}
CLOSING_METHODS = ("direct", "assumptive", "alternative", "minor_point", "benefit_summary", "precondition")
COMPLAINT_TYPES = ("quality", "delivery", "service", "price", "billing", "other")
PLAYBOOKS = ("qualify", "approach", "present", "objection", "closing", "complaint", "revisit", "winback")
CARE_OCCASIONS = ("birthday", "followup_3", "followup_30", "followup_90", "anniversary", "holiday")

MODELS: dict[str, type[SQLModel]] = {
    "users": models.User,
    "teams": models.Team,
    "memberships": models.Membership,
    "customers": models.Customer,
    "notes": models.Note,
    "purchases": models.Purchase,
    "tasks": models.Task,
    "outcomes": models.Outcome,
    "playbook_runs": models.PlaybookRun,
    "outbox": models.OutboxMessage,
}
COUNTED = tuple(MODELS)


# =========================================================================== options


@dataclass(frozen=True)
class Options:
    """What to build and how long to measure."""

    database: str | None
    fresh: bool
    customers: int
    notes: int
    reps: int
    own_rhythm: float
    seed: int
    warmup: int
    iterations: int
    kinds: tuple[str, ...]
    explain: int
    what_if_index: tuple[str, ...]
    cold_chart: bool
    label: str

    @property
    def cache_key(self) -> str:
        """What identifies the generated data: its version, sizes, seed and the schema."""
        return (
            f"digest-v{DATA_VERSION}-{self.customers}c-{self.notes}n-{self.reps}r"
            f"-own{round(self.own_rhythm * 1000)}-s{self.seed}"
            f"-rev{schema_revision()}-{pu.schema_fingerprint()}"
        )


def parse_options(argv: list[str] | None = None) -> Options:
    """Command-line options."""
    parser = argparse.ArgumentParser(description="The team lead's digest: data and chart times.")
    parser.add_argument(
        "--database",
        help="database URL (default: a SQLite file cached under bench/results/); its tables are "
        "dropped and rebuilt unless it already holds this benchmark's data",
    )
    parser.add_argument("--fresh", action="store_true", help="build the data again even if it is cached")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--notes", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument(
        "--own-rhythm",
        type=float,
        default=0.03,
        help="share of customers with a contact rhythm of their own (default 0.03)",
    )
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured rounds first (2)")
    parser.add_argument("--iterations", type=int, default=15, help="measured rounds (15)")
    parser.add_argument("--kinds", default=",".join(KINDS), help="day,week,month (all by default)")
    parser.add_argument(
        "--explain", type=int, default=4, help="show the query plans of the N slowest statements (4)"
    )
    parser.add_argument(
        "--what-if-index",
        action="append",
        default=[],
        metavar="'NAME ON TABLE (COLUMNS)'",
        help="create this index before measuring and drop it afterwards (repeatable): a what-if, "
        "the figures are then not the bot as shipped",
    )
    parser.add_argument(
        "--no-cold-chart",
        dest="cold_chart",
        action="store_false",
        help="skip the chart's cold start in a fresh interpreter",
    )
    parser.add_argument(
        "--label", default="", help="added to the JSON file's name (digest-<backend>[-label].json)"
    )
    args = parser.parse_args(argv)
    kinds = tuple(k for k in args.kinds.split(",") if k)
    if not kinds or any(k not in KINDS for k in kinds):
        parser.error(f"--kinds takes some of {','.join(KINDS)}")
    return Options(
        database=args.database,
        fresh=args.fresh,
        customers=args.customers,
        notes=args.notes,
        reps=args.reps,
        own_rhythm=args.own_rhythm,
        seed=args.seed,
        warmup=args.warmup,
        iterations=args.iterations,
        kinds=kinds,
        explain=args.explain,
        what_if_index=tuple(args.what_if_index),
        cold_chart=args.cold_chart,
        label=args.label,
    )


def schema_revision() -> str:
    """The migrations' head revision: the schema the data is built with."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    return str(head)


# =========================================================================== the data


def rep_ids(reps: int) -> list[int]:
    """The team's reps."""
    return [REP_BASE + n for n in range(1, reps + 1)]


def staff_rows(opts: Options) -> tuple[list[dict[str, Any]], ...]:
    """The admin, the lead and the reps, one team, and their memberships."""
    rng = random.Random(opts.seed)
    joined = NOW - timedelta(days=800)
    users: list[dict[str, Any]] = [
        {"telegram_id": ADMIN_ID, "name": "Ada Admin", "is_admin": True, "created_at": joined},
        {"telegram_id": LEAD_ID, "name": "李娜", "created_at": joined},
    ]
    members: list[dict[str, Any]] = [
        {"user_id": LEAD_ID, "team_id": TEAM_ID, "role": "lead", "active": True, "joined_at": joined}
    ]
    for user_id in rep_ids(opts.reps):
        name = pu.chinese_name(rng) if rng.random() < 0.8 else rng.choice(pu.LATIN_FIRST)
        users.append({"telegram_id": user_id, "name": name, "created_at": joined})
        members.append(
            {"user_id": user_id, "team_id": TEAM_ID, "role": "rep", "active": True, "joined_at": joined}
        )
    teams: list[dict[str, Any]] = [
        {
            "id": TEAM_ID,
            "name": "华东销售一部",
            "timezone": TZ,
            "language": "zh",
            "settings": {},
            "created_at": joined,
        }
    ]
    return users, teams, members


def fill(name: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give every row every column: the model's default, or NULL (like per_update.complete)."""
    if not rows:
        return rows
    model = MODELS[name]
    given = set().union(*rows)
    for column in pu.table(name).columns:
        if column.name in given and all(column.name in row for row in rows):
            continue
        if column.primary_key and column.autoincrement is not False:
            continue
        info = model.model_fields.get(column.name)
        if info is not None and info.default_factory is not None:
            factory = cast(Callable[[], Any], info.default_factory)
            for row in rows:
                if column.name not in row:
                    row[column.name] = factory()
            continue
        if info is not None and info.default is not PydanticUndefined:
            value = info.default
        elif column.nullable:
            value = None
        else:
            raise SystemExit(f"bench/digest.py does not know how to fill {name}.{column.name}")
        for row in rows:
            row.setdefault(column.name, value)
    return rows


def at(seconds: float) -> datetime:
    """A UTC moment from a POSIX timestamp."""
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=0)


def local_day(moment: datetime) -> date:
    """The team's local date of a moment."""
    return moment.astimezone(ZoneInfo(TZ)).date()


@dataclass
class Card:
    """What the generator keeps of each customer to make the other tables agree with it."""

    owner: int
    grade: str | None
    created: float  # POSIX seconds
    buys: bool


@dataclass
class Built:
    """How long each part of the build took, in seconds."""

    seconds: dict[str, float] = field(default_factory=dict)


Batches = Iterator[list[dict[str, Any]]]


class Generator:
    """The whole data set, deterministic for a seed, yielded in insert batches."""

    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.rng = random.Random(opts.seed + 1)
        self.now = NOW.timestamp()
        self.today = local_day(NOW)
        reps = rep_ids(opts.reps)
        owners = [*reps, LEAD_ID]
        weights = [self.rng.lognormvariate(0, 0.6) for _ in reps] + [0.3]
        # Customers: created over ~2 years (a little more than the notes), in id order.
        first = self.now - 760 * 86400
        created = sorted(self.rng.uniform(first, self.now - 3600) for _ in range(opts.customers))
        self.cards: list[Card] = []
        for moment, owner in zip(
            created, self.rng.choices(owners, weights=weights, k=opts.customers), strict=True
        ):
            grade = self.rng.choices(GRADES, GRADE_WEIGHTS)[0]
            self.cards.append(Card(owner, grade, moment, self.rng.random() < GRADE_BUYS[grade]))
        self.created = [card.created for card in self.cards]
        # Notes: a skeleton (customer, moment, kind) first, so customers get their last contact.
        self.note_customer = array("i")
        self.note_at = array("d")
        self.note_kind = array("b")
        self.last_contact: dict[int, float] = {}
        self.last_note: dict[int, float] = {}
        weight_sum = list(
            itertools.accumulate(
                self.rng.gammavariate(0.8, 1.0) * GRADE_NOTE_WEIGHT[card.grade] for card in self.cards
            )
        )
        since = self.now - 730 * 86400
        span = self.now - since
        kind_weights = list(itertools.accumulate(NOTE_KIND_WEIGHTS))
        for n in range(opts.notes):
            moment = since + span * (n + self.rng.random()) / opts.notes
            known = bisect.bisect_right(self.created, moment)  # customers created by then
            index = bisect.bisect_right(weight_sum, self.rng.random() * weight_sum[known - 1])
            cid = min(index, known - 1) + 1
            kind = bisect.bisect_right(kind_weights, self.rng.random() * kind_weights[-1])
            self.note_customer.append(cid)
            self.note_at.append(moment)
            self.note_kind.append(kind)
            self.last_note[cid] = moment
            if NOTE_KINDS[kind] in CONTACT_KINDS:
                self.last_contact[cid] = moment

    # ----------------------------------------------------------------- customers

    def customers(self) -> Batches:
        """Customer cards: per_update's, with this team's owners, grades, stages and dates."""
        rng = self.rng
        batch: list[dict[str, Any]] = []
        for cid, card in enumerate(self.cards, start=1):
            row = pu.customer_row(rng, cid, pu.Owner(card.owner, TEAM_ID, 1.0), NOW)
            if card.buys:
                stage = rng.choices(("won", "after_sales", "closing", "lost"), (55, 30, 10, 5))[0]
            else:
                stage = rng.choices([*OPEN_STAGES, "lost"], [*OPEN_STAGE_WEIGHTS, 7])[0]
            created = at(card.created)
            contact = self.last_contact.get(cid)
            latest = max(card.created, self.last_note.get(cid, card.created))
            row.update(
                grade=card.grade,
                stage=stage,
                contact_every_days=rng.choice((7, 14, 30, 60))
                if rng.random() < self.opts.own_rhythm
                else None,
                created_at=created,
                updated_at=at(latest),
                last_contact_at=at(contact) if contact is not None else None,
                archived_at=at(rng.uniform(card.created, self.now)) if rng.random() < 0.02 else None,
            )
            batch.append(row)
            if len(batch) == 5_000:
                yield batch
                batch = []
        if batch:
            yield batch

    # ----------------------------------------------------------------- notes

    def notes(self) -> Batches:
        """The timeline: notes, calls, visits, messages and stage moves, by the customers' owners."""
        rng = self.rng
        batch: list[dict[str, Any]] = []
        for cid, moment, kind_index in zip(self.note_customer, self.note_at, self.note_kind, strict=True):
            kind = NOTE_KINDS[kind_index]
            meta: dict[str, Any] = {}
            if kind == "system":
                old, new = rng.sample(STAGES, 2)
                meta = {"event": "stage", "old": old, "new": new}
            batch.append(
                {
                    "customer_id": cid,
                    "team_id": TEAM_ID,
                    "author_id": self.cards[cid - 1].owner,
                    "kind": kind,
                    "text": pu.note_text(rng, kind),
                    "meta": meta,
                    "created_at": at(moment),
                }
            )
            if len(batch) == 10_000:
                yield batch
                batch = []
        if batch:
            yield batch

    # ----------------------------------------------------------------- purchases

    def purchases(self) -> Batches:
        """1 to 6 purchases for about a third of the customers, over two years."""
        rng = self.rng
        since = self.now - 730 * 86400
        batch: list[dict[str, Any]] = []
        for cid, card in enumerate(self.cards, start=1):
            if not card.buys:
                continue
            count = rng.choices(
                (1, 2, 3, 4, 5, 6), (25, 22, 18, 15, 11, 9) if card.grade == "A" else (40, 25, 15, 10, 6, 4)
            )[0]
            start = max(card.created, since)
            for _ in range(count):
                moment = rng.uniform(start, self.now)
                batch.append(
                    {
                        "customer_id": cid,
                        "team_id": TEAM_ID,
                        "purchased_on": local_day(at(moment)),
                        "amount": Decimal(rng.randint(5, 2_000) * 100) / (1 if rng.random() < 0.7 else 4),
                        "items": rng.choice(("设备", "配件", "耗材", "维保服务", "软件授权", "")),
                        "created_by": card.owner if rng.random() < 0.9 else None,
                        "created_at": at(moment),
                    }
                )
            if len(batch) >= 10_000:
                yield batch
                batch = []
        if batch:
            yield batch

    # ----------------------------------------------------------------- tasks

    def tasks(self) -> Batches:
        """Follow-ups over two years and the next three weeks: most done, some overdue."""
        rng = self.rng
        count = self.opts.customers * 2 // 5
        batch: list[dict[str, Any]] = []
        for _ in range(count):
            cid = rng.randint(1, len(self.cards))
            card = self.cards[cid - 1]
            due = local_day(at(rng.uniform(max(card.created, self.now - 730 * 86400), self.now + 21 * 86400)))
            age = (self.today - due).days
            done_share = 0.985 if age > 30 else 0.7 if age > 0 else 0.1
            created = at(max(card.created, self.now - (age + rng.randint(0, 14)) * 86400))
            done = created + timedelta(days=rng.uniform(0, 15)) if rng.random() < done_share else None
            batch.append(
                {
                    "team_id": TEAM_ID,
                    "owner_id": card.owner,
                    "customer_id": cid if rng.random() < 0.95 else None,
                    "due_on": due,
                    "text": rng.choice(("回访", "发报价", "确认样品", "约拜访", "催款", "Send the brochure")),
                    "source": rng.choice(("manual", "manual", "playbook", "note")),
                    "created_at": created,
                    "done_at": min(done, NOW) if done is not None else None,
                }
            )
            if len(batch) == 10_000:
                yield batch
                batch = []
        if batch:
            yield batch

    # ----------------------------------------------------------------- outcomes

    def outcomes(self) -> Batches:
        """Objections, closings, complaints, revisits and win-backs over two years."""
        rng = self.rng
        count = self.opts.customers * 3 // 10
        kinds = ("objection", "closing", "complaint", "revisit", "winback")
        results = ("won", "resolved", "partly", "pending", "follow_up", "lost")
        batch: list[dict[str, Any]] = []
        for _ in range(count):
            cid = rng.randint(1, len(self.cards))
            card = self.cards[cid - 1]
            moment = rng.uniform(max(card.created, self.now - 730 * 86400), self.now)
            created = at(moment)
            kind = rng.choices(kinds, (55, 25, 6, 10, 4))[0]
            row: dict[str, Any] = {
                "team_id": TEAM_ID,
                "customer_id": cid,
                "user_id": card.owner,
                "playbook": kind,
                "kind": kind,
                "created_at": created,
            }
            if kind == "objection":
                type_ = rng.choice(list(OBJECTION_METHODS))
                row.update(
                    type=type_,
                    method=rng.choice(OBJECTION_METHODS[type_]),
                    result=rng.choices(results, (25, 20, 15, 15, 15, 10))[0],
                    words=rng.choice(("太贵了", "再考虑考虑", "我做不了主", "用不上", "Too expensive")),
                )
            elif kind == "closing":
                row.update(
                    method=rng.choice(CLOSING_METHODS),
                    result=rng.choices(("won", "follow_up", "pending", "lost"), (35, 30, 15, 20))[0],
                    amount=Decimal(rng.randint(10, 2_000) * 100) if rng.random() < 0.35 else None,
                )
            elif kind == "complaint":
                recent = self.now - moment < 14 * 86400
                resolved = rng.random() < (0.6 if recent else 0.97)
                row.update(
                    type=rng.choice(COMPLAINT_TYPES),
                    words=rng.choice(("发货太慢", "质量有问题", "发票开错了", "态度不好")),
                    due_on=local_day(created) + timedelta(days=rng.randint(1, 5)),
                    resolved_at=min(created + timedelta(days=rng.uniform(0.1, 10)), NOW)
                    if resolved
                    else None,
                    result="resolved" if resolved else "pending",
                )
            else:
                row.update(
                    result=rng.choice(("won", "follow_up", "lost")),
                    score=rng.randint(1, 5) if kind == "revisit" else None,
                )
            batch.append(row)
            if len(batch) == 10_000:
                yield batch
                batch = []
        if batch:
            yield batch

    # ----------------------------------------------------------------- playbook runs

    def playbook_runs(self) -> Batches:
        """Runs over two years: mostly done or abandoned, a few still active (one per rep and customer)."""
        rng = self.rng
        count = self.opts.customers // 4
        active_pairs: set[tuple[int, int]] = set()
        batch: list[dict[str, Any]] = []
        for _ in range(count):
            cid = rng.randint(1, len(self.cards))
            card = self.cards[cid - 1]
            started = at(rng.uniform(max(card.created, self.now - 730 * 86400), self.now - 600))
            status = rng.choices(("done", "abandoned", "active"), (65, 30, 5))[0]
            if status == "active" and (card.owner, cid) in active_pairs:
                status = "abandoned"
            ended = min(started + timedelta(minutes=rng.uniform(2, 90)), NOW) if status != "active" else None
            if status == "active":
                active_pairs.add((card.owner, cid))
            batch.append(
                {
                    "team_id": TEAM_ID,
                    "customer_id": cid,
                    "user_id": card.owner,
                    "playbook": rng.choice(PLAYBOOKS),
                    "status": status,
                    "step": "end" if status == "done" else "volume",
                    "seq": rng.randint(1, 12),
                    "state": {"answers": {"source": "referral"}},
                    "outcome": rng.choice(("won", "follow_up", None)) if status == "done" else None,
                    "started_at": started,
                    "updated_at": ended or started,
                    "ended_at": ended,
                }
            )
            if len(batch) == 10_000:
                yield batch
                batch = []
        if batch:
            yield batch

    # ----------------------------------------------------------------- outbox

    def outbox(self) -> Batches:
        """Care messages of the last 45 days and the next week, and the reps' agendas and digests."""
        rng = self.rng
        batch: list[dict[str, Any]] = []
        serial = itertools.count(1)
        per_day = max(1, self.opts.customers * 9 // 2000)  # 450 a day for 100,000 customers
        for offset in range(-45, 8):
            day = self.today + timedelta(days=offset)
            due = datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(TZ)).astimezone(UTC)
            due += timedelta(hours=9)
            for _ in range(per_day):
                cid = rng.randint(1, len(self.cards))
                card = self.cards[cid - 1]
                telegram = rng.random() < 0.6
                if due > NOW:
                    status = rng.choices(("planned", "review"), (97, 3))[0]
                    updated = NOW - timedelta(days=rng.uniform(0, 7))
                else:
                    status = rng.choices(("sent", "handed", "skipped", "failed"), (70, 12, 14, 4))[0]
                    updated = due + timedelta(seconds=rng.uniform(1, 3 * 3600))
                occasion = rng.choice(CARE_OCCASIONS)
                batch.append(
                    {
                        "key": f"{occasion}:{cid}:{day.isoformat()}:{next(serial)}",
                        "team_id": TEAM_ID,
                        "customer_id": cid,
                        "rep_id": card.owner,
                        "occasion": occasion,
                        "day": day,
                        "channel": "telegram" if telegram else "via_rep",
                        "chat_id": 70_000_000 + cid if telegram else card.owner,
                        "text": "祝您生日快乐！" if occasion == "birthday" else "您好，最近使用情况如何？",
                        "status": status,
                        "reason": rng.choice(("opted_out", "cap", None)) if status == "skipped" else None,
                        "due_at": due,
                        "sent_at": updated if status in ("sent", "handed") else None,
                        "created_at": due - timedelta(days=7),
                        "updated_at": updated,
                    }
                )
            # The internal rows the digest leaves out: each rep's agenda and the lead's digest.
            if due <= NOW:
                for user_id, occasion in [(r, "agenda") for r in rep_ids(self.opts.reps)] + [
                    (LEAD_ID, "digest")
                ]:
                    batch.append(
                        {
                            "key": f"{occasion}:{user_id}:{day.isoformat()}",
                            "team_id": TEAM_ID,
                            "rep_id": user_id,
                            "occasion": occasion,
                            "day": day,
                            "channel": "telegram",
                            "chat_id": user_id,
                            "text": "",
                            "status": "sent",
                            "due_at": due - timedelta(hours=1),
                            "sent_at": due - timedelta(hours=1),
                            "created_at": due - timedelta(days=1),
                            "updated_at": due - timedelta(hours=1) + timedelta(seconds=2),
                        }
                    )
            if len(batch) >= 10_000:
                yield batch
                batch = []
        if batch:
            yield batch


async def insert_batches(conn: AsyncConnection, name: str, batches: Batches) -> int:
    """Core executemany INSERTs, one per batch; the rows inserted."""
    total = 0
    for batch in batches:
        await conn.execute(insert(pu.table(name)), fill(name, batch))
        total += len(batch)
        pu.progress(f"  {name:<14}{total:>10,}")
    return total


async def load_data(engine: AsyncEngine, opts: Options) -> Built:
    """Generate and bulk-insert everything, a transaction per table."""
    built = Built()
    started = time.perf_counter()
    generator = Generator(opts)
    built.seconds["generate skeleton"] = time.perf_counter() - started
    print(f"  skeleton (customers, note times) in {built.seconds['generate skeleton']:.1f} s")
    sqlite = engine.dialect.name == "sqlite"
    async with engine.connect() as conn:
        if sqlite:
            await conn.exec_driver_sql("PRAGMA synchronous=OFF")
            await conn.exec_driver_sql("PRAGMA cache_size=-262144")
        else:
            await conn.exec_driver_sql("SET synchronous_commit TO OFF")
        await conn.commit()
        users, teams, members = staff_rows(opts)
        for name, staff in (("users", users), ("teams", teams), ("memberships", members)):
            await conn.execute(insert(pu.table(name)), fill(name, staff))
        await conn.commit()
        parts: list[tuple[str, Callable[[], Batches]]] = [
            ("customers", generator.customers),
            ("notes", generator.notes),
            ("purchases", generator.purchases),
            ("tasks", generator.tasks),
            ("outcomes", generator.outcomes),
            ("playbook_runs", generator.playbook_runs),
            ("outbox", generator.outbox),
        ]
        for name, batches in parts:
            mark = time.perf_counter()
            rows = await insert_batches(conn, name, batches())
            await conn.commit()
            built.seconds[name] = time.perf_counter() - mark
            pu.progress(f"  {name:<14}{rows:>10,} in {built.seconds[name]:6.1f} s", final=True)
        mark = time.perf_counter()
        if sqlite:
            # No ANALYZE: the bot never runs it, so SQLite plans without statistics, as shipped.
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            for name in ("customers", "teams"):
                await conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))"
                    )
                )
            await conn.commit()
            await conn.execute(text("ANALYZE"))  # what autovacuum would do soon after a bulk load
        await conn.commit()
        built.seconds["finish"] = time.perf_counter() - mark
    built.seconds["total"] = time.perf_counter() - started
    return built


# =========================================================================== the database


async def row_counts(engine: AsyncEngine) -> dict[str, int]:
    """count(*) of every table the digest reads."""
    counts = {}
    async with engine.connect() as conn:
        for name in COUNTED:
            counts[name] = int(
                (await conn.execute(select(func.count()).select_from(pu.table(name)))).scalar_one()
            )
    return counts


async def stored_build(engine: AsyncEngine) -> dict[str, Any] | None:
    """What the benchmark's meta table says was built here, if it is there."""
    async with engine.connect() as conn:
        try:
            raw = (await conn.execute(text(f"SELECT body FROM {META_TABLE}"))).scalar_one_or_none()
            revision = (
                await conn.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar_one_or_none()
        except Exception:
            await conn.rollback()
            return None
    if raw is None:
        return None
    body = dict(json.loads(raw))
    body["revision"] = revision
    return body


async def drop_all(engine: AsyncEngine) -> None:
    """Drop the bot's tables, Alembic's version table and the benchmark's meta table."""
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.drop_all)
        await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        await conn.execute(text(f"DROP TABLE IF EXISTS {META_TABLE}"))


@dataclass
class Prepared:
    """The database ready to measure."""

    url: str
    backend: str
    built: bool
    build: dict[str, float]
    counts: dict[str, int]


async def prepare(opts: Options) -> Prepared:
    """Reuse the database if it holds this data (same version, sizes, seed and schema), else build it."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    key = opts.cache_key
    if opts.database is None:
        path = RESULTS / f"{key}.db"
        url = pu.sqlite_url(path)
        if opts.fresh or not path.exists():
            # The same data for another schema (or an unfinished build) is of no further use.
            for stale in RESULTS.glob(f"{key.rsplit('-rev', 1)[0]}-rev*.db*"):
                stale.unlink()
    else:
        url = Settings(_env_file=None, DATABASE_URL=opts.database).database_url
    engine = make_engine(url)
    backend = engine.dialect.name
    where = engine.url.render_as_string(hide_password=True)
    try:
        found = await stored_build(engine)
        if (
            found is not None
            and found.get("key") == key
            and found.get("revision") == schema_revision()
            and not opts.fresh
        ):
            counts = await row_counts(engine)
            if counts == found.get("counts"):
                return Prepared(url, backend, False, dict(found.get("seconds", {})), counts)
            print(f"{where}: row counts {counts} differ from the build's {found.get('counts')}: rebuilding")
        elif found is not None:
            print(f"{where}: holds {found.get('key')} (revision {found.get('revision')}): rebuilding")
        print(f"building {key} in {where}")
        await drop_all(engine)
        await upgrade(engine)
        missing = await pu.missing_columns(engine)
        if missing:
            raise SystemExit(f"the migrations lack what bot/storage/models.py declares: {missing}")
        built = await load_data(engine, opts)
        counts = await row_counts(engine)
        async with engine.begin() as conn:
            await conn.execute(text(f"CREATE TABLE {META_TABLE} (body TEXT NOT NULL)"))
            body = {"key": key, "counts": counts, "seconds": built.seconds}
            await conn.execute(
                text(f"INSERT INTO {META_TABLE} (body) VALUES (:body)"), {"body": json.dumps(body)}
            )
        if backend == "sqlite":
            async with engine.connect() as conn:
                await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        await engine.dispose()
    return Prepared(url, backend, True, built.seconds, counts)


# =========================================================================== what is measured


Work = Callable[[AsyncSession, models.Team], Awaitable[Any]]


def parts_of(kind: str) -> list[tuple[str, Work]]:
    """The service functions `build` calls, with the arguments it gives them, in its order."""
    period = svc.period_for(kind, now=NOW, tz=TZ)
    today = NOW.astimezone(ZoneInfo(TZ)).date()
    chart = period if period.days >= svc.CHART_DAYS else svc.Period.ending(period.last, svc.CHART_DAYS, TZ)
    admin = Actor(0, Role.ADMIN, TEAM_ID, True)

    def rhythm(team: models.Team) -> dict[str, int]:
        return analytics.rhythm_of(team.settings)

    return [
        ("activity", lambda s, t: svc.activity(s, team_id=TEAM_ID, period=period)),
        ("behind_by_owner", lambda s, t: svc.behind_by_owner(s, team_id=TEAM_ID, now=NOW, rhythm=rhythm(t))),
        ("_overdue_by_owner", lambda s, t: svc.overdue_by_owner(s, team_id=TEAM_ID, today=today)),
        ("_pipeline", lambda s, t: svc.pipeline(s, team_id=TEAM_ID, period=period)),
        (
            "playbooks.stats",
            lambda s, t: outcome_stats.stats(s, admin, team_id=TEAM_ID, since=period.start, until=period.end),
        ),
        ("care_counts", lambda s, t: svc.care_counts(s, team_id=TEAM_ID, period=period)),
        ("overdue", lambda s, t: svc.overdue(s, team_id=TEAM_ID, today=today, limit=svc.LIST_MAX)),
        ("complaints", lambda s, t: svc.complaints(s, team_id=TEAM_ID, today=today, limit=svc.LIST_MAX)),
        ("at_risk", lambda s, t: svc.at_risk(s, team=t, today=today, limit=svc.LIST_MAX)),
        ("quiet_a", lambda s, t: svc.quiet_a(s, team=t, now=NOW, limit=svc.LIST_MAX)),
        ("daily_activity", lambda s, t: svc.daily_activity(s, team_id=TEAM_ID, period=chart)),
    ]


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile (p95 of 15 values is the largest)."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


@dataclass
class Series:
    """Wall milliseconds of one measured thing."""

    values: list[float] = field(default_factory=list)

    def add(self, seconds: float) -> None:
        self.values.append(seconds * 1000)

    def summary(self) -> dict[str, float]:
        if not self.values:
            return {"n": 0}
        return {
            "n": len(self.values),
            "median_ms": statistics.median(self.values),
            "p95_ms": percentile(self.values, 95),
            "min_ms": min(self.values),
            "max_ms": max(self.values),
        }


def cold_caches() -> None:
    """Forget what the analytics module remembers between calls (the team's reference revenue,
    ten minutes): a real digest comes once a day, so it finds these caches cold."""
    for name in ("_references",):
        cache = getattr(analytics_service, name, None)
        if isinstance(cache, dict):
            cache.clear()


def code_measured() -> dict[str, Any]:
    """Which digest code is measured (the `bot/services/digest/` package and
    `bot/services/analytics.py`): its path, hash, and the commit it differs from."""
    package = Path(svc.__file__).resolve().parent
    files = [*sorted(package.glob("*.py")), Path(analytics_service.__file__).resolve()]
    body = b"".join(path.read_bytes() for path in files)
    info: dict[str, Any] = {"digest.py": str(package), "sha256": hashlib.sha256(body).hexdigest()[:12]}
    root = Path(__file__).resolve().parent.parent
    try:
        info["commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "diff", "--quiet", "HEAD", "--", *(str(path) for path in files)], cwd=root, check=False
        )
        info["same_as_commit"] = changed.returncode == 0
    except OSError:
        pass
    return info


def chart_services() -> Any:
    """The one thing `bot.telegram.digest.chart_data` uses of the bot's services: `.text`
    (the shipped catalogue; the bot loads it at start-up, so the first call here is not timed)."""
    return SimpleNamespace(text=catalogue().text)


class Measure:
    """Builds digests and renders charts, interleaved round by round."""

    def __init__(self, engine: AsyncEngine, opts: Options) -> None:
        self.engine = engine
        self.opts = opts
        self.factory = make_session_factory(engine)
        self.series: dict[str, Series] = {}
        self.digests: dict[str, svc.Digest] = {}

    def s(self, name: str) -> Series:
        return self.series.setdefault(name, Series())

    async def build(self, kind: str) -> tuple[float, svc.Digest]:
        """One digest the way the bot builds it: a session and transaction of its own."""
        cold_caches()
        started = time.perf_counter()
        async with transaction(self.factory) as session:
            digest = await svc.build(session, team_id=TEAM_ID, kind=kind, now=NOW, tz=TZ)
        return time.perf_counter() - started, digest

    async def part(self, work: Work) -> float:
        """One service function in a transaction of its own (the team is read before the clock starts)."""
        async with transaction(self.factory) as session:
            team = await session.get(models.Team, TEAM_ID)
            assert team is not None
            cold_caches()
            started = time.perf_counter()
            await work(session, team)
            return time.perf_counter() - started

    def chart(self, digest: svc.Digest) -> tuple[float, bytes]:
        services = chart_services()  # the catalogue is loaded before the first chart, as at the bot's start
        started = time.perf_counter()
        png = chart.render(chart_data(services, "zh", digest))
        return time.perf_counter() - started, png

    async def run(self) -> dict[str, Any]:
        rounds = self.opts.warmup + self.opts.iterations
        first_chart: dict[str, float] = {}
        for number in range(rounds):
            measured = number >= self.opts.warmup
            for kind in self.opts.kinds:
                gc.collect()
                seconds, digest = await self.build(kind)
                self.digests[kind] = digest
                if measured:
                    self.s(f"{kind}:build").add(seconds)
                gc.collect()
                seconds, png = self.chart(digest)
                if not first_chart:
                    first_chart = {"kind_" + kind: seconds * 1000, "bytes": len(png)}
                elif measured:
                    self.s(f"{kind}:chart").add(seconds)
                for name, work in parts_of(kind):
                    gc.collect()
                    seconds = await self.part(work)
                    if measured:
                        self.s(f"{kind}:{name}").add(seconds)
            pu.progress(f"  round {number + 1}/{rounds}{'' if measured else ' (warm-up)'}")
        pu.progress(f"  {rounds} rounds ({self.opts.warmup} warm-up)", final=True)
        return first_chart


# =========================================================================== anatomy: each statement


@dataclass
class Statement:
    """One SQL statement a service function ran, with its time and rows."""

    part: str
    shape: str
    sql: str
    parameters: Any
    ms: float
    rows: int | None


async def anatomy(engine: AsyncEngine, kind: str) -> list[Statement]:
    """Each part of a digest once more, recording every statement (the time includes fetching its rows)."""
    factory = make_session_factory(engine)
    found: list[Statement] = []
    current: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        ms = (time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())) * 1000
        if current:
            # The async drivers' cursors fetch every row in execute() and keep them here.
            buffered = getattr(cursor, "_rows", None)
            rows = len(buffered) if buffered is not None else None
            found.append(
                Statement(current[0], pu.statement_shape(statement), statement, parameters, ms, rows)
            )

    sync = engine.sync_engine
    event.listen(sync, "before_cursor_execute", before)
    event.listen(sync, "after_cursor_execute", after)
    try:
        for name, work in parts_of(kind):
            async with transaction(factory) as session:
                team = await session.get(models.Team, TEAM_ID)
                assert team is not None
                current[:] = [name]
                cold_caches()
                await work(session, team)
                current.clear()
    finally:
        event.remove(sync, "before_cursor_execute", before)
        event.remove(sync, "after_cursor_execute", after)
    return found


async def explain(engine: AsyncEngine, statement: Statement) -> list[str]:
    """The plan of a statement with its parameters: EXPLAIN QUERY PLAN, or EXPLAIN ANALYZE."""
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            result = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement.sql, statement.parameters)
            rows: list[Any] = list(result.all())
            nodes = {int(r[0]): (int(r[1]), str(r[3])) for r in rows}

            def depth(node: int) -> int:
                parent = nodes[node][0]
                return 0 if parent not in nodes else 1 + depth(parent)

            return ["  " * depth(n) + detail for n, (_, detail) in nodes.items()]
        result = await conn.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement.sql, statement.parameters
        )
        lines = [str(r[0]) for r in result.all()]
        await conn.rollback()
        return lines


# =========================================================================== the chart's cold start


COLD_CHART = """
import json, sys, time
started = time.perf_counter()
from bot.services import chart
imported = time.perf_counter()
data = chart.ChartData(**json.loads(sys.stdin.read()))
chart.render(data)
first = time.perf_counter()
chart.render(data)
second = time.perf_counter()
print(json.dumps({"import_ms": (imported - started) * 1000, "first_ms": (first - imported) * 1000,
                  "second_ms": (second - first) * 1000}))
"""


def cold_chart(digest: svc.Digest) -> dict[str, float]:
    """Import and first render in a fresh interpreter (as after a restart of the bot)."""
    data = vars(chart_data(chart_services(), "zh", digest))
    done = subprocess.run(
        [sys.executable, "-c", COLD_CHART],
        input=json.dumps(data),
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return {k: float(v) for k, v in json.loads(done.stdout).items()}


# =========================================================================== report


def verdict(value: float, goal: float | None) -> str:
    if goal is None:
        return ""
    return "met" if value < goal else "OVER"


def print_report(
    measure: Measure, first_chart: dict[str, float], cold: dict[str, float] | None, kinds: tuple[str, ...]
) -> list[dict[str, Any]]:
    """The table of figures; also returned as rows for the JSON."""
    rows: list[dict[str, Any]] = []
    header = f"{'':<34}{'n':>4}{'median':>10}{'p95':>10}{'max':>10}{'goal':>9}  {'':<5}"
    print(header)
    print("-" * len(header))

    def line(label: str, summary: dict[str, float], goal: float | None, key: str) -> None:
        if not summary.get("n"):
            return
        median, p95 = summary["median_ms"], summary["p95_ms"]
        goal_text = f"< {goal:,.0f}" if goal is not None else ""
        print(
            f"{label:<34}{int(summary['n']):>4}{median:>10.1f}{p95:>10.1f}{summary['max_ms']:>10.1f}"
            f"{goal_text:>9}  {verdict(p95, goal) if goal is not None else ''}"
        )
        rows.append(
            {
                "key": key,
                "label": label.strip(),
                **summary,
                "goal_ms": goal,
                "met": p95 < goal if goal else None,
            }
        )

    for kind in kinds:
        name = {"day": "daily digest", "week": "weekly report", "month": "monthly report"}[kind]
        line(
            f"{name} ({kind}): data, build()",
            measure.s(f"{kind}:build").summary(),
            DATA_GOAL_MS,
            f"{kind}:build",
        )
        parts = [(n, measure.s(f"{kind}:{n}").summary()) for n, _ in parts_of(kind)]
        for part_name, summary in parts:
            line(f"    {part_name}", summary, None, f"{kind}:{part_name}")
        total = sum(s.get("median_ms", 0.0) for _, s in parts)
        print(f"{'    (sum of the medians)':<34}{'':>4}{total:>10.1f}")
        line(
            f"{name} ({kind}): chart render",
            measure.s(f"{kind}:chart").summary(),
            CHART_GOAL_MS,
            f"{kind}:chart",
        )
        print()

    def single(label: str, value: float, goal: float | None = None) -> None:
        goal_text = f"< {goal:,.0f}" if goal is not None else ""
        print(f"{label:<34}{'':>4}{value:>10.1f}{'':>20}{goal_text:>9}  {verdict(value, goal)}")

    for label, value in first_chart.items():
        if label.startswith("kind_"):
            single("first render in this process", value, CHART_GOAL_MS)
            print("    (registers the font with matplotlib)")
    if cold:
        single("cold: import the chart module", cold["import_ms"])
        single("cold: first render", cold["first_ms"], CHART_GOAL_MS)
        single("cold: second render", cold["second_ms"], CHART_GOAL_MS)
    n = max((int(r["n"]) for r in rows), default=0)
    rank = n - max(1, math.ceil(0.95 * n)) + 1
    which = "the slowest" if rank == 1 else f"the {rank}th slowest"
    print(f"met: p95 under the goal (nearest-rank p95 of {n} rounds is {which}); milliseconds, wall clock")
    return rows


def digest_facts(digest: svc.Digest) -> dict[str, Any]:
    """What the digest found, to see that the data makes every section work."""
    totals = digest.totals
    return {
        "period": f"{digest.period.first} – {digest.period.last}",
        "reps": len(digest.reps),
        "notes": totals.notes,
        "contacts": totals.contacts,
        "playbooks": totals.playbooks,
        "new_customers": totals.new_customers,
        "stage_moves": totals.stage_moves,
        "wins": totals.wins,
        "amount": str(totals.amount),
        "behind": digest.behind_total,
        "pipeline": digest.pipeline,
        "objections": len(digest.objections),
        "closings": digest.closings,
        "care": digest.care,
        "overdue": digest.overdue.total,
        "complaints": digest.complaints.total,
        "at_risk": digest.at_risk.total,
        "quiet_a": digest.quiet_a.total,
        "chart_days": len(digest.activity),
        "chart_notes": sum(n for _, n, _ in digest.activity),
    }


async def what_if(engine: AsyncEngine, indexes: tuple[str, ...], create: bool) -> None:
    """Create or drop the what-if indexes (ANALYZE on PostgreSQL only: the bot never runs it on SQLite)."""
    async with engine.begin() as conn:
        for spec in indexes:
            name = spec.split()[0]
            if create:
                await conn.execute(text(f"CREATE INDEX IF NOT EXISTS {spec}"))
                if engine.dialect.name == "postgresql":
                    await conn.execute(text(f"ANALYZE {spec.split(' ON ', 1)[1].split('(')[0].strip()}"))
            else:
                await conn.execute(text(f"DROP INDEX IF EXISTS {name}"))


async def run(opts: Options) -> dict[str, Any]:
    prepared = await prepare(opts)
    if prepared.built:
        print(f"data built in {prepared.build.get('total', 0):.1f} s")
    else:
        print(
            f"data reused (it took {prepared.build.get('total', 0):.1f} s to build; --fresh builds it again)"
        )
    print(f"backend: {prepared.backend}; rows (count(*)):")
    for name, count in prepared.counts.items():
        print(f"  {name:<14}{count:>10,}")
    code = code_measured()
    modified = "" if code.get("same_as_commit", True) else f", NOT as committed in {code.get('commit')}"
    print(f"code: {code['digest.py']} (sha256 {code['sha256']}{modified})")
    engine = make_engine(prepared.url)
    try:
        if opts.what_if_index:
            print(f"WHAT-IF, not the bot as shipped: indexes {list(opts.what_if_index)}")
            await what_if(engine, opts.what_if_index, create=True)
        measure = Measure(engine, opts)
        print(f"as of {NOW.astimezone(ZoneInfo(TZ)):%Y-%m-%d %H:%M} {TZ}; measuring {', '.join(opts.kinds)}")
        first_chart = await measure.run()
        cold = cold_chart(measure.digests[opts.kinds[0]]) if opts.cold_chart else None
        print()
        rows = print_report(measure, first_chart, cold, opts.kinds)
        facts = {kind: digest_facts(d) for kind, d in measure.digests.items()}
        print()
        print("what the digests found:")
        for kind, found in facts.items():
            print(f"  {kind}: {json.dumps(found, ensure_ascii=False, default=str)}")
        statements = await anatomy(engine, opts.kinds[0])
        print()
        print(f"statements of one {opts.kinds[0]} digest, slowest first (ms include fetching the rows):")
        for st in sorted(statements, key=lambda st: -st.ms)[:15]:
            rows_text = f"{st.rows:>7,} rows" if st.rows is not None else ""
            print(f"  {st.ms:8.1f} ms {rows_text:>12}  {st.part:<18} {st.shape}")
        total_sql = sum(st.ms for st in statements)
        print(f"  {total_sql:8.1f} ms in {len(statements)} statements")
        plans: list[dict[str, Any]] = []
        for st in sorted(statements, key=lambda st: -st.ms)[: opts.explain]:
            print()
            print(f"plan of {st.part} · {st.shape} ({st.ms:.1f} ms):")
            print("  " + " ".join(st.sql.split())[:600])
            lines = await explain(engine, st)
            for plan_line in lines:
                print(f"    {plan_line}")
            plans.append({"part": st.part, "shape": st.shape, "ms": st.ms, "sql": st.sql, "plan": lines})
    finally:
        if opts.what_if_index:
            await what_if(engine, opts.what_if_index, create=False)
        await engine.dispose()
    result = {
        "command": " ".join(sys.argv),
        "environment": pu.environment(prepared.backend),
        "code": code,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "as_of": NOW.isoformat(),
        "options": {k: v for k, v in vars(opts).items()},
        "data": {"key": opts.cache_key, "built": prepared.built, "build_seconds": prepared.build},
        "counts": prepared.counts,
        "figures": rows,
        "first_chart_ms": first_chart,
        "cold_chart_ms": cold,
        "digests": facts,
        "statements": [
            {"part": st.part, "shape": st.shape, "ms": st.ms, "rows": st.rows}
            for st in sorted(statements, key=lambda st: -st.ms)
        ],
        "plans": plans,
        "what_if_index": list(opts.what_if_index),
    }
    suffix = "".join(f"-{part}" for part in (opts.label, "what-if" if opts.what_if_index else "") if part)
    out = RESULTS / f"digest-{prepared.backend}{suffix}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    print()
    print(f"written to {out}")
    return result


def main(argv: list[str] | None = None) -> None:
    opts = parse_options(argv)
    asyncio.run(run(opts))


if __name__ == "__main__":
    main()
