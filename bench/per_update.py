"""Per-update cost of the real bot, side by side with a bare python-telegram-bot echo bot.

    .venv/bin/python bench/per_update.py            # SQLite
    .venv/bin/python bench/per_update.py --database postgresql://…

A database with 100,000 customers and 1,000,000 notes is built once and cached under
``bench/results/``. The Bot API stand-in runs in a child process with its own event loop,
so what each ``process_update`` costs here is the bot's own work plus one loopback HTTP
round trip per Bot API call, the same for the echo bot and the real bot. See
``bench/README.md`` for what is measured and how to read it. Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import hashlib
import io
import itertools
import json
import logging
import math
import multiprocessing
import platform
import pstats
import random
import re
import sqlite3
import statistics
import string
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import child_standin  # bench/: the stand-in in a process of its own
import sqlalchemy
import telegram
from aiohttp import web
from pydantic_core import PydanticUndefined
from sqlalchemy import Table, delete, event, func, insert, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import SQLModel
from telegram import Update
from telegram.ext import AIORateLimiter, Application, ContextTypes, MessageHandler, filters

from bot.app import CONSOLE_TOKEN, SalesApp, Wiring, build_application, start_application
from bot.config import Settings
from bot.console.driver import BOT_USERNAME, SPEC
from bot.domain import card
from bot.domain.access import Actor, Role
from bot.domain.search import normalise
from bot.playbooks import engine as playbook_engine
from bot.playbooks.check import check_files, playbook_files
from bot.playbooks.model import SHOWN, Checklist, Choice, Playbook, Scale, Tip
from bot.services import customer_search
from bot.services import customers as customer_service
from bot.storage import models
from bot.storage.db import make_engine, make_session_factory, upgrade
from botapi_standin import BotApiStandIn, Limits

RESULTS = Path(__file__).resolve().parent / "results"
# Bump when the generated data changes shape, so old caches are not reused.
DATA_VERSION = 1
# Every note the benchmark itself adds starts with this; they are removed before and after a run.
RUN_NOTE_PREFIX = "bench run note"

ADMIN_ID = 10_000_001
ECHO_USER_ID = 30_000_001
ECHO_RL_USER_ID = 30_000_002
STAFF_BASE = 20_000_000  # team t: lead STAFF_BASE + 100 t, reps lead + 1 … lead + reps


def lead_id(team: int) -> int:
    """The Telegram id of team `team`'s lead (teams count from 1)."""
    return STAFF_BASE + 100 * team


def rep_id(team: int, rep: int) -> int:
    """The Telegram id of rep `rep` (from 1) of team `team`."""
    return lead_id(team) + rep


BENCH_TEAM = 1
BENCH_REP_ID = rep_id(BENCH_TEAM, 1)
BENCH_REP_NAME = "王芳"
BENCH_LEAD_NAME = "李娜"


# =========================================================================== options


@dataclass(frozen=True)
class Options:
    """What to build and how long to measure."""

    database: str | None
    customers: int
    notes: int
    teams: int
    reps: int
    rep_customers: int
    seed: int
    warmup: int
    iterations: int
    pace: float
    anatomy: int
    profile: bool
    rebuild: bool
    echo_rate_limited: bool
    sqlite_pragmas: tuple[str, ...]

    @property
    def cache_key(self) -> str:
        """What identifies a cached SQLite database."""
        return (
            f"data-v{DATA_VERSION}-{self.customers}c-{self.notes}n-{self.teams}t-{self.reps}r"
            f"-{self.rep_customers}own-s{self.seed}-{schema_fingerprint()}"
        )


def parse_options(argv: list[str] | None = None) -> Options:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description="Per-update cost of the real bot against a bare python-telegram-bot echo bot."
    )
    parser.add_argument(
        "--database",
        help="database URL (default: a SQLite file cached under bench/results/, keyed by the sizes); "
        "a given database is reused when its row counts match, built when empty",
    )
    parser.add_argument("--customers", type=int, default=100_000, help="customers (default 100,000)")
    parser.add_argument("--notes", type=int, default=1_000_000, help="notes (default 1,000,000)")
    parser.add_argument("--teams", type=int, default=50, help="teams (default 50)")
    parser.add_argument("--reps", type=int, default=10, help="reps per team, besides its lead (default 10)")
    parser.add_argument(
        "--rep-customers",
        type=int,
        default=None,
        help="customers owned by the benchmark rep (default 1%% of customers, 50 to 2,000)",
    )
    parser.add_argument("--seed", type=int, default=20261123, help="random seed for the data")
    parser.add_argument("--warmup", type=int, default=50, help="unmeasured rounds first (default 50)")
    parser.add_argument("--iterations", type=int, default=500, help="measured rounds (default 500)")
    parser.add_argument(
        "--pace",
        type=float,
        default=25.0,
        help="updates per second fed at most (default 25), so the bot's 30 messages/s rate "
        "limiter never has to wait; 0 feeds back to back",
    )
    parser.add_argument(
        "--anatomy",
        type=int,
        default=20,
        help="rounds of the extra pass that counts SQL statements and HTTP calls per update (default 20)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the bot during the anatomy pass (bench/results/)"
    )
    parser.add_argument(
        "--rebuild", action="store_true", help="rebuild the data even if a matching database exists"
    )
    parser.add_argument(
        "--no-echo-rate-limited",
        dest="echo_rate_limited",
        action="store_false",
        help="skip the second baseline (echo bot with the same AIORateLimiter as the bot)",
    )
    parser.add_argument(
        "--sqlite-pragma",
        action="append",
        default=[],
        metavar="PRAGMA",
        help="what-if: run this PRAGMA (e.g. cache_size=-65536) on every SQLite connection the bot "
        "opens, after the bot's own; repeatable. Off by default: the bot is measured as shipped",
    )
    args = parser.parse_args(argv)
    rep_customers = args.rep_customers
    if rep_customers is None:
        rep_customers = min(2_000, max(50, args.customers // 100))
    rep_customers = min(rep_customers, args.customers)
    if args.teams < 1 or not 1 <= args.reps <= 99 or args.customers < 10 or args.iterations < 1:
        parser.error("need at least 1 team, 1 to 99 reps per team, 10 customers and 1 iteration")
    return Options(
        database=args.database,
        customers=args.customers,
        notes=args.notes,
        teams=args.teams,
        reps=args.reps,
        rep_customers=rep_customers,
        seed=args.seed,
        warmup=args.warmup,
        iterations=args.iterations,
        pace=args.pace,
        anatomy=args.anatomy,
        profile=args.profile,
        rebuild=args.rebuild,
        echo_rate_limited=args.echo_rate_limited,
        sqlite_pragmas=tuple(args.sqlite_pragma),
    )


# =========================================================================== the data


def words(text: str) -> tuple[str, ...]:
    """The space-separated words of a text."""
    return tuple(text.split())


SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉建红飞鑫波宁晨欣怡佳琳雪梅俊浩宇轩子涵"
    "思雨博文嘉诚天昊志海婷颖慧晶春秋丹凤云龙斌彬健康乐峰凯瑞祥晓东亮成林永庆国荣翠"
)
LATIN_FIRST = words(
    "James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth William Barbara Richard "
    "Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Nancy Matthew Lisa Anthony Betty Mark "
    "Sandra Paul Ashley Steven Emily Andrew Kevin Brian George Lily Grace Tony Vincent Eric Amy Helen "
    "Jack Kelly Peter Olga Ivan Hans Anna Lukas Sophie Mateo Lucia Kenji Yuki Minh Anh Raj Priya"
)
LATIN_LAST = words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Taylor Moore Jackson Martin Lee Thompson White Harris Clark Lewis "
    "Walker Young Allen King Wright Scott Green Baker Adams Nelson Hill Campbell Mitchell Roberts "
    "Müller Schmidt Schneider Fischer Weber Ivanov Petrova Rossi Bianchi Dubois Moreau Tanaka Sato "
    "Nguyen Tran Kim Park Sharma Patel Wang Chen Zhang Liu Lin Wong Chan Ho"
)
CITIES = words(
    "上海 北京 深圳 广州 杭州 苏州 成都 武汉 南京 天津 重庆 西安 青岛 厦门 宁波 佛山 东莞 无锡 长沙"
)
BRANDS = words("华信 宏达 鑫源 恒通 金鹏 瑞丰 中科 天成 永盛 博远 海纳 远航 新城 东方 长江 百川 联创 盛世")
INDUSTRIES = words(
    "电子科技 贸易 机械制造 医疗器械 食品 物流 建材 化工 服装 家居 包装 汽车配件 五金 照明 环保设备"
)
SUFFIXES = ("有限公司", "股份有限公司", "集团", "实业有限公司")
EN_WORDS = words(
    "Pacific Nordic Golden Summit Pioneer Atlas Harbor Evergreen Apex Orient Silverline Bluewave"
)
EN_INDUSTRIES = words("Trading Machinery Electronics Logistics Foods Packaging Medical Textiles Lighting")
EN_SUFFIXES = ("Co., Ltd.", "Ltd.", "GmbH", "Inc.", "LLC", "Pte. Ltd.")
TITLES = (
    *words("采购经理 总经理 采购主管 老板 财务总监 技术总监 副总 运营经理 店长 CEO Buyer"),
    "Purchasing Manager",
    "Procurement Lead",
)
EMAIL_HANDLES = words("sales info buyer wang li zhang chen liu anna tony lily grace kevin mark jenny")
EMAIL_DOMAINS = words("163.com qq.com 126.com gmail.com outlook.com foxmail.com sina.com example.cn")
TAGS = words("vip 老客户 华东 华南 华北 经销商 潜在 大客户 wholesale retail 待回访 展会 转介绍 oem")
EXTRA_VALUES: dict[str, tuple[str, ...]] = {
    "industry": ("制造业", "零售", "医疗", "教育", "物流", "餐饮", "electronics", "construction"),
    "hobbies": ("高尔夫", "钓鱼", "喝茶", "跑步", "书法", "摄影", "golf", "hiking", "wine"),
    "hometown": ("温州", "潮汕", "宁波", "泉州", "长沙", "成都", "Singapore", "Hong Kong"),
    "decision_makers": ("老板本人", "采购部+财务", "总经理和技术总监", "the owner"),
    "taboos": ("不喝酒", "周末勿扰", "不要打电话，微信联系", "no calls before 10am"),
}
NOTE_ZH = (
    "电话沟通了下季度的采购计划",
    "客户对价格比较敏感，希望再优惠5%",
    "已发送报价单，等待回复",
    "拜访了工厂，见到了采购经理",
    "约好下周三再联系",
    "客户提到竞争对手在降价",
    "样品已寄出，顺丰快递",
    "对上次的售后服务很满意",
    "需要老板最终拍板",
    "年底可能有一批大单",
    "询问了交货周期和付款方式",
    "发了新品目录和价格表",
    "客户出差中，下周回来再谈",
    "合同条款还要法务看一下",
    "介绍了一位朋友，也在做外贸",
    "生日快到了，准备寄点茶叶",
)
NOTE_EN = (
    "Called about the Q3 order",
    "Sent the revised quote",
    "Visited their office and met the buyer",
    "Follow up next Tuesday",
    "Wants a 5% discount on volume",
    "Asked for samples of the new line",
    "Payment terms still open: 30 vs 60 days",
    "Happy with the last delivery",
)
STAGES = [stage.value for stage in card.Stage]
STAGE_WEIGHTS = [22, 15, 14, 12, 8, 6, 8, 10, 5]
NOTE_KINDS = ("note", "call", "visit", "message", "system", "purchase")
NOTE_KIND_WEIGHTS = (55, 20, 8, 10, 4, 3)


