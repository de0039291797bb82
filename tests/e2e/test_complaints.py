"""Closing a complaint: ✅ on its reminder, or "resolved" on the digest's list (issue 16, item 14)."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from bot.console.driver import Driver
from bot.storage.models import Note, Outcome, Task
from botapi_standin import SentMessage
from tests.conftest import FakeClock
from tests.e2e.world import LEAD, OTHER_LEAD, REP, add_customer, build_world, texts

STALE = "此内容已失效。"


async def _rows(bot: Driver, model: type, *where: object) -> list:  # type: ignore[type-arg]
    async def load(session):  # type: ignore[no-untyped-def]
        return list((await session.exec(select(model).where(*where))).all())

    return await bot.services.db(load)


def _buttons(message: SentMessage) -> list[dict[str, Any]]:
    return [b for row in (message.reply_markup or {}).get("inline_keyboard", []) for b in row]


async def _open_complaint(bot: Driver, name: str, due: str) -> int:
    """The rep takes a complaint through the playbook, still open, to be resolved by `due`."""
    cid = await add_customer(bot, REP, name)
    await bot.press(REP, "▶️ 剧本")
    replies = await bot.press(REP, "处理投诉")
    ticked = False
    for _ in range(30):
        last = replies[-1] if replies else bot.standin.messages(REP)[-1]
        body, labels = last.text or "", [b["text"] for b in _buttons(last)]
        if "最晚哪天" in body:
            replies = await bot.send(REP, due)
        elif "还在处理中" in labels:
            replies = await bot.press(REP, "还在处理中")
        elif "产品质量" in labels:
            replies = await bot.press(REP, "产品质量")
        elif any("快速、省事地解决" in label for label in labels) and not ticked:
            replies, ticked = await bot.press(REP, "快速、省事地解决"), True
        elif any("下一步" in label or "完成" in label for label in labels):
            replies = await bot.press(REP, next(b for b in labels if "下一步" in b or "完成" in b))
        else:
            replies = await bot.send(REP, "货到了两周还没装好")
        if "投诉已记下" in texts(replies):
            break
    assert "投诉已记下" in texts(replies), [m.text for m in bot.standin.messages(REP)[-3:]]
    return cid


async def _complaint(bot: Driver, cid: int) -> Outcome:
    (outcome,) = await _rows(bot, Outcome, col(Outcome.customer_id) == cid, col(Outcome.kind) == "complaint")
    return outcome  # type: ignore[no-any-return]


async def test_ticking_off_the_complaints_reminder_resolves_it_once(bot: Driver, clock: FakeClock) -> None:
    await build_world(bot)
    cid = await _open_complaint(bot, "陈静", "明天")
    (task,) = await _rows(bot, Task, col(Task.customer_id) == cid)
    complaint = await _complaint(bot, cid)
    assert task.outcome_id == complaint.id and complaint.resolved_at is None
    clock.advance(days=1)
    agenda = await bot.send(REP, "/today")
    tick = next(b for b in _buttons(agenda[-1]) if b["callback_data"] == f"td:{task.id}")
    await bot.press(REP, tick["text"])
    assert "投诉已标记为解决" in (bot.standin.callback_answers[-1].get("text") or "")
    complaint = await _complaint(bot, cid)
    assert complaint.resolved_at is not None and complaint.result == "resolved"
    assert len(await _rows(bot, Outcome, col(Outcome.customer_id) == cid)) == 1, "no second complaint"
    await bot.callback(REP, agenda[-1].message_id, f"td:{task.id}")  # a double tap
    assert bot.standin.callback_answers[-1].get("text") == STALE
    await bot.send(REP, "陈静")
    timeline = texts(await bot.press(REP, "时间线"))
    assert f"投诉已解决（{complaint.created_at.date().isoformat()} 登记的那条）" in timeline, timeline
    notes = await _rows(bot, Note, col(Note.customer_id) == cid, col(Note.kind) == "system")
    assert [n.meta.get("event") for n in notes].count("complaint_resolved") == 1


async def test_a_lead_resolves_a_complaint_from_the_digest_list(bot: Driver, clock: FakeClock) -> None:
    world = await build_world(bot)
    cid = await _open_complaint(bot, "陈静", "明天")
    clock.advance(days=3)
    await bot.send(LEAD, "/digest")
    listing = await bot.press(LEAD, "投诉（1）")
    assert "陈静" in texts(listing)
    complaint = await _complaint(bot, cid)
    forged = f"dr:{world.team}:{complaint.id}:0"
    await bot.callback(OTHER_LEAD, listing[-1].message_id, forged)
    assert bot.standin.callback_answers[-1].get("text") == STALE, "another team's lead"
    await bot.callback(OTHER_LEAD, listing[-1].message_id, f"dr:{world.other_team}:{complaint.id}:0")
    assert (await _complaint(bot, cid)).resolved_at is None, "nor through their own team's id"
    after = await bot.press(LEAD, "✅ 陈静：已解决")
    assert "陈静 的投诉已标记为解决" in (bot.standin.callback_answers[-1].get("text") or "")
    assert "空的" in texts(after), texts(after)
    complaint = await _complaint(bot, cid)
    assert complaint.resolved_at is not None
    (task,) = await _rows(bot, Task, col(Task.customer_id) == cid)
    assert task.done_at is not None, "its reminder leaves the agenda"
    await bot.callback(LEAD, listing[-1].message_id, forged)  # the button again, now stale
    assert "已经解决" in (bot.standin.callback_answers[-1].get("text") or "")
    assert (await _complaint(bot, cid)).resolved_at == complaint.resolved_at
    assert "逾期未解决的投诉</b>：0" in texts(await bot.send(LEAD, "/digest"))


async def test_in_english_the_resolved_button_and_answers_speak_english(
    bot: Driver, clock: FakeClock
) -> None:
    await build_world(bot)
    cid = await _open_complaint(bot, "Anna", "明天")
    clock.advance(days=3)
    await bot.send(LEAD, "/language")
    await bot.press(LEAD, "English")
    await bot.send(LEAD, "/digest")
    await bot.press(LEAD, "Complaints (1)")
    await bot.press(LEAD, "✅ Anna: resolved")
    assert "Anna's complaint is marked resolved" in (bot.standin.callback_answers[-1].get("text") or "")
    await bot.send(LEAD, "Anna")
    timeline = texts(await bot.press(LEAD, "Timeline"))
    assert "Complaint resolved (the one recorded" in timeline, timeline
    assert (await _complaint(bot, cid)).resolved_at is not None
