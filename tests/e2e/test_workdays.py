"""Reminders a playbook computes skip the team's days off; a lead sets which days those are."""

from __future__ import annotations

from datetime import date

from sqlmodel import col, select

from bot.console.driver import Driver
from bot.domain.workdays import WorkWeek, next_working_day
from bot.playbooks import engine
from bot.playbooks.engine import Reminder, RunState
from bot.storage.models import PlaybookRun, Task, Team
from tests.e2e.test_playbooks import _run_through
from tests.e2e.world import LEAD, REP, add_customer, build_world, texts

THURSDAY = date(2026, 11, 26)  # "in 3 days" is a Sunday


async def _rows(bot: Driver, model: type, *where: object) -> list:  # type: ignore[type-arg]
    async def load(session):  # type: ignore[no-untyped-def]
        return list((await session.exec(select(model).where(*where))).all())

    return await bot.services.db(load)


async def _run_every_playbook(bot: Driver, week: WorkWeek) -> int:
    """Run each playbook the plain way; check where its reminders landed; count those moved."""
    moved = 0
    for playbook in bot.services.playbooks.values():
        cid = await add_customer(bot, REP, f"客户{playbook.id}{week.value}")
        await bot.press(REP, "▶️ 剧本")
        done = await _run_through(bot, REP, await bot.press(REP, playbook.title.zh))
        run = (await _rows(bot, PlaybookRun, col(PlaybookRun.customer_id) == cid))[0]
        actions = engine.actions(playbook, RunState.from_json(run.state), today=THURSDAY)
        wanted = sorted(
            a.due if a.typed else next_working_day(a.due, week) for a in actions if isinstance(a, Reminder)
        )
        tasks = await _rows(bot, Task, col(Task.customer_id) == cid)
        assert sorted(t.due_on for t in tasks) == wanted, playbook.id
        for day in wanted:
            assert day.isoformat() in done, "the finished run says the date the reminder is on"
        moved += sum(isinstance(a, Reminder) and not a.typed and a.due.weekday() >= 5 for a in actions)
    return moved


async def test_playbook_reminders_skip_the_weekend_but_typed_dates_stay(bot: Driver, clock) -> None:  # type: ignore[no-untyped-def]
    await build_world(bot)
    clock.advance(days=3)
    assert bot.services.today() == THURSDAY
    moved = await _run_every_playbook(bot, WorkWeek.OFFICIAL)
    assert moved > 0, "some computed reminders fell on a weekend and were moved"
    tasks = await _rows(bot, Task, col(Task.owner_id) == REP, col(Task.source) == "playbook")
    # The only dates typed in these runs are 3天后, a Sunday: no reminder is on a Saturday.
    assert [t.due_on for t in tasks if t.due_on.weekday() == 5] == []
    sundays = [t for t in tasks if t.due_on == date(2026, 11, 29)]
    assert sundays, "3天后 typed at a date step stays on Sunday"


async def test_a_lead_sets_the_work_days_in_care_rules(bot: Driver, clock) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(bot)
    clock.advance(days=3)
    rules = texts(await bot.send(LEAD, "/care"))
    assert "工作日" in rules
    replies = await bot.press(LEAD, "每天")
    assert "✅ 每天" in str(replies[-1].reply_markup)
    team = (await _rows(bot, Team, col(Team.id) == world.team))[0]
    assert team.settings["workdays"] == "every_day"
    assert await _run_every_playbook(bot, WorkWeek.EVERY_DAY) > 0
    await bot.send(LEAD, "/language")
    await bot.press(LEAD, "English")
    rules = texts(await bot.send(LEAD, "/care"))
    assert "Work days" in rules
    replies = await bot.press(LEAD, "Mon–Sat")
    assert "✅ Mon–Sat" in str(replies[-1].reply_markup)
    team = (await _rows(bot, Team, col(Team.id) == world.team))[0]
    assert team.settings["workdays"] == "mon_sat"
