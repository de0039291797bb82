"""A `salesbot dispatch` worker sends exactly what the bot sends.

One outbox row of every occasion (a birthday, a festival, a follow-up, a rep's own
message, a message handed to the rep for a customer not on Telegram, a review prompt,
a rep's morning agenda and a lead's digest with its chart) is sent once by the bot's
own dispatcher, in process, and every request the stand-in got is recorded. The rows
are then put back as they were and a real `salesbot dispatch --once` process sends
them again to the same stand-in. Request by request, both must be the same: method,
chat, text, parse mode, buttons, caption; only message ids and the chart's bytes may
differ.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, update
from sqlmodel import col, select

from bot.app import CONSOLE_TOKEN
from bot.console.driver import Driver
from bot.domain.care import Occasion
from bot.scheduling import outbox
from bot.scheduling.dispatcher import Dispatcher
from bot.scheduling.jobs import plan_now, renderer
from bot.services import digest as digest_service
from bot.storage.models import Customer, Note, OutboxMessage, Outcome, Team
from botapi_standin import RequestRecord
from tests.conftest import FakeClock
from tests.e2e.world import LEAD, OTHER_REP, REP, REP2, build_world, texts

CHATS = {"birthday": 20, "festival": 21, "followup": 22, "one_off": 23, "review": 24}
NOT_SENT = {"getMe", "getUpdates", "deleteWebhook", "setMyCommands", "getFile"}


async def _customer(bot: Driver, team: int, owner: int, name: str, chat: int | None) -> int:
    async def add(session):  # type: ignore[no-untyped-def]
        customer = Customer(
            team_id=team,
            owner_id=owner,
            name=name,
            optin_code=f"wk{chat or name}",
            optin_state="in" if chat else "none",
            telegram_chat_id=chat,
        )
        session.add(customer)
        await session.flush()
        return customer.id

    if chat is not None:
        bot.standin.add_user(chat, name, started=True)
    cid: int = await bot.services.db(add)
    return cid


async def _objections_yesterday(bot: Driver, team: int, cid: int, clock: FakeClock) -> None:
    """Objections answered yesterday: the digest names their types and methods from the playbooks."""

    async def add(session):  # type: ignore[no-untyped-def]
        for method, result in [("yes_but", "won"), ("boomerang", "lost"), ("yes_but", "won")]:
            session.add(
                Outcome(
                    team_id=team,
                    customer_id=cid,
                    user_id=REP,
                    playbook="objection",
                    kind="objection",
                    type="price",
                    method=method,
                    result=result,
                    created_at=clock() - timedelta(days=1),
                )
            )

    await bot.services.db(add)


async def _world(bot: Driver, clock: FakeClock) -> list[int]:
    """Everyone through the bot; one outbox row of every occasion, due now; their ids."""
    world = await build_world(bot)
    # The worker reads the system clock: the bot's is set to it, so both see the same day.
    clock.current = datetime.now(UTC)
    replies = await bot.send(REP, "/remind 今天给张伟打电话，确认 <b>报价</b> & 样品")
    assert "给张伟打电话" in texts(replies), texts(replies)  # the rep's agenda is not empty

    async def review_mode(session):  # type: ignore[no-untyped-def]
        team = await session.get(Team, world.other_team)
        team.settings = {**team.settings, "care": {"review": True}}
        session.add(team)

    await bot.services.db(review_mode)
    rep = "王芳"
    customers = {
        "birthday": await _customer(bot, world.team, REP, "张伟", CHATS["birthday"]),
        "festival": await _customer(bot, world.team, REP, "陈静", CHATS["festival"]),
        "followup": await _customer(bot, world.team, REP, "周 <Bo> & Co", CHATS["followup"]),
        "one_off": await _customer(bot, world.team, REP, "吴磊", CHATS["one_off"]),
        "via_rep": await _customer(bot, world.team, REP2, "刘洋 & <李>", None),
        "review": await _customer(bot, world.other_team, OTHER_REP, "赵敏", CHATS["review"]),
    }
    await _objections_yesterday(bot, world.team, customers["birthday"], clock)
    # What the planner makes on its own (festivals, agendas, digests for everyone) is put
    # aside first, so that the worker's own planning pass finds every key taken.
    await plan_now(bot.services)

    async def aside(session):  # type: ignore[no-untyped-def]
        await session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.status).in_(("planned", "review")))
            .values(status="skipped", reason="not in this test")
        )

    await bot.services.db(aside)
    render = renderer(bot.services)
    base = {"rep": rep, "company": "Alpha"}
    now = clock()
    today = bot.services.today()
    specs: list[dict[str, Any]] = [
        dict(
            occasion="birthday",
            customer="birthday",
            text=render("zh", Occasion.BIRTHDAY, {**base, "name": "张伟"}),
        ),
        dict(
            occasion="mid_autumn",
            customer="festival",
            text=render("zh", Occasion.MID_AUTUMN, {**base, "name": "陈静"}),
        ),
        dict(
            occasion="followup_3",
            customer="followup",
            text=render(
                "zh", Occasion.FOLLOWUP_3, {**base, "name": "周 <Bo> & Co", "items": "防水涂料 <50> 桶"}
            ),
        ),
        dict(occasion="one_off", customer="one_off", text="吴总，明天 <b>10 点</b> 到 & 带样品。"),
        dict(
            occasion="followup_30",
            customer="via_rep",
            rep=REP2,
            channel="via_rep",
            chat=REP2,
            text=render("zh", Occasion.FOLLOWUP_30, {**base, "name": "刘洋 & <李>", "items": "<A> & B"}),
        ),
        dict(
            occasion="birthday",
            customer="review",
            team=world.other_team,
            rep=OTHER_REP,
            status="review",
            text=render("zh", Occasion.BIRTHDAY, {"rep": "Oscar", "company": "Beta", "name": "赵敏"}),
        ),
        dict(occasion=outbox.AGENDA, customer=None, chat=REP, text=""),
        dict(occasion=digest_service.DIGEST, customer=None, rep=LEAD, chat=LEAD, text=""),
    ]
    rows = []
    for i, spec in enumerate(specs):
        customer = spec["customer"]
        rows.append(
            outbox.new_row(
                key=f"worker-test:{i}",  # not a planner key: its pass leaves these rows alone
                team_id=spec.get("team", world.team),
                customer_id=customers[customer] if customer else None,
                rep_id=spec.get("rep", REP),
                occasion=spec["occasion"],
                day=today,
                channel=spec.get("channel", "telegram"),
                chat_id=spec.get("chat", CHATS.get(customer or "")),
                language="zh",
                text=spec["text"],
                due_at=now - timedelta(minutes=10) + timedelta(seconds=i),
                now=now,
                status=spec.get("status", "planned"),
            )
        )
    await bot.services.db(lambda s: outbox.insert_new(s, rows))

    async def ids(session):  # type: ignore[no-untyped-def]
        found = await session.exec(
            select(OutboxMessage.id).where(col(OutboxMessage.key).like("worker-test:%"))
        )
        return sorted(found.all())

    return list(await bot.services.db(ids))


async def _state(bot: Driver, ids: list[int]) -> list[tuple[Any, ...]]:
    async def load(session):  # type: ignore[no-untyped-def]
        rows = await session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(ids)))
        return sorted((r.id, r.occasion, r.status, r.reason) for r in rows.all())

    return list(await bot.services.db(load))


def _sent(requests: list[RequestRecord]) -> list[dict[str, Any]]:
    """What each request asked Telegram to show, with what must differ taken out."""
    shown = []
    for record in requests:
        if record.method in NOT_SENT:
            continue
        params = dict(record.params)
        if "photo" in params:
            params["photo"] = "<a photo>"  # uploaded again: its bytes and file id are new
        shown.append({"method": record.method, "status": record.status, **params})
    return shown


async def _worker(bot: Driver, database_url: str, log: Path) -> int:
    env = {
        **os.environ,
        "BOT_TOKEN": CONSOLE_TOKEN,
        "DATABASE_URL": database_url,
        "TELEGRAM_API_BASE_URL": bot.standin.base_url,
        "TELEGRAM_FILE_BASE_URL": bot.standin.base_file_url,
        "SALESBOT_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-c", "from bot.cli import main; main()", "dispatch", "--once"]
    with log.open("ab") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    for _ in range(60 * 20):
        code = process.poll()
        if code is not None:
            return code
        await asyncio.sleep(0.05)
    process.kill()
    raise AssertionError("the worker did not finish in time")


async def _clear_of_midnight(zone: ZoneInfo, margin: timedelta = timedelta(seconds=90)) -> None:
    """Wait, if need be, until local midnight in `zone` is not within `margin` ahead."""
    now = datetime.now(zone)
    midnight = datetime.combine(now.date() + timedelta(days=1), time(), zone)
    if midnight - now < margin:
        await asyncio.sleep((midnight - now).total_seconds() + 1)


async def test_a_dispatch_worker_sends_exactly_what_the_bot_sends(
    bot: Driver, clock: FakeClock, database_url: str, tmp_path: Path
) -> None:
    ids = await _world(bot, clock)

    async def last_note(session):  # type: ignore[no-untyped-def]
        return (await session.exec(select(func.max(Note.id)))).one() or 0

    notes_before = await bot.services.db(last_note)
    # The worker runs on the real clock: the bot's pass and the worker's must see the same
    # day where the team is, or their agendas differ by a date (a run just before midnight).
    await _clear_of_midnight(ZoneInfo(bot.services.settings.default_timezone))
    start = len(bot.standin.requests)
    clock.current = datetime.now(UTC)
    assert await Dispatcher(bot.services, bot.app.bot, per_chat=0.0).drain() == len(ids)
    by_bot = _sent(bot.standin.requests[start:])
    after_bot = await _state(bot, ids)
    assert [s[2] for s in after_bot] == ["sent"] * 4 + ["handed", "review", "sent", "sent"], after_bot

    # Every row back as it was (and the notes its sending wrote gone), for the worker.
    async def reset(session):  # type: ignore[no-untyped-def]
        for status in ("planned", "review"):
            await session.exec(
                update(OutboxMessage)
                .where(col(OutboxMessage.id).in_(ids))
                .where(
                    col(OutboxMessage.status).in_(("review",) if status == "review" else ("sent", "handed"))
                )
                .values(
                    status=status,
                    message_id=None,
                    claimed_by=None,
                    lease_until=None,
                    sent_at=None,
                    reason=None,
                    attempts=0,
                )
            )
        await session.exec(delete(Note).where(col(Note.id) > notes_before))

    await bot.services.db(reset)
    start = len(bot.standin.requests)
    log = tmp_path / "worker.log"
    assert await _worker(bot, database_url, log) == 0, log.read_text(errors="replace")
    by_worker = _sent(bot.standin.requests[start:])
    assert await _state(bot, ids) == after_bot, "the worker left every row as the bot did"

    assert len(by_worker) == len(by_bot), ([r["method"] for r in by_bot], [r["method"] for r in by_worker])
    for mine, theirs in zip(by_bot, by_worker, strict=True):
        assert theirs == mine
    methods = sorted(r["method"] for r in by_bot)
    assert methods.count("sendPhoto") == 1, methods
    charts = [m for m in bot.standin.messages(LEAD) if m.kind == "photo"]
    assert len(charts) == 2 and all(c.file_bytes and c.file_bytes.startswith(b"\x89PNG") for c in charts)
    formatted = [r for r in by_bot if r.get("parse_mode") == "HTML"]
    assert any("<b>" in str(r.get("text", "")) for r in formatted), "agenda and prompts go as HTML"
    digest = next(r["text"] for r in by_bot if r.get("chat_id") == LEAD and r["method"] == "sendMessage")
    assert "价格：嫌贵、比价：3 次" in digest and "转折法：先认同再转" in digest, "labels from the playbooks"
    plain = [r for r in by_bot if r.get("chat_id") in CHATS.values() and r["method"] == "sendMessage"]
    assert len(plain) == 4 and all(r.get("parse_mode") is None for r in plain), "customers get plain text"
