"""Playbooks through the real Application: a run on a customer, interrupted, resumed, finished."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.console.driver import Driver, running_bot
from bot.storage.models import Customer, Note, Outcome, PlaybookRun, Task
from tests.conftest import FakeClock
from tests.e2e.world import (
    ADMIN,
    LEAD,
    OTHER_LEAD,
    OTHER_REP,
    REP,
    REP2,
    add_customer,
    build_world,
    texts,
)


async def _rows(bot: Driver, model: type, *where: object) -> list:  # type: ignore[type-arg]
    async def load(session):  # type: ignore[no-untyped-def]
        return list((await session.exec(select(model).where(*where))).all())

    return await bot.services.db(load)


async def _score_qualify_to_willingness(bot: Driver) -> None:
    await bot.press(REP, "合作伙伴推荐")
    await bot.press(REP, "下一步")
    for score in ("5", "5", "5", "4", "3"):
        replies = await bot.press(REP, score)
    assert "意愿" in texts(replies)


async def test_a_rep_qualifies_a_customer_and_the_card_shows_it(bot: Driver) -> None:
    await build_world(bot)
    cid = await add_customer(bot, REP, "陈静")
    replies = await bot.press(REP, "▶️ 剧本")
    assert "⭐ 评估新客户" in str(replies[-1].reply_markup), "the playbook that fits the stage comes first"
    replies = await bot.press(REP, "评估新客户")
    assert "陈静是从哪里来的" in texts(replies) and "第 1 步" in texts(replies)
    await _score_qualify_to_willingness(bot)
    await bot.press(REP, "用过同类产品")
    replies = await bot.press(REP, "完成")
    assert "值得记下" in texts(replies)
    replies = await bot.send(REP, "他说下个月预算批下来")
    done = texts(replies)
    assert "已完成" in done and "准备接近" in done and "2026-11-25" in done

    replies = await bot.press(REP, "打开资料卡")
    card = texts(replies)
    assert "准备接近" in card and "⭐ A" in card and "客户转介绍" in card
    customer = (await _rows(bot, Customer, col(Customer.id) == cid))[0]
    assert (customer.q_need, customer.q_authority, customer.grade_manual) == (5, 3, False)  # a suggestion
    tasks = await _rows(bot, Task, col(Task.customer_id) == cid)
    assert [(t.due_on.isoformat(), t.source, t.owner_id) for t in tasks] == [("2026-11-25", "playbook", REP)]
    assert "陈静" in tasks[0].text
    notes = await _rows(bot, Note, col(Note.customer_id) == cid, col(Note.kind) == "playbook")
    assert len(notes) == 1 and "需求度：5/5" in notes[0].text and "他说下个月预算批下来" in notes[0].text
    runs = await _rows(bot, PlaybookRun, col(PlaybookRun.customer_id) == cid)
    assert [(r.status, r.outcome) for r in runs] == [("done", "qualified")]


async def test_a_run_resumes_after_a_restart_with_its_answers(engine: AsyncEngine, clock: FakeClock) -> None:
    async with running_bot(engine=engine, clock=clock) as bot:
        await build_world(bot)
        cid = await add_customer(bot, REP, "陈静")
        await bot.press(REP, "▶️ 剧本")
        await bot.press(REP, "评估新客户")
        await bot.press(REP, "合作伙伴推荐")
        await bot.press(REP, "下一步")
        await bot.press(REP, "4")
        replies = await bot.press(REP, "2")
        assert "第 5 步" in texts(replies) and "购买力" in texts(replies)
    async with running_bot(engine=engine, clock=clock) as bot:
        bot.user(REP, "王芳")
        replies = await bot.send(REP, "/start")
        assert "第 5 步" in texts(replies) and "购买力" in texts(replies)
        replies = await bot.send(REP, "5")  # typed, as the waiting step's answer
        assert "信誉度" in texts(replies)
        await bot.press(REP, "5")
        await bot.press(REP, "5")
        await bot.press(REP, "完成")
        replies = await bot.press(REP, "跳过")
        assert "已完成" in texts(replies)
        notes = await _rows(bot, Note, col(Note.customer_id) == cid, col(Note.kind) == "playbook")
        assert "需求度：4/5" in notes[0].text and "需求量：2/5" in notes[0].text


async def test_play_lists_runs_left_open_and_a_card_offers_to_continue(bot: Driver) -> None:
    await build_world(bot)
    await add_customer(bot, REP, "陈静")
    await bot.press(REP, "▶️ 剧本")
    await bot.press(REP, "评估新客户")
    await bot.press(REP, "合作伙伴推荐")
    replies = await bot.press(REP, "暂停")
    assert "已暂停" in texts(replies)
    await bot.send(REP, "就这样")  # not taken as an answer: the run is paused
    replies = await bot.send(REP, "/play")
    assert "进行中的剧本" in texts(replies)
    replies = await bot.press(REP, "评估新客户 · 陈静")
    assert "第 2 步" in texts(replies)
    await bot.press(REP, "结束")
    replies = await bot.press(REP, "确定结束")
    assert "资料卡没有改动" in texts(replies)
    replies = await bot.send(REP, "/play")
    assert "没有进行中的剧本" in texts(replies)


async def test_stale_double_taps_and_other_peoples_buttons_are_refused(bot: Driver) -> None:
    await build_world(bot)
    cid = await add_customer(bot, REP, "陈静")
    await bot.press(REP, "▶️ 剧本")
    replies = await bot.press(REP, "评估新客户")
    step_one = replies[-1]
    first = step_one.reply_markup["inline_keyboard"][6][0]["callback_data"]  # type: ignore[index]
    await bot.press(REP, "合作伙伴推荐")
    # The first step's button again (a double tap on a message the bot has moved past).
    await bot.callback(REP, step_one.message_id, first)
    assert "失效" in str(bot.standin.callback_answers[-1].get("text"))
    run = (await _rows(bot, PlaybookRun, col(PlaybookRun.customer_id) == cid))[0]
    assert run.state["answers"] == {"source": "referral"}
    # Another rep of the team, and a rep of another team, pressing the same run's button.
    for intruder in (REP2, OTHER_REP):
        await bot.callback(intruder, step_one.message_id, f"pb:{cid}:{run.id}:{run.seq}:n:")
        assert "失效" in str(bot.standin.callback_answers[-1].get("text"))
    run_after = (await _rows(bot, PlaybookRun, col(PlaybookRun.customer_id) == cid))[0]
    assert run_after.seq == run.seq and run_after.state == run.state


async def test_objection_methods_that_won_in_the_team_come_first_and_stats_show_them(bot: Driver) -> None:
    world = await build_world(bot)
    cid = await add_customer(bot, REP, "陈静")

    async def history(session):  # type: ignore[no-untyped-def]
        for result in ("resolved", "resolved", "lost"):
            session.add(
                Outcome(
                    team_id=world.team,
                    customer_id=cid,
                    user_id=REP2,
                    playbook="objection",
                    kind="objection",
                    type="price",
                    method="compensate",
                    result=result,
                )
            )

    await bot.services.db(history)
    await bot.press(REP, "▶️ 剧本")
    replies = await bot.press(REP, "处理异议")
    for _ in range(12):  # through the opening tips and the customer's words to the type
        markup = str(replies[-1].reply_markup)
        if "价格" in markup:
            break
        if "下一步" in markup:
            replies = await bot.press(REP, "下一步")
        else:
            replies = await bot.send(REP, "太贵了，别家便宜两成")
    replies = await bot.press(REP, "价格")
    for _ in range(4):
        first = replies[-1].reply_markup["inline_keyboard"][0][0]["text"]  # type: ignore[index]
        if "🏆" in first:
            break
        replies = await bot.press(REP, "下一步")
    assert "🏆 2/3" in first, first
    replies = await bot.send(LEAD, "/stats")
    stats = texts(replies)
    assert "以优补劣" in stats and "3 次中成功 2 次" in stats and "👤 Tom" in stats
    replies = await bot.send(REP, "/stats")
    assert "你的成绩" in texts(replies) and "以优补劣" not in texts(replies), "a rep sees only their own"
    await bot.send(ADMIN, "/stats")
    replies = await bot.press(ADMIN, "Alpha")
    assert "3 次中成功 2 次" in texts(replies)
    message = replies[-1]
    await bot.callback(OTHER_LEAD, message.message_id, f"sx:{world.team}")
    assert "失效" in str(bot.standin.callback_answers[-1].get("text")), "another team's lead is refused"


HINTS = {
    "点选一个回答": "choice",
    "勾选所有符合的": "checklist",
    "请输入你的回答": "text",
    "请输入一个数字": "number",
    "请输入日期": "date",
    "点 1（低）到 5（高）": "scale",
}
TYPED = {"text": "客户说要再比较一下", "number": "12000", "date": "3天后"}


async def _run_through(bot: Driver, rep: int, replies: list) -> str:  # type: ignore[type-arg]
    """Answer every step the plain way (first choice, one tick, 5, typed answers) to the end."""
    for _ in range(80):
        message = replies[-1]
        text = message.text or ""
        if "已完成" in text:
            return text
        labels = [b["text"] for row in (message.reply_markup or {}).get("inline_keyboard", []) for b in row]
        kind = next((k for hint, k in HINTS.items() if hint in text), "tip")
        if kind == "tip":
            replies = await bot.press(rep, "下一步")
        elif kind == "choice":
            replies = await bot.press(rep, 1 + ("📋 复制话术" in labels))
        elif kind == "checklist":
            await bot.press(rep, 1)
            replies = await bot.press(rep, "✅ 完成")
        elif kind == "scale":
            replies = await bot.press(rep, "5")
        else:
            replies = await bot.send(rep, TYPED[kind])
    raise AssertionError(f"no end after 80 steps: {replies[-1].text}")


async def test_each_playbook_runs_to_its_end_and_the_card_gets_its_actions(bot: Driver) -> None:
    from bot.playbooks import engine
    from bot.playbooks.engine import FieldChange, OutcomeRecord, Reminder, RunState, StageChange

    await build_world(bot)
    for playbook in bot.services.playbooks.values():
        cid = await add_customer(bot, REP, f"客户{playbook.id}")
        await bot.press(REP, "▶️ 剧本")
        replies = await bot.press(REP, playbook.title.zh)
        done = await _run_through(bot, REP, replies)
        assert "资料卡已更新" in done, done
        run = (await _rows(bot, PlaybookRun, col(PlaybookRun.customer_id) == cid))[0]
        assert run.status == "done"
        actions = engine.actions(playbook, RunState.from_json(run.state), today=bot.services.today())
        customer = (await _rows(bot, Customer, col(Customer.id) == cid))[0]
        stages = [a.stage for a in actions if isinstance(a, StageChange)]
        if stages:
            assert customer.stage == stages[-1], playbook.id
        for change in (a for a in actions if isinstance(a, FieldChange)):
            stored = getattr(customer, change.key, None)
            stored = stored if stored is not None else customer.extra.get(change.key)
            assert stored not in (None, ""), (playbook.id, change)
        tasks = await _rows(bot, Task, col(Task.customer_id) == cid)
        assert len(tasks) == sum(isinstance(a, Reminder) for a in actions), playbook.id
        outcomes = await _rows(bot, Outcome, col(Outcome.customer_id) == cid)
        assert len(outcomes) == sum(isinstance(a, OutcomeRecord) for a in actions), playbook.id
        notes = await _rows(bot, Note, col(Note.customer_id) == cid, col(Note.kind) == "playbook")
        assert len(notes) == 1 and playbook.title.zh in notes[0].text
        assert any(isinstance(a, StageChange) for a in actions) and tasks, f"{playbook.id}: plain path"


async def test_one_run_per_rep_and_customer_and_forgotten_runs_are_closed(bot: Driver) -> None:
    from datetime import timedelta

    from bot.services import playbooks as playbook_service

    await build_world(bot)
    cid = await add_customer(bot, REP, "陈静")
    await bot.press(REP, "▶️ 剧本")
    await bot.press(REP, "评估新客户")
    await bot.press(REP, "合作伙伴推荐")
    replies = await bot.send(REP, "陈静")  # on a tip, typing is not an answer: Next is
    assert "请点一个按钮" in texts(replies) and "第 2 步" in texts(replies)
    await bot.press(REP, "暂停")
    await bot.press(REP, "打开资料卡")
    replies = await bot.press(REP, "▶️ 剧本")
    assert "继续：评估新客户" in str(replies[-1].reply_markup)
    replies = await bot.press(REP, "处理异议")
    assert "第 1 步" in texts(replies)
    runs = await _rows(bot, PlaybookRun, col(PlaybookRun.customer_id) == cid)
    assert sorted((r.playbook, r.status) for r in runs) == [("objection", "active"), ("qualify", "abandoned")]
    later = bot.services.now() + timedelta(days=15)
    closed = await bot.services.db(lambda s: playbook_service.tidy_runs(s, now=later))
    assert closed == 1
    replies = await bot.send(REP, "/play")
    assert "没有进行中的剧本" in texts(replies)