@dataclass
class Owner:
    """A lead or rep who owns customers."""

    user_id: int
    team_id: int
    weight: float


@dataclass
class BuildReport:
    """How long building the data took, in seconds."""

    staff: float = 0.0
    customers: float = 0.0
    notes: float = 0.0
    finish: float = 0.0
    total: float = 0.0


def chinese_name(rng: random.Random) -> str:
    """张伟, 欧阳娜娜-like names: a surname and one or two given characters."""
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


def person_name(rng: random.Random) -> str:
    """Mostly Chinese names, some Latin, some mixed ("Lily 陈", "陈静 Grace")."""
    roll = rng.random()
    if roll < 0.72:
        return chinese_name(rng)
    if roll < 0.9:
        return f"{rng.choice(LATIN_FIRST)} {rng.choice(LATIN_LAST)}"
    if roll < 0.95:
        return f"{rng.choice(LATIN_FIRST)} {rng.choice(SURNAMES)}"
    return f"{chinese_name(rng)} {rng.choice(LATIN_FIRST)}"


def company_name(rng: random.Random) -> str | None:
    """A Chinese or English company name, or none."""
    roll = rng.random()
    if roll < 0.6:
        city = rng.choice(CITIES) if rng.random() < 0.8 else ""
        return city + rng.choice(BRANDS) + rng.choice(INDUSTRIES) + rng.choice(SUFFIXES)
    if roll < 0.8:
        return f"{rng.choice(EN_WORDS)} {rng.choice(EN_INDUSTRIES)} {rng.choice(EN_SUFFIXES)}"
    return None


def mobile(rng: random.Random) -> tuple[str, str]:
    """A Chinese mobile number: (as card.check_phone shows it, its digits as stored)."""
    national = "1" + rng.choice("3456789") + "".join(rng.choices(string.digits, k=9))
    return f"+86 {national[:3]} {national[3:7]} {national[7:]}", "86" + national


def staff_rows(opts: Options, now: datetime) -> tuple[list[dict[str, Any]], ...]:
    """Users, teams and memberships: an admin, and per team a lead and its reps."""
    rng = random.Random(opts.seed)
    users: list[dict[str, Any]] = [
        {"telegram_id": ADMIN_ID, "name": "Ada Admin", "language": "zh", "is_admin": True, "created_at": now}
    ]
    teams: list[dict[str, Any]] = []
    members: list[dict[str, Any]] = []
    regions = words("华东 华南 华北 华中 西南 西北 东北 海外")
    for team in range(1, opts.teams + 1):
        teams.append(
            {
                "id": team,
                "name": f"{regions[team % len(regions)]}{team}部",
                "timezone": "Asia/Shanghai",
                "language": "zh",
                "settings": {},
                "created_at": now,
            }
        )
        staff = [(lead_id(team), "lead")] + [(rep_id(team, r), "rep") for r in range(1, opts.reps + 1)]
        for user_id, role in staff:
            if user_id == BENCH_REP_ID:
                name = BENCH_REP_NAME
            elif team == BENCH_TEAM and role == "lead":
                name = BENCH_LEAD_NAME
            else:
                name = chinese_name(rng) if rng.random() < 0.8 else rng.choice(LATIN_FIRST)
            users.append(
                {"telegram_id": user_id, "name": name, "language": "zh", "is_admin": False, "created_at": now}
            )
            members.append(
                {"user_id": user_id, "team_id": team, "role": role, "active": True, "joined_at": now}
            )
    return users, teams, members


def owners_of(opts: Options, rng: random.Random) -> list[Owner]:
    """Everyone who owns customers except the benchmark rep, with skewed weights."""
    owners = []
    for team in range(1, opts.teams + 1):
        owners.append(Owner(lead_id(team), team, 0.3 * rng.lognormvariate(0, 0.8)))
        for r in range(1, opts.reps + 1):
            if rep_id(team, r) != BENCH_REP_ID:
                owners.append(Owner(rep_id(team, r), team, rng.lognormvariate(0, 0.8)))
    return owners


def customer_row(rng: random.Random, cid: int, owner: Owner, now: datetime) -> dict[str, Any]:
    """One customer card with its search text computed exactly as the bot does."""
    name = person_name(rng)
    nickname = None
    if rng.random() < 0.2:
        nickname = rng.choice(("老", "小")) + rng.choice(SURNAMES) if rng.random() < 0.6 else None
        nickname = nickname or rng.choice(LATIN_FIRST)
    company = company_name(rng)
    phone, digits = mobile(rng) if rng.random() < 0.85 else (None, None)
    email = None
    if rng.random() < 0.4:
        email = f"{rng.choice(EMAIL_HANDLES)}{rng.randint(1, 999)}@{rng.choice(EMAIL_DOMAINS)}"
    tags = rng.sample(TAGS, k=rng.choice((0, 0, 1, 1, 2, 3)))
    extra = {key: rng.choice(values) for key, values in EXTRA_VALUES.items() if rng.random() < 0.15}
    created = now - timedelta(seconds=rng.uniform(30 * 86400, 3 * 365 * 86400))
    updated = created + (now - created) * rng.random()
    birthday = rng.random() < 0.3
    return reindexed(
        {
            "id": cid,
            "team_id": owner.team_id,
            "owner_id": owner.user_id,
            "name": name,
            "nickname": nickname,
            "company": company,
            "title": rng.choice(TITLES) if rng.random() < 0.6 else None,
            "phone": phone,
            "phone_digits": digits,
            "email": email,
            "gender": rng.choice(("female", "male", None)),
            "stage": rng.choices(STAGES, STAGE_WEIGHTS)[0],
            "grade": rng.choice(("A", "B", "B", "C", "C", None)),
            "grade_manual": False,
            "source_channel": rng.choice(card.SOURCE_CHANNELS) if rng.random() < 0.7 else None,
            "birthday_year": rng.randint(1960, 2000) if birthday and rng.random() < 0.5 else None,
            "birthday_month": rng.randint(1, 12) if birthday else None,
            "birthday_day": rng.randint(1, 28) if birthday else None,
            "birthday_lunar": birthday and rng.random() < 0.2,
            "birthday_leap": False,
            "q_need": rng.randint(1, 5) if rng.random() < 0.3 else None,
            "q_volume": rng.randint(1, 5) if rng.random() < 0.3 else None,
            "q_power": None,
            "q_credit": None,
            "q_authority": None,
            "preferred_channel": rng.choice(card.CONTACT_CHANNELS) if rng.random() < 0.3 else None,
            "contact_every_days": rng.choice((7, 14, 30, 90)) if rng.random() < 0.2 else None,
            "optin_code": f"b{cid:08d}" + "".join(rng.choices(string.ascii_letters + string.digits, k=7)),
            "optin_state": "none",
            "telegram_chat_id": None,
            "timezone": None,
            "language": None,
            "tags": tags,
            "extra": extra,
            "search_text": "",
            "last_contact_at": updated if rng.random() < 0.7 else None,
            "created_at": created,
            "updated_at": updated,
            "archived_at": updated if rng.random() < 0.02 else None,
        }
    )


