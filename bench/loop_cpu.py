"""CPU work a handler could do on the event loop: how long each pure step takes at a realistic size.

    .venv/bin/python bench/loop_cpu.py               # the default sizes
    .venv/bin/python bench/loop_cpu.py --rounds 3    # fewer rounds on a busy machine

While one of these runs on the event loop, no other update is handled, so anything over a
few milliseconds belongs in a worker thread (`asyncio.to_thread`). Each step is timed on
synthetic data, without a database: the digest's texts of a 50-member team, its chart, an
export of 2,000 customers with their notes (rows worded for the reader, CSV and XLSX), the
report's customer figures for 2,000 customers and its CSV, and a vCard file of 500 contacts
(reading it, and the search text of each new card). See ``bench/README.md``. Nothing here
asserts on time.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import Wiring, build_services
from bot.config import Settings
from bot.domain.search import search_text
from bot.services import chart as chart_service
from bot.services import digest as svc
from bot.services import export as export_service
from bot.services.digest import reports
from bot.services.vcard import parse_vcards
from bot.telegram import words
from bot.telegram.digest_render import blocks, chart_data, digest_keyboard, pack

NOW = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)
TZ = "Asia/Shanghai"
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _services() -> Any:
    """The bot's own catalogue and playbooks, with no database behind them."""
    return build_services(Wiring(settings=Settings(), sessions=None))  # type: ignore[arg-type]


def _digest(rng: random.Random, reps: int) -> svc.Digest:
    period = svc.period_for("day", now=NOW, tz=TZ)
    people = [
        svc.RepActivity(
            9000 + n,
            f"{_name(rng)} Representative {n:02d}",
            "lead" if n == 0 else "rep",
            notes=rng.randint(0, 40),
            contacts=rng.randint(0, 20),
            playbooks=rng.randint(0, 5),
            new_customers=rng.randint(0, 6),
            stage_moves=rng.randint(0, 8),
            wins=rng.randint(0, 3),
            amount=Decimal(rng.randint(0, 90_000)),
            behind=rng.randint(0, 30),
            overdue=rng.randint(0, 9),
        )
        for n in range(reps + 1)
    ]

    def listing(detail: Callable[[], dict[str, Any]]) -> svc.Listing:
        items = [svc.Item(n, _name(rng), _name(rng), detail(), n) for n in range(svc.LIST_MAX)]
        return svc.Listing(items, 120)

    chart = svc.Period.ending(period.last, svc.CHART_DAYS, TZ)
    return svc.Digest(
        team_id=1,
        team="华东销售一部",
        kind="day",
        period=period,
        today=period.last + timedelta(days=1),
        reps=people,
        pipeline={stage: rng.randint(100, 30_000) for stage in svc.STAGES},
        moved_in={"contact": 12, "closing": 3},
        objections=[svc.Objection("price", 30, 12, "yes_but", 9, 14), svc.Objection("timing", 8, 2, None, 0)],
        closings=(5, 11),
        care={"sent": 40, "handed": 12, "failed": 1, "skipped": 3, "review": 4},
        overdue=listing(lambda: {"due": "2026-11-20", "days": 3, "text": "回访报价 " * 5}),
        complaints=listing(lambda: {"due": "2026-11-19", "days": 4, "type": "quality", "words": "漏水"}),
        at_risk=listing(lambda: {"days": 90, "interval": 30, "revenue": Decimal(12000), "loyalty": 55}),
        quiet_a=listing(lambda: {"days": 40, "never": False}),
        activity=[
            (chart.first + timedelta(days=n), rng.randint(0, 1500), rng.randint(0, 30)) for n in range(14)
        ],
        chart_period=chart,
    )


def _export_tables(rng: random.Random, customers: int, notes: int) -> list[export_service.Table]:
    customer_rows = []
    for n in range(customers):
        row: list[Any] = []
        for key in export_service.CUSTOMER_COLUMNS:
            if key == "id":
                row.append(n)
            elif key == "stage":
                row.append(rng.choice(svc.STAGES))
            elif key in ("name", "owner"):
                row.append(_name(rng))
            elif key == "phone":
                row.append(f"+86 138 {rng.randint(0, 9999):04d} {rng.randint(0, 9999):04d}")
            else:
                row.append(rng.choice(("", "上海某某建材有限公司", "A", "note text 备注")))
        customer_rows.append(row)
    note_rows = [
        [
            rng.randrange(customers),
            _name(rng),
            (NOW - timedelta(minutes=n)).isoformat(),
            rng.choice(("note", "call", "visit")),
            _name(rng),
            "电话：下周三带样品再去一次，客户对价格有顾虑。" * rng.randint(1, 3),
            "",
        ]
        for n in range(notes)
    ]
    return [
        export_service.Table("customers", list(export_service.CUSTOMER_COLUMNS), customer_rows),
        export_service.Table("notes", list(export_service.NOTE_COLUMNS), note_rows),
    ]


