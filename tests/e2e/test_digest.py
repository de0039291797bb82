"""The lead's digest through the real bot: on demand, once a day from the outbox, in groups."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.console.driver import Driver, running_bot
from bot.scheduling.dispatcher import Dispatcher
from bot.scheduling.jobs import plan_now
from bot.storage.models import Membership, Note, OutboxMessage, Team, User
from bot.telegram.ui import MESSAGE_LIMIT
from botapi_standin import SentMessage
from tests.conftest import FakeClock
from tests.e2e.world import ADMIN, LEAD, OTHER_LEAD, REP, add_customer, build_world, texts

SECTIONS = (
    "全队",
    "每位成员",
    "当前漏斗",
    "客户异议",
    "客户关怀",
    "逾期跟进",
    "逾期未解决的投诉",
    "可能流失的客户",
    "A 类客户",
)


def _photos(messages: list[SentMessage]) -> list[SentMessage]:
    return [m for m in messages if m.kind == "photo"]


def _buttons(message: SentMessage) -> list[dict[str, Any]]:
    return [b for row in (message.reply_markup or {}).get("inline_keyboard", []) for b in row]


async def _rows(bot: Driver, *where: Any) -> list[OutboxMessage]:
    async def load(session):  # type: ignore[no-untyped-def]
        return list(
            (await session.exec(select(OutboxMessage).where(*where).order_by(col(OutboxMessage.id)))).all()
        )

    return await bot.services.db(load)


def _dispatcher(bot: Driver) -> Dispatcher:
    return Dispatcher(bot.services, bot.app.bot, per_chat=0.0)


async def _set_user(bot: Driver, uid: int, **values: Any) -> None:
    async def change(session):  # type: ignore[no-untyped-def]
        user = await session.get(User, uid)
        for key, value in values.items():
            setattr(user, key, value)
        session.add(user)

    await bot.services.db(change)


async def test_digest_on_demand_has_every_section_a_chart_and_lists(bot: Driver, clock: FakeClock) -> None:
    world = await build_world(bot)
    await add_customer(bot, REP, "张伟")
    await bot.send(REP, "张伟")
    await bot.press(REP, "记录")
    await bot.send(REP, "电话：下周三带样品再去一次。")
    await bot.send(REP, "/remind 明天 给张伟打电话")
    clock.advance(days=3)  # the note was the day before yesterday; the reminder is overdue now
    replies = await bot.send(LEAD, "/digest")
    photo = _photos(replies)
    assert len(photo) == 1 and photo[0].file_bytes and photo[0].file_bytes.startswith(b"\x89PNG")
    body = texts(replies)
    for section in SECTIONS:
        assert section in body, section
    assert "王芳" in body and "Tom" in body
    labels = [b["text"] for b in _buttons(replies[-1])]
    assert any("逾期跟进（1）" in label for label in labels), labels
    listing = await bot.press(LEAD, "逾期跟进（1）")
    assert "给张伟打电话" in texts(listing) and "逾期 2 天" in texts(listing)
    at_risk = await bot.callback(LEAD, listing[-1].message_id, f"dl:{world.team}:r:0:1")
    assert "可能流失的客户" in texts(at_risk) or "空的" in texts(at_risk)
    await bot.send(LEAD, "/digest")
    await bot.press(LEAD, "看某位成员的记录")
    day = await bot.press(LEAD, "王芳")
    assert "王芳" in texts(day)


async def test_only_leads_and_admins_get_a_digest(bot: Driver) -> None:
    world = await build_world(bot)
    assert "没有权限" in texts(await bot.send(REP, "/digest"))
    assert "没有权限" in texts(await bot.send(REP, "/report week"))
    replies = await bot.send(LEAD, "/digest")
    before = len(bot.standin.messages(OTHER_LEAD))
    for forged in (f"dl:{world.team}:o:0:0", f"dt:{world.team}:day", f"dd:{world.team}:{REP}:20261122:0"):
        await bot.callback(OTHER_LEAD, replies[-1].message_id, forged)
        assert bot.standin.callback_answers[-1].get("text") == "此内容已失效。", forged
    assert len(bot.standin.messages(OTHER_LEAD)) == before, "another team's lead sees nothing"
    admin = await bot.send(ADMIN, "/digest")
    labels = [b["text"] for b in _buttons(admin[-1])]
    assert "Alpha" in labels and "Beta" in labels, "an admin picks any team"
    picked = await bot.press(ADMIN, "Beta")
    assert _photos(picked) and "Beta" in texts(picked)


async def test_the_daily_digest_comes_once_a_day_across_a_restart(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    clock.current = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)  # 07:00 in Shanghai
    async with running_bot(engine=engine, clock=clock) as bot:
        await build_world(bot)
        await plan_now(bot.services)
        rows = await _rows(bot, col(OutboxMessage.occasion) == "digest", col(OutboxMessage.rep_id) == LEAD)
        assert [(r.day.isoformat(), r.due_at) for r in rows] == [
            ("2026-11-23", datetime(2026, 11, 23, 0, 0, tzinfo=UTC)),  # 08:00 in Shanghai
            ("2026-11-24", datetime(2026, 11, 24, 0, 0, tzinfo=UTC)),
        ]
        await _dispatcher(bot).drain()
        assert not _photos(bot.standin.messages(LEAD)), "not before 08:00"
        clock.current = datetime(2026, 11, 23, 0, 0, 5, tzinfo=UTC)
        await _dispatcher(bot).drain()
        first = _photos(bot.standin.messages(LEAD))
        assert len(first) == 1
        assert "2026-11-22 日报" in texts(bot.standin.messages(LEAD)[-3:])
    clock.advance(minutes=30)
    async with running_bot(engine=engine, clock=clock) as bot:  # a restart the same morning
        for uid, name in [(LEAD, "李娜"), (OTHER_LEAD, "Olga"), (REP, "王芳")]:
            bot.user(uid, name)
            await bot.send(uid, "/start")  # this stand-in is new: the chats are opened again
        await plan_now(bot.services)
        await plan_now(bot.services)
        await _dispatcher(bot).drain()
        assert len(_photos(bot.standin.messages(LEAD))) == 0, "nothing more after the restart"
        sent = await _rows(bot, col(OutboxMessage.occasion) == "digest", col(OutboxMessage.status) == "sent")
        assert sorted(r.rep_id for r in sent) == [LEAD, OTHER_LEAD]
        clock.current = datetime(2026, 11, 24, 0, 0, 5, tzinfo=UTC)
        await plan_now(bot.services)
        await _dispatcher(bot).drain()
        rows = await _rows(bot, col(OutboxMessage.occasion) == "digest", col(OutboxMessage.rep_id) == LEAD)
        assert [(r.day.isoformat(), r.status, r.reason) for r in rows][:2] == [
            ("2026-11-23", "sent", None),
            ("2026-11-24", "sent", None),
        ]
        assert len(_photos(bot.standin.messages(LEAD))) == 1, "the next day's"


async def test_leads_in_shanghai_and_new_york_get_it_at_their_own_eight(
    bot: Driver, clock: FakeClock
) -> None:
    await build_world(bot)
    await _set_user(bot, OTHER_LEAD, timezone="America/New_York")
    clock.current = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)  # 04:00 in Shanghai, 15:00 in New York
    await plan_now(bot.services)
    shanghai = await _rows(bot, col(OutboxMessage.occasion) == "digest", col(OutboxMessage.rep_id) == LEAD)
    new_york = await _rows(
        bot, col(OutboxMessage.occasion) == "digest", col(OutboxMessage.rep_id) == OTHER_LEAD
    )
    assert [(r.day.isoformat(), r.due_at.hour) for r in shanghai] == [("2026-11-23", 0), ("2026-11-24", 0)]
    # In New York 08:00 passed seven hours ago: today's is not sent late; tomorrow's at 08:00 EST.
    assert [(r.day.isoformat(), r.due_at) for r in new_york] == [
        ("2026-11-23", datetime(2026, 11, 23, 13, 0, tzinfo=UTC))
    ]
    clock.current = datetime(2026, 11, 23, 0, 0, 5, tzinfo=UTC)
    await _dispatcher(bot).drain()
    assert _photos(bot.standin.messages(LEAD)) and not _photos(bot.standin.messages(OTHER_LEAD))
    clock.current = datetime(2026, 11, 23, 13, 0, 5, tzinfo=UTC)
    await _dispatcher(bot).drain()
    assert _photos(bot.standin.messages(OTHER_LEAD))
    assert "2026-11-22 日报" in texts(bot.standin.messages(OTHER_LEAD)), "New York's yesterday"


async def test_the_digest_keeps_its_local_hour_across_a_clock_change(bot: Driver, clock: FakeClock) -> None:
    await build_world(bot)
    await _set_user(bot, OTHER_LEAD, timezone="America/New_York")
    clock.current = datetime(2026, 10, 31, 11, 0, tzinfo=UTC)  # 07:00 EDT; summer time ends tonight
    await plan_now(bot.services)
    rows = await _rows(bot, col(OutboxMessage.occasion) == "digest", col(OutboxMessage.rep_id) == OTHER_LEAD)
    assert [(r.day.isoformat(), r.due_at) for r in rows] == [
        ("2026-10-31", datetime(2026, 10, 31, 12, 0, tzinfo=UTC)),  # 08:00 EDT
        ("2026-11-01", datetime(2026, 11, 1, 13, 0, tzinfo=UTC)),  # 08:00 EST
    ]


async def test_an_empty_team_and_a_team_of_fifty(bot: Driver, clock: FakeClock) -> None:
    world = await build_world(bot)
    await bot.send(ADMIN, "/admin")
    await bot.press(ADMIN, "新建团队")
    await bot.send(ADMIN, "Gamma")
    await bot.send(ADMIN, "/digest")
    empty = await bot.press(ADMIN, "Gamma")
    assert _photos(empty) and "还没有成员" in texts(empty) and "共 0 位客户" in texts(empty)

    async def fifty(session):  # type: ignore[no-untyped-def]
        team = await session.get(Team, world.team)
        for n in range(50):
            uid = 50_000 + n
            session.add(
                User(telegram_id=uid, name=f"销售{n:02d} Representative with a long name, number {n}")
            )
            await session.flush()
            session.add(Membership(user_id=uid, team_id=team.id, role="rep"))
        return team.id

    await bot.services.db(fifty)
    cid = await add_customer(bot, REP, "张伟")

    async def notes(session):  # type: ignore[no-untyped-def]
        yesterday = clock.current - timedelta(days=1)
        for n in range(50):
            session.add(
                Note(
                    customer_id=cid,
                    team_id=world.team,
                    author_id=50_000 + n,
                    kind="call",
                    text="x",
                    created_at=yesterday,
                )
            )

    await bot.services.db(notes)
    replies = await bot.send(LEAD, "/digest")
    text_messages = [m for m in replies if m.kind == "text"]
    assert len(text_messages) >= 2, "split into several messages"
    for message in text_messages:
        assert len(message.plain_text.encode("utf-16-le")) // 2 <= MESSAGE_LIMIT
    body = texts(text_messages)
    assert all(f"销售{n:02d} Representative with a long name, number {n}" in body for n in range(50))
    assert all(not _buttons(m) for m in text_messages[:-1]) and _buttons(text_messages[-1])


async def test_the_digest_can_go_to_a_team_forum_topic(bot: Driver, clock: FakeClock) -> None:
    await build_world(bot)
    group = bot.standin.add_group(-1001234567890, "Alpha sales", is_forum=True)
    refused = bot.standin.text_update(REP, "/digest_here", chat_id=group.id, message_thread_id=7)
    await bot.feed(refused)
    assert "不可用" in texts(bot.standin.messages(group.id)) or "权限" in texts(
        bot.standin.messages(group.id)
    )
    await bot.feed(bot.standin.text_update(LEAD, "/digest_here", chat_id=group.id, message_thread_id=7))
    confirmation = bot.standin.messages(group.id)[-1]
    assert "Alpha" in (confirmation.text or "") and confirmation.message_thread_id == 7
    clock.current = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
    await plan_now(bot.services)
    clock.current = datetime(2026, 11, 23, 0, 0, 5, tzinfo=UTC)
    await _dispatcher(bot).drain()
    posted = [m for m in bot.standin.messages(group.id) if m.from_bot][-2:]
    assert [m.kind for m in posted] == ["photo", "text"] and all(m.message_thread_id == 7 for m in posted)
    assert [b.get("url", "") for b in _buttons(posted[-1])] == [
        "https://t.me/salesbot_console_bot?start=digest"
    ]
    assert not _photos(bot.standin.messages(LEAD)), "not privately as well"
    opened = await bot.send(LEAD, "/start digest")
    assert _photos(opened), "the group's button opens the digest privately"
    await bot.press(LEAD, "简报设置")
    back = await bot.press(LEAD, "改回私聊")
    assert "发到我们的私聊" in texts(back)


async def test_digest_settings_move_and_stop_the_planned_digest(bot: Driver, clock: FakeClock) -> None:
    await build_world(bot)
    clock.current = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)  # 04:00 in Shanghai
    await plan_now(bot.services)
    await bot.send(LEAD, "/digest")
    await bot.press(LEAD, "简报设置")
    await bot.press(LEAD, "7:00")
    rows = await _rows(bot, col(OutboxMessage.occasion) == "digest", col(OutboxMessage.rep_id) == LEAD)
    assert [r.due_at for r in rows] == [
        datetime(2026, 11, 22, 23, 0, tzinfo=UTC),
        datetime(2026, 11, 23, 23, 0, tzinfo=UTC),
    ]
    screen = await bot.press(LEAD, "不要每日简报")
    assert "现在不发每日简报" in texts(screen)
    rows = await _rows(bot, col(OutboxMessage.occasion) == "digest", col(OutboxMessage.rep_id) == LEAD)
    assert {r.status for r in rows} == {"skipped"}
    await plan_now(bot.services)
    assert (
        len(await _rows(bot, col(OutboxMessage.occasion) == "digest", col(OutboxMessage.rep_id) == LEAD)) == 2
    )
    await bot.press(LEAD, "每天发简报给我")
    rows = await _rows(bot, col(OutboxMessage.occasion) == "digest", col(OutboxMessage.rep_id) == LEAD)
    assert {r.status for r in rows} == {"planned"}


async def test_the_weekly_report_exports_members_and_customers_to_csv(bot: Driver, clock: FakeClock) -> None:
    import csv
    import io

    world = await build_world(bot)
    cid = await add_customer(bot, REP, "张伟")
    await bot.send(REP, "张伟")
    await bot.press(REP, "成交")
    await bot.send(REP, "1.5万")
    await bot.send(REP, "防水涂料")
    await bot.send(REP, "今天")
    replies = await bot.send(LEAD, "/report")
    assert "最近 7 天" in texts(replies) or any("最近 7 天" in b["text"] for b in _buttons(replies[-1]))
    report = await bot.press(LEAD, "最近 7 天")
    assert _photos(report) and "周报" in texts(report)
    files = [m for m in await bot.press(LEAD, "导出 CSV") if m.kind == "document"]
    assert len(files) == 2

    def table(message: SentMessage) -> list[list[str]]:
        assert message.file_bytes is not None
        return list(csv.reader(io.StringIO(message.file_bytes.decode("utf-8-sig"))))

    members, customers = table(files[0]), table(files[1])
    assert members[0][:3] == ["成员", "角色", "记录"]
    assert {row[0]: row[1] for row in members[1:]}["王芳"] == "销售"
    header, *rows = customers
    found = dict(zip(header, next(r for r in rows if r[0] == str(cid)), strict=True))
    assert found["客户"] == "张伟" and found["负责人"] == "王芳" and found["购买次数"] == "1"
    assert found["累计金额（¥）"] == "15000.00" and found["阶段"] == "已成交" and found["流失风险"] == ""
    assert world.team


# ---------------------------------------------------------------- issue 16, item 15


async def _english(bot: Driver, uid: int) -> None:
    await bot.send(uid, "/language")
    await bot.press(uid, "English")


async def _sale(bot: Driver, rep: int, name: str, amount: str) -> int:
    cid = await add_customer(bot, rep, name)
    await bot.send(rep, name)
    await bot.press(rep, "成交")
    await bot.send(rep, amount)
    await bot.press(rep, "跳过")
    await bot.send(rep, "今天")
    return cid


def _line(body: str, start: str) -> str:
    return next((line for line in body.splitlines() if line.startswith(start)), "")


async def test_member_lines_have_one_legend_amounts_a_currency_and_an_idle_lead_is_not_listed(
    bot: Driver, clock: FakeClock
) -> None:
    await build_world(bot)
    await _sale(bot, REP, "张伟", "1.5万")
    clock.advance(days=1)
    body = texts(await bot.send(LEAD, "/digest"))
    legend = "📝 记录 · ▶️ 剧本 · 🆕 新客户 · 🎯 阶段推进 · 💰 成交"
    assert body.count(legend) == 1, body
    assert "共 ¥15,000.00" in body and "（¥15,000.00）" in body
    assert _line(body, "💤 没有记录") == "💤 没有记录：Tom", "the lead is not a rep without records"

    await _english(bot, LEAD)
    body = texts(await bot.send(LEAD, "/digest"))
    assert body.count("📝 notes · ▶️ playbooks · 🆕 new customers · 🎯 stage moves · 💰 sales") == 1
    assert "1 sale, ¥15,000.00" in body and "(¥15,000.00)" in body
    assert _line(body, "💤 Nothing recorded") == "💤 Nothing recorded: Tom"


async def test_a_lead_with_activity_of_their_own_is_shown_with_it(bot: Driver, clock: FakeClock) -> None:
    await build_world(bot)
    await add_customer(bot, LEAD, "刘洋")
    clock.advance(days=1)
    body = texts(await bot.send(LEAD, "/digest"))
    assert "• <b>李娜</b>（组长）：" in body and "李娜" not in _line(body, "💤 没有记录")


async def test_the_currency_is_the_teams_in_the_digest_the_report_and_its_csv(
    bot: Driver, clock: FakeClock
) -> None:
    import csv
    import io

    world = await build_world(bot)
    await _sale(bot, REP, "张伟", "1.5万")
    await bot.send(LEAD, "/digest")
    await bot.press(LEAD, "简报设置")
    screen = await bot.press(LEAD, "US$")
    assert "✅ US$" in str(screen[-1].reply_markup)
    report = texts(await bot.send(LEAD, "/report week"))
    assert "US$15,000.00" in report and "¥" not in report
    files = [m for m in await bot.press(LEAD, "导出 CSV") if m.kind == "document"]
    assert files[0].file_bytes is not None and files[1].file_bytes is not None
    members = list(csv.reader(io.StringIO(files[0].file_bytes.decode("utf-8-sig"))))
    customers = list(csv.reader(io.StringIO(files[1].file_bytes.decode("utf-8-sig"))))
    assert "成交金额（US$）" in members[0] and "累计金额（US$）" in customers[0]
    await _english(bot, LEAD)
    await bot.send(LEAD, "/report week")
    files = [m for m in await bot.press(LEAD, "CSV export") if m.kind == "document"]
    assert files[0].file_bytes is not None
    assert "Amount (US$)" in files[0].file_bytes.decode("utf-8-sig").splitlines()[0]
    assert world.team


async def _objections_yesterday(bot: Driver, team: int, cid: int, clock: FakeClock) -> None:
    from bot.storage.models import Outcome

    async def add(session):  # type: ignore[no-untyped-def]
        at = clock.current - timedelta(days=1)
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
                    created_at=at,
                )
            )

    await bot.services.db(add)


async def test_the_digest_and_stats_give_a_method_the_same_figures(bot: Driver, clock: FakeClock) -> None:
    world = await build_world(bot)
    cid = await add_customer(bot, REP, "张伟")
    await _objections_yesterday(bot, world.team, cid, clock)
    digest = texts(await bot.send(LEAD, "/digest"))
    stats = texts(await bot.send(LEAD, "/stats"))
    assert "• 价格：嫌贵、比价：3 次" in digest, digest
    method = "转折法：先认同再转"
    assert f"{method}：2 次中成功 2 次" in stats
    assert f"最管用的是<b>{method}</b>（2 次中成功 2 次）" in digest, digest
    await _english(bot, LEAD)
    digest = texts(await bot.send(LEAD, "/digest"))
    stats = texts(await bot.send(LEAD, "/stats"))
    found = re.search(r"won most with <b>([^<]+)</b> \((won \d+ of \d+)\)", digest)
    assert found is not None, digest
    assert f"{found.group(1)}: {found.group(2)}" in stats and found.group(2) == "won 2 of 2"


async def test_the_chart_title_names_the_days_its_axis_shows(bot: Driver, clock: FakeClock) -> None:
    from bot.telegram import digest as handlers

    world = await build_world(bot)
    for kind, days in (("day", 14), ("week", 7), ("month", 30)):
        digest = await handlers.build(bot.services, team_id=world.team, kind=kind, reader=LEAD)
        data = handlers.chart_data(bot.services, "zh", digest)
        first, last = digest.activity[0][0], digest.activity[-1][0]
        assert len(data.days) == days and data.days[0][0] == first.strftime("%m-%d"), kind
        assert data.title == f"Alpha · {first.isoformat()} – {last.isoformat()}", (kind, data.title)
    replies = await bot.send(LEAD, "/report week")
    caption = _photos(replies)[0].caption or ""
    assert "2026-11-17 – 2026-11-23" in caption and "每日活动" in caption, caption