def reindexed(row: dict[str, Any]) -> dict[str, Any]:
    """The row with its search text computed by the bot's own `customers.reindex`."""
    card_view = SimpleNamespace(**row)
    customer_service.reindex(cast(models.Customer, card_view))
    row["search_text"] = card_view.search_text
    return row


def note_text(rng: random.Random, kind: str) -> str:
    """A plausible timeline entry."""
    if kind == "system":
        old, new = rng.sample(STAGES, 2)
        return "" if "meta" in table("notes").c else f"stage:{old}>{new}"
    if kind == "purchase":
        amount = rng.randint(5, 500) * 100
        return f"成交：{amount:,.2f} — 设备（2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}）"
    if rng.random() < 0.75:
        return "，".join(rng.sample(NOTE_ZH, k=rng.randint(1, 3))) + "。"
    return "; ".join(rng.sample(NOTE_EN, k=rng.randint(1, 2))) + "."


def progress(line: str, *, final: bool = False) -> None:
    """Overwrite the current terminal line; only the final line when the output is no terminal."""
    if sys.stdout.isatty():
        print(f"\r{line}", end="\n" if final else "", flush=True)
    elif final:
        print(line)


def table(name: str) -> Table:
    """A table of the bot's schema."""
    return SQLModel.metadata.tables[name]


MODELS: dict[str, type[SQLModel]] = {
    "users": models.User,
    "teams": models.Team,
    "memberships": models.Membership,
    "customers": models.Customer,
    "notes": models.Note,
}


def schema_fingerprint() -> str:
    """A short hash of the tables, columns, types and indexes the bot declares."""
    parts = []
    for tbl in SQLModel.metadata.sorted_tables:
        parts.append(tbl.name)
        parts += [f"{c.name}:{c.type!r}:{c.nullable}" for c in tbl.columns]
        parts += sorted(f"{i.name}:{[c.name for c in i.columns]}" for i in tbl.indexes)
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:10]


def complete(name: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fill columns the generator does not know about with the model's defaults.

    The schema grows while the benchmark stays the same; a new column with a default
    (or a nullable one) is filled in, one without is reported instead of guessed.
    """
    if not rows:
        return rows
    model = MODELS[name]
    given = set().union(*rows)
    for column in table(name).columns:
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
            raise SystemExit(f"bench/per_update.py does not know how to fill {name}.{column.name}")
        for row in rows:
            row.setdefault(column.name, value)
    return rows


async def insert_rows(conn: AsyncConnection, name: str, rows: list[dict[str, Any]]) -> None:
    """One executemany of Core INSERTs."""
    await conn.execute(insert(table(name)), complete(name, rows))


async def load_data(engine: AsyncEngine, opts: Options) -> BuildReport:
    """Bulk-insert staff, customers and notes with Core executemany, in three transactions."""
    report = BuildReport()
    started = time.perf_counter()
    rng = random.Random(opts.seed + 1)
    now = datetime.now(UTC).replace(microsecond=0)
    sqlite = engine.dialect.name == "sqlite"
    async with engine.connect() as conn:
        if sqlite:
            await conn.exec_driver_sql("PRAGMA synchronous=OFF")
            await conn.exec_driver_sql("PRAGMA cache_size=-262144")
        else:
            await conn.exec_driver_sql("SET synchronous_commit TO OFF")
        await conn.commit()

        # Staff: one admin, and per team a lead and its reps.
        mark = time.perf_counter()
        users, teams, members = staff_rows(opts, now)
        await insert_rows(conn, "users", users)
        await insert_rows(conn, "teams", teams)
        await insert_rows(conn, "memberships", members)
        await conn.commit()
        report.staff = time.perf_counter() - mark

        # Customers: the benchmark rep owns rep_customers of them, the rest are spread.
        mark = time.perf_counter()
        owners = owners_of(opts, rng)
        bench = Owner(BENCH_REP_ID, BENCH_TEAM, 0.0)
        others = rng.choices(
            owners, weights=[o.weight for o in owners], k=opts.customers - opts.rep_customers
        )
        assigned = others + [bench] * opts.rep_customers
        rng.shuffle(assigned)
        created: list[datetime] = []
        for start in range(0, opts.customers, 5_000):
            batch = [
                customer_row(rng, start + i + 1, owner, now)
                for i, owner in enumerate(assigned[start : start + 5_000])
            ]
            created += [row["created_at"] for row in batch]
            await insert_rows(conn, "customers", batch)
            progress(f"  customers {start + len(batch):>10,}")
        await conn.commit()
        report.customers = time.perf_counter() - mark
        progress(f"  customers {opts.customers:>10,} in {report.customers:6.1f} s", final=True)

        # Notes, oldest first, spread unevenly over the customers.
        mark = time.perf_counter()
        ids = range(1, opts.customers + 1)
        cum_weights = list(itertools.accumulate(rng.gammavariate(0.8, 1.0) for _ in ids))
        since = now - timedelta(days=730)
        has_meta = "meta" in table("notes").c
        span = (now - since).total_seconds()
        for start in range(0, opts.notes, 10_000):
            count = min(10_000, opts.notes - start)
            batch = []
            for i, cid in enumerate(rng.choices(ids, cum_weights=cum_weights, k=count)):
                owner = assigned[cid - 1]
                kind = rng.choices(NOTE_KINDS, NOTE_KIND_WEIGHTS)[0]
                meta = {}
                if kind == "system" and has_meta:
                    old, new = rng.sample(STAGES, 2)
                    meta = {"meta": {"event": "stage", "old": old, "new": new}}
                at = since + timedelta(seconds=span * (start + i) / opts.notes + rng.uniform(0, 60))
                with_file = kind == "note" and rng.random() < 0.05
                batch.append(
                    {
                        "customer_id": cid,
                        "team_id": owner.team_id,
                        "author_id": None if kind == "system" else owner.user_id,
                        "kind": kind,
                        "text": "" if with_file and rng.random() < 0.5 else note_text(rng, kind),
                        "file_id": f"AgACAgUAAxk{rng.getrandbits(64):016x}" if with_file else None,
                        "file_kind": rng.choice(("photo", "voice", "document")) if with_file else None,
                        "created_at": max(at, created[cid - 1]),
                        **meta,
                    }
                )
            await insert_rows(conn, "notes", batch)
            progress(f"  notes     {start + count:>10,}")
        await conn.commit()
        report.notes = time.perf_counter() - mark
        progress(f"  notes     {opts.notes:>10,} in {report.notes:6.1f} s", final=True)

        mark = time.perf_counter()
        if sqlite:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            for name in ("customers", "teams"):
                await conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))"
                    )
                )
            await conn.commit()
            # What autovacuum does on its own a little after a bulk load.
            await conn.execute(text("ANALYZE"))
        await conn.commit()
        report.finish = time.perf_counter() - mark
    report.total = time.perf_counter() - started
    return report


def bench_team_staff() -> list[int]:
    """The Telegram ids the benchmark team's people may have (its lead and up to 99 reps)."""
    return [lead_id(BENCH_TEAM), *(rep_id(BENCH_TEAM, r) for r in range(1, 100))]


async def remove_run_leftovers(engine: AsyncEngine) -> None:
    """Delete the notes, flow positions and playbook runs a benchmark run adds, so row counts stay stable.

    Runs act as people of the benchmark team only (this one as its first rep,
    `load_mix.py` as several reps and their lead); the data gives them no notes that
    start with RUN_NOTE_PREFIX, no flow positions and no playbook runs.

    The records of delivered updates go too: each run's stand-in numbers its updates
    from 1 again, so `salesbot run`'s wiring would take the next run's updates for ones
    it handled already and skip them (Telegram's numbers only grow, or restart after a
    week of silence, by when the records are gone).
    """
    staff = bench_team_staff()
    async with engine.begin() as conn:
        await conn.execute(
            delete(table("notes")).where(
                table("notes").c.author_id.in_(staff),
                table("notes").c.text.like(RUN_NOTE_PREFIX + "%"),
            )
        )
        await conn.execute(delete(table("flow_states")).where(table("flow_states").c.user_id.in_(staff)))
        # The benchmarks never finish a run, so no outcome, task or card change refers to one.
        await conn.execute(delete(table("playbook_runs")).where(table("playbook_runs").c.user_id.in_(staff)))
        await conn.execute(delete(table("handled_updates")))
        await conn.execute(delete(table("received_updates")))


async def remove_leftovers_at(url: str) -> None:
    """`remove_run_leftovers` on an engine of its own, after a run."""
    engine = make_engine(url)
    try:
        await remove_run_leftovers(engine)
    finally:
        await engine.dispose()


async def row_counts(engine: AsyncEngine) -> dict[str, int]:
    """Rows per table that the data shape is checked by."""
    counts = {}
    async with engine.connect() as conn:
        for name in ("users", "teams", "memberships", "customers", "notes"):
            counts[name] = int(
                (await conn.execute(select(func.count()).select_from(table(name)))).scalar_one()
            )
    return counts


def expected_counts(opts: Options) -> dict[str, int]:
    """The row counts a database built with these options has."""
    staff = opts.teams * (opts.reps + 1)
    return {
        "users": staff + 1,
        "teams": opts.teams,
        "memberships": staff,
        "customers": opts.customers,
        "notes": opts.notes,
    }


async def wipe(engine: AsyncEngine) -> None:
    """Empty every table of the bot's schema."""
    names = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
        else:
            for name in names:
                await conn.execute(text(f"DELETE FROM {name}"))


async def missing_columns(engine: AsyncEngine) -> list[str]:
    """Columns the bot's tables declare that the database lacks (an old schema)."""

    def compare(conn: Any) -> list[str]:
        inspector = inspect(conn)
        existing = set(inspector.get_table_names())
        missing = []
        for tbl in SQLModel.metadata.sorted_tables:
            if tbl.name not in existing:
                missing.append(tbl.name)
                continue
            have = {column["name"] for column in inspector.get_columns(tbl.name)}
            missing += [f"{tbl.name}.{c.name}" for c in tbl.columns if c.name not in have]
        return missing

    async with engine.connect() as conn:
        return await conn.run_sync(compare)


async def drop_everything(engine: AsyncEngine) -> None:
    """Drop the bot's tables and Alembic's version table (for --rebuild on an old schema)."""
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.drop_all)
        await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


