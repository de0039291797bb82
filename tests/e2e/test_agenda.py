"""Reminders, /today and the morning agenda through the real bot."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import col, select

from bot.console.driver import Driver
from bot.domain.dates import When, split_reminder
from bot.scheduling.dispatcher import Dispatcher
from bot.scheduling.jobs import plan_now
from bot.storage.models import Customer, OutboxMessage, Task
from tests.e2e.world import LEAD, REP, REP2, add_customer, build_world, texts

TODAY = date(2026, 11, 23)  # a Monday


@pytest.mark.parametrize(
    ("typed", "day", "what"),
    [
        ("明天给张伟打电话", date(2026, 11, 24), "给张伟打电话"),
        ("3天后 送样品", date(2026, 11, 26), "送样品"),
        ("周五寄合同", date(2026, 11, 27), "寄合同"),
        ("tomorrow call Anna", date(2026, 11, 24), "call Anna"),
        ("in 3 days send the quote", date(2026, 11, 26), "send the quote"),
        ("5月17日 回访", date(2027, 5, 17), "回访"),
    ],
)
def test_a_reminder_reads_its_date_first(typed: str, day: date, what: str) -> None:
    assert split_reminder(typed, today=TODAY) == (When(day), what)


def test_text_without_a_date_is_not_a_reminder() -> None:
    assert split_reminder("给张伟打电话", today=TODAY) is None
    assert split_reminder("明天", today=TODAY) is None  # a date and nothing to do


async def _rows(bot: Driver, model: type, *where: object) -> list:  # type: ignore[type-arg]
    async def load(session):  # type: ignore[no-untyped-def]
        return list((await session.exec(select(model).where(*where))).all())

    return await bot.services.db(load)


async def test_reminders_from_a_command_a_form_and_a_card_land_on_today(bot: Driver, clock) -> None:  # type: ignore[no-untyped-def]
    await build_world(bot)
    cid = await add_customer(bot, REP, "张伟")
    replies = await bot.send(REP, "/remind 明天给张伟打电话")
    assert "2026-11-24" in texts(replies) and "给张伟打电话" in texts(replies)
    await bot.send(REP, "/remind")
    replies = await bot.send(REP, "昨天")
    assert "已经过去" in texts(replies), "a date in the past is refused, with what was typed"
    await bot.send(REP, "今天")
    replies = await bot.send(REP, "整理报价单")
    assert "2026-11-23" in texts(replies)
    await bot.send(REP, "张伟")
    await bot.press(REP, "⏰ 提醒")
    replies = await bot.send(REP, "今天")
    assert "张伟" in texts(replies)
    await bot.send(REP, "送样品")
    tasks = await _rows(bot, Task, col(Task.owner_id) == REP)
    assert sorted((t.due_on.isoformat(), t.text, t.customer_id) for t in tasks) == [
        ("2026-11-23", "整理报价单", None),
        ("2026-11-23", "送样品", cid),
        ("2026-11-24", "给张伟打电话", cid),  # it names 张伟, one of the rep's customers (issue 16, item 8)
    ]
    replies = await bot.send(REP, "/today")
    agenda = texts(replies)
    assert "今天要跟进" in agenda and "整理报价单" in agenda and "<b>张伟</b>：送样品" in agenda
    replies = await bot.press(REP, "✅ 整理报价单")
    assert "整理报价单" not in texts(replies) and "送样品" in texts(replies)
    clock.advance(days=2)
    replies = await bot.send(REP, "/today")
    assert "已逾期" in texts(replies) and "给张伟打电话" in texts(replies)
    # Another rep cannot tick someone else's reminder off.
    task = next(t for t in tasks if t.text == "送样品")
    message = replies[-1]
    await bot.callback(REP2, message.message_id, f"td:{task.id}")
    assert (await _rows(bot, Task, col(Task.id) == task.id))[0].done_at is None


async def test_the_morning_agenda_arrives_once_with_birthdays_and_customers_behind_rhythm(
    bot: Driver,
    clock,  # type: ignore[no-untyped-def]
) -> None:
    await build_world(bot)
    cid = await add_customer(bot, REP, "张伟")
    other = await add_customer(bot, REP, "刘洋")
    now = bot.services.now()

    async def shape(session):  # type: ignore[no-untyped-def]
        zhang = await session.get(Customer, cid)
        zhang.birthday_month, zhang.birthday_day = 11, 24  # birthday tomorrow (local)
        zhang.grade, zhang.last_contact_at = "B", now - timedelta(days=40)
        liu = await session.get(Customer, other)
        liu.grade, liu.last_contact_at = "A", now - timedelta(days=3)  # within its 14 days
        session.add_all([zhang, liu])

    await bot.services.db(shape)
    clock.current = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)  # 07:00 in Shanghai on the 24th
    await plan_now(bot.services)
    row = (await _rows(bot, OutboxMessage, col(OutboxMessage.key) == f"agenda:{REP}:2026-11-24"))[0]
    assert row.due_at == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)  # 08:00 local
    dispatcher = Dispatcher(bot.services, bot.app.bot, per_chat=0.0)
    before = len(bot.standin.messages(REP))
    await dispatcher.drain()
    assert len(bot.standin.messages(REP)) == before, "not before 08:00"
    clock.current = datetime(2026, 11, 24, 0, 0, 5, tzinfo=UTC)
    await dispatcher.drain()
    agenda = texts(bot.standin.messages(REP)[before:])
    assert "今天生日" in agenda and "张伟" in agenda
    assert "该联系了" in agenda and "40 天没联系" in agenda and "刘洋" not in agenda
    await plan_now(bot.services)
    await dispatcher.drain()
    assert len(bot.standin.messages(REP)) == before + 1, "once a day"
    # A member with nothing to do gets no message.
    quiet = (await _rows(bot, OutboxMessage, col(OutboxMessage.key) == f"agenda:{REP2}:2026-11-24"))[0]
    assert (quiet.status, quiet.reason) == ("skipped", "nothing_to_do")


async def _english(bot: Driver, user: int) -> None:
    await bot.send(user, "/language")
    assert "Language: English" in texts(await bot.press(user, "English"))


async def test_a_reminder_keeps_its_time_of_day_out_of_its_text(bot: Driver, clock) -> None:  # type: ignore[no-untyped-def]
    await build_world(bot)
    replies = await bot.send(REP, "/remind 下周二上午给张伟打电话")
    assert "2026-12-01 上午" in texts(replies) and "上午给张伟" not in texts(replies)
    await bot.send(REP, "/remind")
    await bot.send(REP, "月底下午3点")
    await bot.send(REP, "交报价单")
    await _english(bot, REP2)
    replies = await bot.send(REP2, "/remind next tuesday morning call Anna")
    assert "2026-12-01 morning" in texts(replies) and "morning call" not in texts(replies)
    tasks = await _rows(bot, Task, col(Task.owner_id).in_([REP, REP2]))
    assert sorted((t.owner_id, t.due_on.isoformat(), t.time_of_day, t.text) for t in tasks) == [
        (REP, "2026-11-30", "15:00", "交报价单"),
        (REP, "2026-12-01", "morning", "给张伟打电话"),
        (REP2, "2026-12-01", "morning", "call Anna"),
    ]
    clock.advance(days=8)  # Tuesday 1 December
    agenda = texts(await bot.send(REP, "/today"))
    assert "2026-11-30 15:00 交报价单" in agenda and "上午 给张伟打电话" in agenda
    assert "morning call Anna" in texts(await bot.send(REP2, "/today"))


async def test_a_reminder_naming_a_customer_is_linked_to_the_card(bot: Driver, clock) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(bot)
    liu = await add_customer(bot, REP, "刘洋")
    await add_customer(bot, REP2, "王强")  # REP2's customer: not REP's to link
    replies = await bot.send(REP, "/remind 明天给刘洋打电话")
    assert "刘洋" in texts(replies) and any(
        b.get("callback_data", "").startswith(f"cv:{liu}:")
        for row in (replies[-1].reply_markup or {}).get("inline_keyboard", [])
        for b in row
    ), "the reply opens the card"
    await bot.send(REP, "/remind 明天给王强打电话")
    await bot.send(REP, "/remind")  # the form links too
    await bot.send(REP, "后天")
    await bot.send(REP, "去刘洋那里送样品")
    await bot.send(LEAD, "/remind 明天问问刘洋的报价")  # a lead: the team's customers
    tasks = await _rows(bot, Task, col(Task.team_id) == world.team)
    assert sorted((t.owner_id, t.text, t.customer_id) for t in tasks) == [
        (LEAD, "问问刘洋的报价", liu),
        (REP, "去刘洋那里送样品", liu),
        (REP, "给刘洋打电话", liu),
        (REP, "给王强打电话", None),
    ]
    await bot.send(REP, "刘洋")
    card = texts(await bot.press(REP, "历史"))
    assert "2026-11-24 — 给刘洋打电话" in card and "2026-11-25 — 去刘洋那里送样品" in card
    clock.advance(days=1)
    await bot.send(REP, "/today")
    replies = await bot.press(REP, "📇 刘洋")
    assert "📇 <b>刘洋</b>" in texts(replies), "the agenda line's button opens the card"


async def test_a_name_shared_by_two_customers_is_asked_and_the_text_waits(bot: Driver) -> None:
    world = await build_world(bot)
    first = await add_customer(bot, REP, "刘洋", "13800001111")
    second = await add_customer(bot, REP, "刘洋", "13900002222")
    replies = await bot.send(REP, "/remind 明天给刘洋打电话")
    assert "哪一位" in texts(replies) and "给刘洋打电话" in texts(replies)
    assert not await _rows(bot, Task, col(Task.team_id) == world.team), "nothing saved before the answer"
    replies = await bot.press(REP, "刘洋 · 2222")
    assert "2026-11-24" in texts(replies)
    await bot.send(REP, "/remind 周五拜访刘洋")
    await bot.press(REP, "不关联客户")
    await bot.send(REP, "/remind 后天约刘洋吃饭")
    replies = await bot.send(REP, "随便")
    assert "随便" in texts(replies) and "哪一位" in texts(replies), (
        "a typed answer that fits no one: asked again"
    )
    await bot.send(REP, "1")
    await bot.send(REP, "/remind 下周一给刘洋寄合同")
    replies = await bot.send(REP, "/cancel")
    assert "给刘洋寄合同" in texts(replies), "cancelled, but what was typed is shown back"
    tasks = await _rows(bot, Task, col(Task.team_id) == world.team)
    assert sorted((t.due_on.isoformat(), t.text, t.customer_id) for t in tasks) == [
        ("2026-11-24", "给刘洋打电话", second),
        ("2026-11-25", "约刘洋吃饭", first),
        ("2026-11-27", "拜访刘洋", None),
    ]


async def test_an_english_reminder_is_linked_and_asks_in_english(bot: Driver) -> None:
    await build_world(bot)
    anna = await add_customer(bot, REP2, "Anna Li")
    await add_customer(bot, REP2, "Bob", "13800001111")
    await add_customer(bot, REP2, "Bob", "13900002222")
    await _english(bot, REP2)
    await bot.send(REP2, "/remind tomorrow call anna li")
    replies = await bot.send(REP2, "/remind friday visit Bob")
    assert "Which" in texts(replies) and "visit Bob" in texts(replies)
    await bot.press(REP2, "No customer")
    tasks = await _rows(bot, Task, col(Task.owner_id) == REP2)
    assert sorted((t.text, t.customer_id) for t in tasks) == [("call anna li", anna), ("visit Bob", None)]
