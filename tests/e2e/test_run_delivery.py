"""`salesbot run`'s wiring: people's updates side by side, each stored before it is confirmed.

Real `salesbot run` processes poll the stand-in, as in test_kill_mid_form. Overlap is
proven with a request the stand-in holds (the bot is still handling that update), never
with timing.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.storage.models import Customer, FlowState, ReceivedUpdate, Task
from tests.e2e.test_kill_mid_form import (
    TOKEN,
    _company,
    _rows,
    _telegram,
    caught,
    clean,
    kill_nine,
    salesbot_run,
)
from tests.e2e.world import LEAD, REP

BOT_ID = int(TOKEN.split(":", 1)[0])


async def test_a_lead_whose_update_is_held_up_keeps_no_rep_waiting(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    await _company(engine, "刘洋")
    log = tmp_path / "bot.log"
    async with _telegram() as phone:
        phone.standin.add_user(LEAD, "李娜")
        async with salesbot_run(phone.standin, database_url, log):
            await phone.send(REP, "/start", expect="菜单")
            held = phone.standin.hold("sendMessage", chat_id=LEAD)
            since = len(phone.seen)
            phone.standin.enqueue(phone.standin.text_update(LEAD, "/menu"))
            await caught(held)  # the lead's update is being handled, and stays so
            await phone.send(REP, "刘洋", expect="📇")
            assert phone.said(LEAD, since=since) == "", "the lead's answer was held"
            held.release()
            await phone.reply(LEAD, "菜单", since=since)
    clean(log)


async def test_a_kill_mid_update_is_made_good_once_while_a_later_finished_one_stays_done(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    await _company(engine)
    log = tmp_path / "bot.log"
    async with _telegram() as phone:
        phone.standin.add_user(LEAD, "李娜")
        async with salesbot_run(phone.standin, database_url, log) as first:
            await phone.send(REP, "/new", expect="客户怎么称呼")
            await phone.send(REP, "张伟", expect="电话号码")
            await phone.send(REP, "13800138001", expect="所在公司")
            # The rep taps Skip; the bot's answer to the tap is on its way, nothing applied yet.
            held = phone.standin.hold("answerCallbackQuery")
            since = len(phone.seen)
            phone.standin.enqueue(phone.tap(REP, "跳过"))
            await caught(held)
            # Meanwhile the lead's later update is handled to the end (and the tap's batch
            # confirmed to Telegram, which will not deliver it again).
            await phone.send(LEAD, "/remind 明天给供应商打电话", expect="提醒你")
            await kill_nine(first)
        async with salesbot_run(phone.standin, database_url, log):
            # Nobody taps again: the stored tap is handled by the new process.
            said = await phone.reply(REP, "从哪里来", since=since)
            assert said.count("从哪里来") == 1, said
            card = await phone.press(REP, "跳过", expect="客户已添加")
            await phone.send(LEAD, "/start", expect="菜单")
    assert "张伟" in card and "+86 138 0013 8001" in card, card
    added = await _rows(engine, Customer, col(Customer.name) == "张伟")
    assert [(c.phone, c.company) for c in added] == [("+86 138 0013 8001", None)]
    assert [t.text for t in await _rows(engine, Task, col(Task.owner_id) == LEAD)] == ["给供应商打电话"]
    assert phone.said(LEAD, since=since).count("提醒你") == 1, "the lead's update was not handled again"
    clean(log)


async def test_stored_updates_nobody_handled_are_handled_in_order_at_start(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    await _company(engine)
    log = tmp_path / "bot.log"
    async with _telegram() as phone:
        # Stored and confirmed to Telegram by a process that died before handling any of them.
        updates = [phone.standin.text_update(REP, text) for text in ("/new", "张伟", "13800138001")]
        async with async_sessionmaker(engine, class_=AsyncSession)() as session:
            for update in reversed(updates):
                session.add(ReceivedUpdate(bot_id=BOT_ID, update_id=update["update_id"], payload=update))
            await session.commit()
        since = len(phone.seen)
        async with salesbot_run(phone.standin, database_url, log):
            said = await phone.reply(REP, "所在公司", since=since)
            asked = [said.index(question) for question in ("客户怎么称呼", "电话号码", "所在公司")]
            assert asked == sorted(asked), said
            await phone.send(REP, "华东建材", expect="从哪里来")
            await phone.press(REP, "跳过", expect="客户已添加")
    added = await _rows(engine, Customer, col(Customer.name) == "张伟")
    assert [(c.phone, c.company) for c in added] == [("+86 138 0013 8001", "华东建材")]
    assert await _rows(engine, FlowState, col(FlowState.user_id) == REP) == []
    clean(log)