@dataclass
class Prepared:
    """The database ready to benchmark, and how it got there."""

    url: str
    backend: str
    built: bool
    build: dict[str, float]
    counts: dict[str, int]


def sqlite_url(path: Path) -> str:
    """The async SQLAlchemy URL of a SQLite file."""
    return f"sqlite+aiosqlite:///{path}"


async def prepare_database(opts: Options) -> Prepared:
    """Reuse a database that already holds the data, or build it (cached for SQLite)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    expected = expected_counts(opts)
    if opts.database is None:
        path = RESULTS / f"{opts.cache_key}.db"
        sidecar = path.with_suffix(".build.json")
        if path.exists() and not opts.rebuild:
            engine = make_engine(sqlite_url(path))
            try:
                await remove_run_leftovers(engine)
                counts = await row_counts(engine)
            finally:
                await engine.dispose()
            if counts == expected:
                build = json.loads(sidecar.read_text()) if sidecar.exists() else {}
                return Prepared(sqlite_url(path), "sqlite", False, build, counts)
            print(f"cached database {path.name} has {counts}, expected {expected}: rebuilding")
        # Caches of these sizes for another schema (or an unfinished build) are of no further use.
        for stale in RESULTS.glob(f"{opts.cache_key.rsplit('-', 1)[0]}-*"):
            stale.unlink()
        scratch = RESULTS / f"{opts.cache_key}.building"
        print(f"building {path.name} (cached for later runs)")
        engine = make_engine(sqlite_url(scratch))
        try:
            await upgrade(engine)
            missing = await missing_columns(engine)
            if missing:
                raise SystemExit(f"the migrations lack what bot/storage/models.py declares: {missing}")
            report = await load_data(engine, opts)
            counts = await row_counts(engine)
        finally:
            await engine.dispose()
        scratch.rename(path)
        build = vars(report)
        sidecar.write_text(json.dumps(build, indent=2))
        return Prepared(sqlite_url(path), "sqlite", True, build, counts)

    url = Settings(_env_file=None, DATABASE_URL=opts.database).database_url
    engine = make_engine(url)
    backend = engine.dialect.name
    sidecar = RESULTS / f"build-{backend}.json"
    where = engine.url.render_as_string(hide_password=True)
    try:
        await upgrade(engine)
        missing = await missing_columns(engine)
        if missing and not opts.rebuild:
            raise SystemExit(
                f"{where} lacks {missing} (an older schema); pass --rebuild to drop its tables and rebuild"
            )
        if missing:
            await drop_everything(engine)
            await upgrade(engine)
        await remove_run_leftovers(engine)
        counts = await row_counts(engine)
        if counts == expected and not opts.rebuild:
            build = json.loads(sidecar.read_text()) if sidecar.exists() else {}
            return Prepared(url, backend, False, build, counts)
        if any(counts.values()) and not opts.rebuild:
            raise SystemExit(
                f"{where} holds {counts}, not the benchmark's {expected}; "
                "pass --rebuild to empty it and build the data there"
            )
        if any(counts.values()):
            await wipe(engine)
        print(f"building the data in {where}")
        report = await load_data(engine, opts)
        counts = await row_counts(engine)
    finally:
        await engine.dispose()
    build = vars(report)
    sidecar.write_text(json.dumps(build, indent=2))
    return Prepared(url, backend, True, build, counts)


@dataclass(frozen=True)
class Query:
    """What the rep types to find one customer, and who that is."""

    text: str
    kind: str  # "name" | "phone"
    customer_id: int


@dataclass
class World:
    """The benchmark rep's team and the queries that find exactly one of their customers."""

    team_id: int
    lead_id: int
    rep_customers: int
    queries: list[Query]


async def load_world(engine: AsyncEngine, opts: Options, user_id: int = BENCH_REP_ID) -> World:
    """Pick names and phone numbers that match exactly one of the rep's visible customers.

    The rep is the benchmark rep unless `user_id` names another rep of the benchmark team.
    The queries are empty when no name matches exactly one of their customers.
    """
    customers = table("customers")
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(
                    customers.c.id,
                    customers.c.name,
                    customers.c.phone_digits,
                    customers.c.search_text,
                ).where(
                    customers.c.owner_id == user_id,
                    customers.c.team_id == BENCH_TEAM,
                    customers.c.archived_at.is_(None),
                )
            )
        ).all()

    def matches(query: str) -> list[int]:
        # The same rule as bot.services.customer_search.search: a substring of the search text,
        # or of the phone digits when the query is mostly digits.
        wanted = normalise(query)
        digits = card.phone_digits(wanted)
        by_phone = len(digits) >= 4 and len(digits) >= len(wanted) - 2
        return [
            row.id
            for row in rows
            if wanted in row.search_text or (by_phone and digits in (row.phone_digits or ""))
        ]

    rng = random.Random(opts.seed + 2 + user_id - BENCH_REP_ID)
    order = list(rows)
    rng.shuffle(order)
    names: list[Query] = []
    phones: list[Query] = []
    for row in order:
        if len(names) < 100 and matches(row.name) == [row.id]:
            names.append(Query(row.name, "name", row.id))
        if row.phone_digits and len(phones) < 50:
            typed = row.phone_digits[2:]  # as people type a mobile number: 138…, without +86
            if matches(typed) == [row.id]:
                phones.append(Query(typed, "phone", row.id))
        if len(names) >= 100 and len(phones) >= 50:
            break
    if not names:
        return World(BENCH_TEAM, lead_id(BENCH_TEAM), len(rows), [])
    # Two names, then a phone number, over and over.
    queries: list[Query] = []
    name_cycle, phone_cycle = itertools.cycle(names), itertools.cycle(phones or names)
    for i in range(len(names) + len(phones)):
        queries.append(next(phone_cycle) if i % 3 == 2 else next(name_cycle))
    return World(BENCH_TEAM, lead_id(BENCH_TEAM), len(rows), queries)


# =========================================================================== the stand-in process


def standin_process(conn: Connection, users: list[tuple[int, str]]) -> None:
    """Child process: serve the Bot API stand-in, plus a small control API for the parent."""
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_serve_standin(conn, users))