def _vcards(rng: random.Random, count: int) -> bytes:
    cards = []
    for n in range(count):
        name = _name(rng)
        cards.append(
            "BEGIN:VCARD\r\nVERSION:3.0\r\n"
            f"FN:{name}\r\nN:{name[0]};{name[1:]};;;\r\n"
            f"TEL;TYPE=CELL:+86 139 {n:04d} {rng.randint(0, 9999):04d}\r\n"
            f"EMAIL:user{n}@example.com\r\nORG:上海某某建材有限公司\r\nTITLE:采购经理\r\nEND:VCARD\r\n"
        )
    return "".join(cards).encode()


def _time(rounds: int, work: Callable[[], Any]) -> tuple[float, float]:
    work()  # warm
    times = []
    for _ in range(rounds):
        gc.collect()
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def main() -> None:
    """Time each step and print one line per step."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--notes", type=int, default=20000)
    parser.add_argument("--contacts", type=int, default=500)
    args = parser.parse_args()
    rng = random.Random(13)
    services = _services()
    digest = _digest(rng, args.reps)
    tables = _export_tables(rng, args.customers, args.notes)
    vcf = _vcards(rng, args.contacts)
    contacts = parse_vcards(vcf)
    purchases = {
        n: [(date(2025, 1, 1) + timedelta(days=rng.randint(0, 600)), Decimal(rng.randint(100, 9000)), "")]
        * rng.randint(0, 6)
        for n in range(args.customers)
    }

    def worded() -> None:
        for table in tables:
            columns = table.header
            [
                [words.stored(services, "zh", c, v) for c, v in zip(columns, row, strict=True)]
                for row in table.rows
            ]

    def report_rows() -> None:
        from bot.domain import analytics

        rhythm = analytics.rhythm_of({})
        today = NOW.date()
        for n in range(args.customers):
            facts = analytics.PurchaseFacts.of(purchases[n], today=today)
            analytics.usual_interval(facts)
            analytics.churn_risk(facts, today=today, factor=1.5)
            analytics.contact_every("A", None, rhythm)
            analytics.loyalty(facts, today=today, reference_revenue=Decimal(20000)) if facts.count else None

    steps: list[tuple[str, Callable[[], Any]]] = [
        (f"digest texts, {args.reps} members (blocks + pack)", lambda: pack(blocks(services, "zh", digest))),
        ("digest buttons", lambda: digest_keyboard(services, "zh", digest).to_dict()),
        ("digest chart (render)", lambda: chart_service.render(chart_data(services, "zh", digest))),
        (f"export: word {args.customers} customers + {args.notes} notes", worded),
        (f"export: CSV of {args.customers} customers", lambda: export_service.to_csv(tables[0])),
        (f"export: CSV of {args.notes} notes", lambda: export_service.to_csv(tables[1])),
        ("export: XLSX of both", lambda: export_service.to_xlsx(tables)),
        (f"report: figures of {args.customers} customers", report_rows),
        (f"vCard: read {args.contacts} contacts", lambda: parse_vcards(vcf)),
        (
            f"vCard: search text of {len(contacts)} new cards",
            lambda: [
                search_text(
                    name=c["name"],
                    nickname=None,
                    company=c.get("company"),
                    phone_digits=None,
                    email=c.get("email"),
                    tags=(),
                    extra_values=(),
                )
                for c in contacts
            ],
        ),
    ]
    _ = reports  # the report's own function needs a session; its per-customer rules are timed above
    print(f"{'step':<52} {'median ms':>10} {'max ms':>9}")
    for label, work in steps:
        median, worst = _time(args.rounds, work)
        print(f"{label:<52} {median:>10.1f} {worst:>9.1f}")


if __name__ == "__main__":
    main()