async def _serve_standin(conn: Connection, users: list[tuple[int, str]]) -> None:
    standin = BotApiStandIn(SPEC, token=CONSOLE_TOKEN, bot_username=BOT_USERNAME, limits=Limits.unlimited())
    for user_id, name in users:
        standin.add_user(user_id, name, language_code="zh-hans")
    await standin.start()

    async def body(request: web.Request) -> dict[str, Any]:
        data = await request.json()
        assert isinstance(data, dict)
        return data

    async def text_update(request: web.Request) -> web.Response:
        data = await body(request)
        return web.json_response(standin.text_update(int(data["user_id"]), str(data["text"])))

    async def callback_update(request: web.Request) -> web.Response:
        data = await body(request)
        update = standin.callback_update(int(data["user_id"]), int(data["message_id"]), str(data["data"]))
        return web.json_response(update)

    def shown(message: Any) -> web.Response:
        if message is None:
            return web.json_response({})
        return web.json_response(
            {
                "message_id": message.message_id,
                "text": message.plain_text,
                "buttons": [b.get("callback_data", "") for b in message.buttons()],
            }
        )

    async def last(request: web.Request) -> web.Response:
        return shown(standin.last_message(int(request.query["chat_id"])))

    async def one(request: web.Request) -> web.Response:
        chat_id, message_id = int(request.query["chat_id"]), int(request.query["message_id"])
        sent = standin.messages(chat_id, include_deleted=False)
        return shown(next((m for m in reversed(sent) if m.message_id == message_id), None))

    async def stats(request: web.Request) -> web.Response:
        errors = Counter(
            f"{record.method} {record.status} {record.description}"
            for record in standin.requests
            if record.status != 200
        )
        methods = Counter(record.method for record in standin.requests)
        return web.json_response(
            {
                "requests": len(standin.requests),
                "methods": dict(methods),
                "errors": dict(errors),
                "cpu": time.process_time(),
            }
        )

    await child_standin.serve(
        conn,
        standin,
        [
            ("POST", "/text", text_update),
            ("POST", "/callback", callback_update),
            ("GET", "/last", last),
            ("GET", "/message", one),
            ("GET", "/stats", stats),
        ],
    )


class StandIn(child_standin.Handle):
    """The parent's handle on the stand-in process: build updates, read what the bot sent."""

    async def text(self, user_id: int, typed: str) -> dict[str, Any]:
        """The update for a text the user sends."""
        response = await self._control.post("/text", json={"user_id": user_id, "text": typed})
        response.raise_for_status()
        return dict(response.json())

    async def press(self, user_id: int, message_id: int, data: str) -> dict[str, Any]:
        """The update for pressing a button (it must exist on that bot message)."""
        payload = {"user_id": user_id, "message_id": message_id, "data": data}
        response = await self._control.post("/callback", json=payload)
        response.raise_for_status()
        return dict(response.json())

    async def last(self, chat_id: int) -> dict[str, Any]:
        """The bot's latest message in a chat: message_id, text and button data."""
        response = await self._control.get("/last", params={"chat_id": chat_id})
        response.raise_for_status()
        return dict(response.json())

    async def message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        """One bot message as it is now (edits included), like `last`; empty if there is none."""
        response = await self._control.get("/message", params={"chat_id": chat_id, "message_id": message_id})
        response.raise_for_status()
        return dict(response.json())

    async def stats(self) -> dict[str, Any]:
        """Requests served, by method; failed requests; the stand-in's CPU seconds so far."""
        response = await self._control.get("/stats")
        response.raise_for_status()
        return dict(response.json())


def standin_in_child(users: list[tuple[int, str]]) -> contextlib.AbstractAsyncContextManager[StandIn]:
    """Start the stand-in in its own process (own interpreter, own event loop)."""
    return child_standin.in_child(
        standin_process, (users,), lambda process, info: StandIn(process, info, timeout=30)
    )


# =========================================================================== the bots


def build_echo(standin: StandIn, *, rate_limiter: bool) -> Application[Any, Any, Any, Any, Any, Any]:
    """The baseline: a bare Application whose one handler replies with the text it got."""
    builder = (
        Application.builder()
        .token(CONSOLE_TOKEN)
        .base_url(standin.base_url)
        .base_file_url(standin.base_file_url)
    )
    if rate_limiter:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))  # type: ignore[arg-type]
    application = builder.build()

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        assert message is not None and message.text is not None
        await message.reply_text(message.text)

    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    return application


def build_salesbot(
    standin: child_standin.Handle,
    url: str,
    pragmas: tuple[str, ...],
    playbooks: dict[str, Playbook],
    *,
    once_per_update: bool = False,
) -> tuple[SalesApp, AsyncEngine]:
    """The real Application, wired as in production (rate limiter on) against the stand-in.

    `playbooks` are the files that pass the checker (see `load_playbooks`).
    """
    engine = make_engine(url)
    if pragmas and engine.dialect.name == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _what_if(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            for pragma in pragmas:
                cursor.execute(f"PRAGMA {pragma}")
            cursor.close()

    settings = Settings(_env_file=None, DATABASE_URL=url, SALESBOT_ADMIN_IDS=[], SALESBOT_LOG_LEVEL="WARNING")
    wiring = Wiring(
        settings=settings,
        sessions=make_session_factory(engine),
        base_url=standin.base_url,
        base_file_url=standin.base_file_url,
        token=CONSOLE_TOKEN,
        rate_limiter=True,
        playbooks=playbooks,
        once_per_update=once_per_update,  # `salesbot run`: each update stored on receipt
    )
    return build_application(wiring), engine


# =========================================================================== the playbook step

PLAYBOOK = "qualify"  # the playbook whose step is measured
PLAYBOOK_STEP = "volume"  # a scale step: a score is pressed (measured), then Back (not measured)
FRESH_RUN_ROUNDS = 10  # a new run, on the round's customer, every this many rounds (not measured)
PLAYBOOK_LANG = "zh"  # the benchmark rep's language, to recognise the step a message shows
# What the benchmark presses on the way to PLAYBOOK_STEP, by the kind of step shown:
# (the engine's action, the button's action letter, its argument).
DRIVE: dict[type, tuple[str, str, str]] = {
    Tip: ("next", "n", ""),
    Choice: ("pick", "p", "0"),
    Scale: ("pick", "p", "3"),
    Checklist: ("done", "d", ""),
}


def load_playbooks() -> tuple[dict[str, Playbook], list[str]]:
    """The playbook files that pass the checker, in menu order, and the problems of the others.

    The bot refuses to start while any file of playbooks/ fails the checker. Files that
    are being written must not stop the benchmark, so the bot is wired with the files
    that pass, which must include `qualify`.
    """
    passed, problems = check_files(playbook_files())
    if PLAYBOOK not in passed:
        found = [str(p) for p in problems if p.file == f"{PLAYBOOK}.toml"]
        if not found:
            raise SystemExit(f"playbooks/{PLAYBOOK}.toml is missing")
        raise SystemExit(f"playbooks/{PLAYBOOK}.toml does not pass the checker:\n" + "\n".join(found))
    ordered = dict(sorted(passed.items(), key=lambda item: (item[1].order, item[0])))
    return ordered, [str(p) for p in problems]


def text_fragment(template: str) -> str:
    """The longest literal part of a playbook text: what any rendering of it contains."""
    parts = re.split(r"{{.*?}}|{%.*?%}|{#.*?#}", template, flags=re.DOTALL)
    return max((part.strip() for part in parts), key=len)


@dataclass(frozen=True)
class StepPlan:
    """The way from a new run to the measured step, worked out with the bot's own engine.

    `path` lists, per step shown on the way, the button pressed (action letter and
    argument). At `measured` a score is pressed, which shows `then`; Back from there
    shows `measured` again. `fragments` are texts by which each step is recognised.
    """

    playbook: Playbook
    path: tuple[tuple[str, str, str], ...]  # (step shown, action letter, argument)
    measured: str
    then: str
    fragments: dict[str, str]

    @classmethod
    def of(cls, playbooks: dict[str, Playbook]) -> StepPlan:
        """Plan the run; SystemExit when the playbook no longer has the shape measured."""
        playbook = playbooks[PLAYBOOK]
        today = datetime.now(UTC).date()

        def advance(state: playbook_engine.RunState, action: str, arg: str) -> playbook_engine.RunState:
            outcome = playbook_engine.advance(
                playbook, state, playbook_engine.Given(action, arg), today=today
            )
            if outcome.error is not None or outcome.state.finished:
                raise SystemExit(f"{PLAYBOOK}: {action} {arg!r} at step {state.step} does not lead on")
            return outcome.state

        if not playbook.has(PLAYBOOK_STEP) or not isinstance(playbook.step(PLAYBOOK_STEP), Scale):
            raise SystemExit(f"{PLAYBOOK} has no scale step {PLAYBOOK_STEP!r} to measure")
        state = playbook_engine.begin(playbook)
        path: list[tuple[str, str, str]] = []
        while state.step != PLAYBOOK_STEP:
            step = playbook.step(state.step)
            drive = DRIVE.get(type(step))
            if drive is None or len(path) > 50:
                raise SystemExit(f"{PLAYBOOK}: cannot drive a run past step {state.step} to {PLAYBOOK_STEP}")
            path.append((state.step, drive[1], drive[2]))
            state = advance(state, drive[0], drive[2])
        then = advance(state, "pick", "4")
        if advance(then, "back", "").step != PLAYBOOK_STEP:
            raise SystemExit(f"{PLAYBOOK}: Back from {then.step} does not return to {PLAYBOOK_STEP}")
        shown = [*(step for step, _, _ in path), PLAYBOOK_STEP, then.step]
        fragments = {}
        for step_id in shown:
            step = playbook.step(step_id)
            assert isinstance(step, SHOWN)
            fragments[step_id] = text_fragment(step.text.get(PLAYBOOK_LANG))
        if len(set(fragments.values())) != len(fragments):
            raise SystemExit(f"{PLAYBOOK}: steps {shown} cannot be told apart by their texts")
        return cls(playbook, tuple(path), PLAYBOOK_STEP, then.step, fragments)

    def shows(self, message: dict[str, Any], step_id: str) -> bool:
        """Whether a message shows this step."""
        return self.fragments[step_id] in message.get("text", "")


@dataclass(frozen=True)
class RunAt:
    """A playbook run in progress: whose, and the message that shows it."""

    customer_id: int
    run_id: int
    message_id: int

    def button(self, message: dict[str, Any], action: str, arg: str = "") -> str | None:
        """The callback data of a step button on the message (its seq is the run's current one)."""
        prefix = f"{playbook_engine.CALLBACK_PREFIX}:{self.customer_id}:{self.run_id}:"
        for data in message.get("buttons", []):
            if data.startswith(prefix) and data.split(":")[4:6] == [action, arg]:
                return str(data)
        return None


def run_id_of(message: dict[str, Any], customer_id: int) -> int | None:
    """The run whose step buttons a message shows."""
    prefix = f"{playbook_engine.CALLBACK_PREFIX}:{customer_id}:"
    for data in message.get("buttons", []):
        if data.startswith(prefix):
            return int(data.split(":")[2])
    return None


class Pacer:
    """Feeds updates no faster than `rate` per second (the wait is never measured)."""

    def __init__(self, rate: float) -> None:
        self.gap = 1.0 / rate if rate > 0 else 0.0
        self.last = 0.0

    async def tick(self) -> None:
        """Wait until the next update may go."""
        wait = self.last + self.gap - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        self.last = time.perf_counter()


@dataclass
class Series:
    """Wall and CPU milliseconds of one operation."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def add(self, wall: float, cpu: float) -> None:
        """Record one measurement."""
        self.wall.append(wall)
        self.cpu.append(cpu)


async def timed(
    application: Application[Any, Any, Any, Any, Any, Any], payload: dict[str, Any]
) -> tuple[float, float]:
    """Hand one update to an Application the way polling does (through its update processor);
    its wall and CPU milliseconds until fully handled."""
    update = Update.de_json(payload, application.bot)
    cpu = time.process_time()
    wall = time.perf_counter()
    await application.update_processor.process_update(update, application.process_update(update))
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    return wall * 1000, cpu * 1000


@dataclass
class Checks:
    """Answers that were not what the operation should produce (should stay at 0)."""

    find: int = 0
    prompt: int = 0
    note: int = 0
    step: int = 0  # the measured playbook step
    run: int = 0  # the presses around it: starting a run, Back
    samples: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """Wrong answers by operation."""
        return {
            "find": self.find,
            "prompt": self.prompt,
            "note": self.note,
            "step": self.step,
            "run": self.run,
        }

    def fail(self, what: str, got: dict[str, Any]) -> None:
        """Count a wrong answer and keep a few for the report."""
        setattr(self, what, getattr(self, what) + 1)
        if len(self.samples) < 5:
            self.samples.append(f"{what}: {str(got.get('text', got))[:160]!r}")


class Rounds:
    """One round: echo, (echo + limiter), find, playbook step, Back, 📝, add note, the searches alone.

    The playbook step comes between *find* and the 📝 press on purpose: while a run is
    shown, the rep's next text is taken as an answer to it, and the 📝 press (any button
    but the run's own) ends that, so the next round's *find* starts as it always did.
    """

    def __init__(
        self,
        standin: StandIn,
        sales: SalesApp,
        echo: Application[Any, Any, Any, Any, Any, Any],
        echo_rl: Application[Any, Any, Any, Any, Any, Any] | None,
        pacer: Pacer,
        queries: list[Query],
        searches: dict[str, Actor],
        plan: StepPlan,
    ) -> None:
        self.standin, self.sales, self.echo, self.echo_rl = standin, sales, echo, echo_rl
        self.pacer = pacer
        self.queries = queries
        self.searches = searches
        self.plan = plan
        self.checks = Checks()
        self.counter = itertools.count()
        self.run_at: RunAt | None = None  # the playbook run in progress
        self.run_rounds = 0  # rounds it has served

    async def run(
        self,
        rounds: int,
        record: dict[str, Series] | None,
        around: Callable[[str], contextlib.AbstractAsyncContextManager[None]] | None = None,
    ) -> None:
        """Play `rounds` rounds; record timings into `record` (None: warm-up)."""

        def keep(name: str, figures: tuple[float, float]) -> None:
            if record is not None:
                record.setdefault(name, Series()).add(*figures)

        hooks = around or _no_hook
        for _ in range(rounds):
            i = next(self.counter)
            query = self.queries[i % len(self.queries)]

            await self.pacer.tick()
            payload = await self.standin.text(ECHO_USER_ID, query.text)
            async with hooks("echo"):
                figures = await timed(self.echo, payload)
            keep("echo", figures)

            if self.echo_rl is not None:
                await self.pacer.tick()
                payload = await self.standin.text(ECHO_RL_USER_ID, query.text)
                async with hooks("echo_rl"):
                    figures = await timed(self.echo_rl, payload)
                keep("echo_rl", figures)

            await self._find_and_note(i, query, hooks, keep)

            # The search query alone, as the rep and as their lead (no update, no pacing),
            # for another customer than this round's.
            other = self.queries[(i + len(self.queries) // 2) % len(self.queries)]
            for name, actor in self.searches.items():
                keep(name, await timed_search(self.sales, actor, other.text))

    async def _find_and_note(
        self,
        i: int,
        query: Query,
        hooks: Callable[[str], contextlib.AbstractAsyncContextManager[None]],
        keep: Callable[[str, tuple[float, float]], None],
    ) -> None:
        # Find: the rep types a name or phone number; the bot answers with the card.
        await self.pacer.tick()
        payload = await self.standin.text(BENCH_REP_ID, query.text)
        async with hooks("find"):
            figures = await timed(self.sales, payload)
        keep("find", figures)
        shown = await self.standin.last(BENCH_REP_ID)
        if f"cn:{query.customer_id}" not in shown.get("buttons", []):
            self.checks.fail("find", shown)
            return

        await self._playbook_step(i, query, hooks, keep)

        # Press the card's 📝 button (not measured): the bot asks for the note.
        await self.pacer.tick()
        payload = await self.standin.press(BENCH_REP_ID, shown["message_id"], f"cn:{query.customer_id}")
        await self.sales.process_update(Update.de_json(payload, self.sales.bot))
        asked = await self.standin.last(BENCH_REP_ID)
        if not any(data.startswith("f:") for data in asked.get("buttons", [])):
            self.checks.fail("prompt", asked)
            return

        # Add note: the text that saves the note and answers.
        await self.pacer.tick()
        words = NOTE_ZH[i % len(NOTE_ZH)] + "，" + NOTE_ZH[(i * 7 + 3) % len(NOTE_ZH)]
        payload = await self.standin.text(BENCH_REP_ID, f"{RUN_NOTE_PREFIX} {i}: {words}。")
        async with hooks("note"):
            figures = await timed(self.sales, payload)
        keep("note", figures)
        saved = await self.standin.last(BENCH_REP_ID)
        if not any(data.startswith(f"nk:{query.customer_id}:") for data in saved.get("buttons", [])):
            self.checks.fail("note", saved)

    async def _playbook_step(
        self,
        i: int,
        query: Query,
        hooks: Callable[[str], contextlib.AbstractAsyncContextManager[None]],
        keep: Callable[[str, tuple[float, float]], None],
    ) -> None:
        # Every few rounds a new run on the round's customer, brought to the measured step.
        if self.run_at is None or self.run_rounds >= FRESH_RUN_ROUNDS:
            self.run_at, self.run_rounds = await self._fresh_run(query), 0
        run = self.run_at
        if run is None:
            return
        self.run_rounds += 1

        # The playbook step: a score on the scale step; the bot saves the run and shows the next step.
        plan = self.plan
        before = await self.standin.message(BENCH_REP_ID, run.message_id)
        data = run.button(before, "p", str(1 + i % 5))
        if not plan.shows(before, plan.measured) or data is None:
            self.checks.fail("run", before)
            self.run_at = None
            return
        await self.pacer.tick()
        payload = await self.standin.press(BENCH_REP_ID, run.message_id, data)
        async with hooks("step"):
            figures = await timed(self.sales, payload)
        keep("step", figures)
        after = await self.standin.message(BENCH_REP_ID, run.message_id)
        seq = (int(data.split(":")[3]) + 1) % playbook_engine.SEQ_MODULO
        back = run.button(after, "b")
        if not plan.shows(after, plan.then) or back is None or int(back.split(":")[3]) != seq:
            self.checks.fail("step", after)
            self.run_at = None
            return

        # Back (not measured): the measured step again, for the next round.
        again = await self._press(run.message_id, back)
        if not plan.shows(again, plan.measured):
            self.checks.fail("run", again)
            self.run_at = None

    async def _fresh_run(self, query: Query) -> RunAt | None:
        """Start the playbook on the round's customer and press on to the measured step (not measured).

        The run gets a card of its own (the query typed again), as the round's card is
        still to be used for 📝.
        """
        plan, cid = self.plan, query.customer_id
        await self.pacer.tick()
        payload = await self.standin.text(BENCH_REP_ID, query.text)
        await self.sales.process_update(Update.de_json(payload, self.sales.bot))
        shown = await self.standin.last(BENCH_REP_ID)
        if f"pl:{cid}" not in shown.get("buttons", []):
            self.checks.fail("run", shown)
            return None
        message_id = shown["message_id"]
        shown = await self._press(message_id, f"pl:{cid}")
        start = f"ps:{cid}:{plan.playbook.id}"
        if start not in shown.get("buttons", []):
            self.checks.fail("run", shown)
            return None
        shown = await self._press(message_id, start)
        run_id = run_id_of(shown, cid)
        if run_id is None:
            self.checks.fail("run", shown)
            return None
        run = RunAt(cid, run_id, message_id)
        for step_id, action, arg in plan.path:
            data = run.button(shown, action, arg)
            if not plan.shows(shown, step_id) or data is None:
                self.checks.fail("run", shown)
                return None
            shown = await self._press(message_id, data)
        return run

    async def _press(self, message_id: int, data: str) -> dict[str, Any]:
        """The rep presses a button of a bot message (not measured); that message afterwards."""
        await self.pacer.tick()
        payload = await self.standin.press(BENCH_REP_ID, message_id, data)
        await self.sales.process_update(Update.de_json(payload, self.sales.bot))
        return await self.standin.message(BENCH_REP_ID, message_id)


@contextlib.asynccontextmanager
async def _no_hook(name: str) -> AsyncIterator[None]:
    yield


async def timed_search(sales: SalesApp, actor: Actor, typed: str) -> tuple[float, float]:
    """`customer_search.search` by itself on a connection of the bot's, as `find` runs it; ms."""
    services = sales.bot_data.services
    assert services is not None
    filters = customer_search.Filters(query=typed)
    async with services.sessions.kw["bind"].connect() as connection:
        cpu = time.process_time()
        wall = time.perf_counter()
        await customer_search.search(connection, actor, filters, limit=8, now=services.now())
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
    return wall * 1000, cpu * 1000


# =========================================================================== anatomy: SQL and HTTP per update


def statement_shape(statement: str) -> str:
    """`SELECT customers`, `SELECT count(*) customers`, `INSERT notes`…: what a statement does."""
    flat = " ".join(statement.split())
    verb = flat.split(" ", 1)[0].upper()
    target = re.search(r"\b(?:FROM|INTO|UPDATE)\s+(\w+)", flat, re.IGNORECASE)
    name = target.group(1) if target else ""
    if verb == "SELECT" and re.match(r"SELECT count\(\*\)", flat, re.IGNORECASE):
        verb = "SELECT count(*)"
    joined = re.findall(r"\bJOIN\s+(\w+)", flat, re.IGNORECASE)
    return " ".join([verb, name, *(f"⋈ {j}" for j in joined)]).strip()


@dataclass
class Anatomy:
    """What one operation did per update, on average."""

    updates: int = 0
    statements: int = 0
    transactions: int = 0
    sql_ms: float = 0.0
    wall_ms: float = 0.0
    http_calls: int = 0
    standin_cpu_ms: float = 0.0
    shapes: Counter[str] = field(default_factory=Counter)
    shape_ms: dict[str, float] = field(default_factory=dict)
    methods: Counter[str] = field(default_factory=Counter)

    def summary(self) -> dict[str, Any]:
        """Per-update averages."""
        n = max(self.updates, 1)
        return {
            "updates": self.updates,
            "sql_statements": self.statements / n,
            "transactions": self.transactions / n,
            "sql_ms": self.sql_ms / n,
            "wall_ms": self.wall_ms / n,
            "http_calls": self.http_calls / n,
            "standin_cpu_ms": self.standin_cpu_ms / n,
            "statements": {
                shape: {"count": count / n, "ms": self.shape_ms[shape] / n}
                for shape, count in self.shapes.most_common()
            },
            "bot_api_methods": {method: count / n for method, count in self.methods.most_common()},
        }


@contextlib.contextmanager
def sql_listener(
    engine: AsyncEngine, on_statement: Callable[[str, float], None], on_begin: Callable[[], None]
) -> Iterator[None]:
    """Report every statement (with its wall time) and every transaction begun on the engine."""
    sync = engine.sync_engine

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        on_statement(statement, time.perf_counter() - conn.info.pop("bench_started", time.perf_counter()))

    def begin(conn: Any) -> None:
        on_begin()

    event.listen(sync, "before_cursor_execute", before)
    event.listen(sync, "after_cursor_execute", after)
    event.listen(sync, "begin", begin)
    try:
        yield
    finally:
        event.remove(sync, "before_cursor_execute", before)
        event.remove(sync, "after_cursor_execute", after)
        event.remove(sync, "begin", begin)


async def anatomy_pass(
    rounds: Rounds, engine: AsyncEngine, count: int, profile: bool, backend: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """Replay a few rounds counting SQL statements, transactions and Bot API calls per update."""
    figures: dict[str, Anatomy] = {}
    profiles: dict[str, cProfile.Profile] = {}
    current: list[Anatomy] = []

    def on_statement(statement: str, seconds: float) -> None:
        if current:
            current[0].statements += 1
            current[0].sql_ms += seconds * 1000
            shape = statement_shape(statement)
            current[0].shapes[shape] += 1
            current[0].shape_ms[shape] = current[0].shape_ms.get(shape, 0.0) + seconds * 1000

    def on_begin() -> None:
        if current:
            current[0].transactions += 1

    @contextlib.asynccontextmanager
    async def watch(name: str) -> AsyncIterator[None]:
        anatomy = figures.setdefault(name, Anatomy())
        before = await rounds.standin.stats()
        profiler = (
            profiles.setdefault(name, cProfile.Profile())
            if profile and name in ("find", "step", "note")
            else None
        )
        current[:] = [anatomy]
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        try:
            yield
        finally:
            if profiler is not None:
                profiler.disable()
            anatomy.wall_ms += (time.perf_counter() - started) * 1000
            current.clear()
            after = await rounds.standin.stats()
            anatomy.updates += 1
            anatomy.http_calls += after["requests"] - before["requests"]
            anatomy.standin_cpu_ms += (after["cpu"] - before["cpu"]) * 1000
            for method, total in after["methods"].items():
                anatomy.methods[method] += total - before["methods"].get(method, 0)

    with sql_listener(engine, on_statement, on_begin):
        await rounds.run(count, None, watch)
    texts: dict[str, str] = {}
    for name, profiler in profiles.items():
        path = RESULTS / f"profile-{name}-{backend}.prof"
        profiler.dump_stats(str(path))
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.strip_dirs().sort_stats("tottime").print_stats(18)
        stats.sort_stats("cumulative").print_stats(30)
        texts[name] = f"{path}\n{out.getvalue()}"
    return {name: anatomy.summary() for name, anatomy in figures.items()}, texts


# =========================================================================== report


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def describe(series: Series) -> dict[str, float]:
    """Median, p99, mean, min and max of wall and CPU milliseconds."""
    return {
        "n": len(series.wall),
        "median_ms": statistics.median(series.wall),
        "p99_ms": percentile(series.wall, 99),
        "mean_ms": statistics.fmean(series.wall),
        "min_ms": min(series.wall),
        "max_ms": max(series.wall),
        "cpu_median_ms": statistics.median(series.cpu),
        "cpu_p99_ms": percentile(series.cpu, 99),
        "cpu_mean_ms": statistics.fmean(series.cpu),
    }


LABELS = {
    "echo": "echo bot (bare PTB)",
    "echo_rl": "echo bot + AIORateLimiter",
    "find": "find a customer",
    "step": "playbook step",
    "note": "add a note",
    "search_rep": "search query (rep)",
    "search_lead": "search query (lead)",
}


# Goals on the ratios of medians: find and note within 3× the echo bot, a playbook step within 2× find.
RATIO_GOALS = {"find_over_echo": 3.0, "note_over_echo": 3.0, "step_over_find": 2.0}


def print_table(results: dict[str, dict[str, float]], echo_median: float) -> None:
    """The figures, one operation per line."""
    header = f"{'operation':<28}{'n':>5}{'median':>10}{'p99':>10}{'cpu med':>10}{'cpu p99':>10}{'÷ echo':>9}"
    print(header)
    print("-" * len(header))
    for name, row in results.items():
        ratio = f"{row['median_ms'] / echo_median:8.2f}×" if not name.startswith("search") else ""
        print(
            f"{LABELS.get(name, name):<28}{int(row['n']):>5}{row['median_ms']:>8.2f}ms{row['p99_ms']:>8.2f}ms"
            f"{row['cpu_median_ms']:>8.2f}ms{row['cpu_p99_ms']:>8.2f}ms{ratio:>9}"
        )


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
    }


# =========================================================================== main


async def run(opts: Options) -> dict[str, Any]:
    """Prepare the data, start both bots against the stand-in process, measure, report."""
    started = time.perf_counter()
    prepared = await prepare_database(opts)
    if prepared.built:
        print(f"data built in {prepared.build['total']:.1f} s")
    elif prepared.build:
        print(f"data reused (it took {prepared.build.get('total', 0):.1f} s to build)")
    print(f"database: {prepared.counts}")
    playbooks, skipped = load_playbooks()
    plan = StepPlan.of(playbooks)
    print(f"playbooks: {', '.join(playbooks)}")
    if skipped:
        print(f"  {len(skipped)} problem(s) in files left out (they fail the checker):")
        for problem in skipped[:10]:
            print(f"    {problem}")
    print(
        f"playbook step: {plan.playbook.id}, a score at {plan.measured} shows {plan.then}; "
        f"a new run every {FRESH_RUN_ROUNDS} rounds"
    )

    engine = make_engine(prepared.url)
    try:
        world = await load_world(engine, opts)
    finally:
        await engine.dispose()
    if not world.queries:
        raise SystemExit("no name matches exactly one of the rep's customers; use more customers")
    print(
        f"benchmark rep {BENCH_REP_ID} owns {world.rep_customers:,} active customers; "
        f"{len(world.queries)} queries match exactly one of them"
    )

    users = [(BENCH_REP_ID, BENCH_REP_NAME), (ECHO_USER_ID, "Echo"), (ECHO_RL_USER_ID, "Echo RL")]
    async with standin_in_child(users) as standin:
        sales, engine = build_salesbot(standin, prepared.url, opts.sqlite_pragmas, playbooks)
        echo = build_echo(standin, rate_limiter=False)
        echo_rl = build_echo(standin, rate_limiter=True) if opts.echo_rate_limited else None
        bots = [app for app in (echo, echo_rl) if app is not None]
        try:
            await start_application(sales)
            for app in bots:
                await app.initialize()
                await app.start()
            searches = {
                "search_rep": Actor(BENCH_REP_ID, Role.REP, world.team_id, False, "zh"),
                "search_lead": Actor(world.lead_id, Role.LEAD, world.team_id, False, "zh"),
            }
            rounds = Rounds(standin, sales, echo, echo_rl, Pacer(opts.pace), world.queries, searches, plan)

            print(f"warming up: {opts.warmup} rounds")
            await rounds.run(opts.warmup, None)
            gc.collect()
            print(
                f"measuring: {opts.iterations} rounds of echo, find, playbook step, Back and 📝 "
                "(not measured), add note, search alone"
            )
            measured: dict[str, Series] = {}
            mark = time.perf_counter()
            await rounds.run(opts.iterations, measured)
            print(f"  {time.perf_counter() - mark:.1f} s")
            rounds.searches = {}  # the anatomy pass looks at updates only

            anatomy: dict[str, Any] = {}
            profiles: dict[str, str] = {}
            if opts.anatomy > 0:
                print(f"anatomy pass: {opts.anatomy} rounds counting SQL and Bot API calls")
                anatomy, profiles = await anatomy_pass(
                    rounds, engine, opts.anatomy, opts.profile, prepared.backend
                )
            stats = await standin.stats()
        finally:
            for app in [sales, *bots]:
                if app.running:
                    await app.stop()
                await app.shutdown()
            await engine.dispose()

    await remove_leftovers_at(prepared.url)

    order = ["echo", "echo_rl", "find", "step", "note", "search_rep", "search_lead"]
    results = {name: describe(measured[name]) for name in order if name in measured}
    echo_median = results["echo"]["median_ms"]
    find = results["find"]
    step = results.get("step")
    ratios = {
        "find_over_echo": find["median_ms"] / echo_median,
        "note_over_echo": results["note"]["median_ms"] / echo_median,
        "step_over_find": step["median_ms"] / find["median_ms"] if step else math.nan,
        "find_over_echo_p99": find["p99_ms"] / results["echo"]["p99_ms"],
        "note_over_echo_p99": results["note"]["p99_ms"] / results["echo"]["p99_ms"],
        "step_over_find_p99": step["p99_ms"] / find["p99_ms"] if step else math.nan,
    }
    goals = {
        "find_within_3x_echo": ratios["find_over_echo"] <= RATIO_GOALS["find_over_echo"],
        "note_within_3x_echo": ratios["note_over_echo"] <= RATIO_GOALS["note_over_echo"],
        "step_within_2x_find": ratios["step_over_find"] <= RATIO_GOALS["step_over_find"],
        "search_rep_median_under_20ms": results["search_rep"]["median_ms"] < 20,
        "search_rep_p99_under_20ms": results["search_rep"]["p99_ms"] < 20,
    }

    print()
    print_table(results, echo_median)
    print()
    for key, value in ratios.items():
        goal = f"  (goal ≤ {RATIO_GOALS[key]:g}×)" if key in RATIO_GOALS else ""
        print(f"{key:<22}{value:6.2f}×{goal}")
    print(
        f"search (rep) median {results['search_rep']['median_ms']:.2f} ms, "
        f"p99 {results['search_rep']['p99_ms']:.2f} ms (goal < 20 ms)"
    )
    checks = rounds.checks
    wrong = sum(checks.counts.values())
    print(f"unexpected answers: {wrong}  ({', '.join(f'{k} {v}' for k, v in checks.counts.items())})")
    for sample in checks.samples:
        print(f"  {sample}")
    if stats["errors"]:
        print(f"Bot API errors from the stand-in: {stats['errors']}")
    if anatomy:
        print()
        print("per update (anatomy pass):")
        for name, row in anatomy.items():
            print(
                f"  {LABELS.get(name, name):<28} {row['sql_statements']:4.1f} SQL in "
                f"{row['transactions']:.1f} transactions, {row['sql_ms']:.2f} ms in SQL; "
                f"{row['http_calls']:.1f} Bot API calls; "
                f"stand-in CPU {row['standin_cpu_ms']:.2f} ms"
            )
            for shape, figures in row["statements"].items():
                print(f"      {figures['count']:4.1f} × {shape:<36} {figures['ms']:6.2f} ms")
    for name, report in profiles.items():
        print()
        print(f"cProfile of '{name}' (bot process, main thread):")
        print(report)

    head = results_head(prepared, opts)
    head["database"] |= {"rep_active_customers": world.rep_customers, "queries": len(world.queries)}
    output = {
        **head,
        "playbooks": {
            "loaded": list(playbooks),
            "left_out_problems": skipped,
            "measured": {
                "playbook": plan.playbook.id,
                "step": plan.measured,
                "shows": plan.then,
                "path": [f"{step_id} {action}:{arg}" for step_id, action, arg in plan.path],
                "fresh_run_every_rounds": FRESH_RUN_ROUNDS,
            },
        },
        "results_ms": results,
        "ratios": ratios,
        "goals": goals,
        "unexpected_answers": checks.counts,
        "bot_api_errors": stats["errors"],
        "anatomy": anatomy,
        "total_seconds": time.perf_counter() - started,
    }
    write_results(f"per_update-{prepared.backend}.json", output)
    return output


def results_head(prepared: Prepared, opts: Any) -> dict[str, Any]:
    """What a run's JSON starts with: the command, when, the environment, the options, the data."""
    return {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": environment(prepared.backend),
        "options": {k: v for k, v in vars(opts).items() if k != "database"},
        "database": {
            "url": make_url(prepared.url).render_as_string(hide_password=True),
            "rows": prepared.counts,
            "built_now": prepared.built,
            "build_seconds": prepared.build,
        },
    }


def write_results(name: str, output: dict[str, Any]) -> None:
    """Write a run's figures as JSON under bench/results/ and say where, and how long the run took."""
    path = RESULTS / name
    path.write_text(json.dumps(output, indent=2, ensure_ascii=False))
    print()
    print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    print(f"total {output['total_seconds']:.0f} s")


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(run(parse_options(argv)))


if __name__ == "__main__":
    main()
