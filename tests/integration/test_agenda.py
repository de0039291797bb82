"""A rep's morning agenda, their reminders and ticking them off, on a real database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.domain.access import Actor, Role
from bot.domain.errors import InvalidInput, NotAllowed, NotFound
from bot.services import agenda as svc
from bot.services.agenda import Agenda, Draft
from bot.storage.db import make_session_factory, transaction
from bot.storage.models import Customer, Membership, Note, Outcome, Purchase, Task, Team, User

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday, 10:00 in Shanghai
TODAY = date(2026, 11, 23)  # the 15th of the tenth lunar month
LEAD, AMY, BOB, LONER = 500, 501, 502, 503


def ago(days: int) -> datetime:
    return NOW - timedelta(days=days)


@dataclass(frozen=True)
class World:
    """Team T in Shanghai: a lead, Amy and Bob, their customers (by name) and Amy's tasks (by text)."""

    team: int
    customers: dict[str, int]
    tasks: dict[str, int]

    def actor(self, user_id: int) -> Actor:
        return Actor(user_id, Role.LEAD if user_id == LEAD else Role.REP, self.team)


async def _build(engine: AsyncEngine, **settings: Any) -> World:
    async with transaction(make_session_factory(engine)) as session:
        team = Team(name="T", timezone="Asia/Shanghai", settings=settings)
        session.add(team)
        for uid, name in [(LEAD, "Lead"), (AMY, "Amy"), (BOB, "Bob"), (LONER, "Loner")]:
            session.add(User(telegram_id=uid, name=name))
        await session.flush()
        assert team.id is not None
        team_id = team.id
        for uid, role in [(LEAD, "lead"), (AMY, "rep"), (BOB, "rep")]:
            session.add(Membership(user_id=uid, team_id=team_id, role=role))
        customers: dict[str, Customer] = {}

        def customer(name: str, owner: int, **fields: Any) -> None:
            values: dict[str, Any] = {"created_at": ago(400), "last_contact_at": ago(1), **fields}
            customers[name] = Customer(
                team_id=team_id, owner_id=owner, name=name, optin_code=f"code-{name}", **values
            )

        customer("Lin", AMY, birthday_month=11, birthday_day=23)
        customer("Yue", AMY, birthday_month=10, birthday_day=15, birthday_lunar=True)
        customer("Old", AMY, birthday_month=11, birthday_day=23, archived_at=ago(5), last_contact_at=ago(300))
        customer("Gao", AMY, grade="A", last_contact_at=ago(20), birthday_month=11, birthday_day=26)
        customer("Hu", AMY, grade="B", last_contact_at=ago(45))
        customer("Ke", AMY, grade="C", last_contact_at=ago(100))
        customer("Jin", AMY, stage="lost", last_contact_at=ago(200))
        customer("Ma", AMY, grade="A", contact_every_days=5, last_contact_at=ago(3))
        customer("Qi", BOB, grade="A", last_contact_at=ago(60), birthday_month=11, birthday_day=23)
        session.add_all(customers.values())
        await session.flush()
        ids = {name: row.id for name, row in customers.items() if row.id is not None}
        for day, items in [(date(2026, 3, 1), "tea set"), (date(2026, 9, 1), "green tea")]:
            session.add(
                Purchase(
                    customer_id=ids["Hu"], team_id=team_id, purchased_on=day, amount=Decimal(50), items=items
                )
            )
        tasks: dict[str, Task] = {}

        def task(text: str, owner: int, due: date, when: str | None = None, **fields: Any) -> None:
            tasks[text] = Task(
                team_id=team_id, owner_id=owner, due_on=due, time_of_day=when, text=text, **fields
            )

        task("call Lin at two", AMY, TODAY, "14:00", customer_id=ids["Lin"])
        task("send the quote", AMY, TODAY, "morning", customer_id=ids["Gao"])
        task("prepare samples", AMY, TODAY)
        task("dinner with Hu", AMY, TODAY, "evening", customer_id=ids["Hu"])
        task("chase the invoice", AMY, TODAY - timedelta(days=1), customer_id=ids["Ke"])
        task("call back", AMY, TODAY - timedelta(days=3))
        task("visit next week", AMY, TODAY + timedelta(days=1))
        task("already done", AMY, TODAY, done_at=ago(0))
        task("Bob's follow-up", BOB, TODAY, customer_id=ids["Qi"])
        session.add_all(tasks.values())
        await session.flush()
        return World(team_id, ids, {text: row.id for text, row in tasks.items() if row.id is not None})


async def _agenda(engine: AsyncEngine, world: World, rep: int, today: date = TODAY) -> Agenda:
    async with transaction(make_session_factory(engine)) as session:
        return await svc.agenda(session, rep_id=rep, team_id=world.team, today=today, now=NOW)


def _listed(rows: list[tuple[Task, str | None]]) -> list[tuple[str, str | None]]:
    return [(task.text, name) for task, name in rows]


async def test_a_reps_morning_holds_todays_follow_ups_in_time_order_then_the_overdue(
    engine: AsyncEngine,
) -> None:
    world = await _build(engine)
    found = await _agenda(engine, world, AMY)
    assert _listed(found.due) == [
        ("prepare samples", None),  # no time of day: first
        ("send the quote", "Gao"),  # morning
        ("call Lin at two", "Lin"),  # 14:00
        ("dinner with Hu", "Hu"),  # evening
    ]
    assert _listed(found.overdue) == [("call back", None), ("chase the invoice", "Ke")]  # oldest first
    assert found.overdue_total == 2
    assert not found.empty


async def test_todays_birthdays_solar_and_lunar_of_the_reps_own_customers(engine: AsyncEngine) -> None:
    world = await _build(engine)
    found = await _agenda(engine, world, AMY)
    assert sorted(found.birthdays) == sorted(
        [(world.customers["Lin"], "Lin"), (world.customers["Yue"], "Yue")]
    )
    tomorrow = await _agenda(engine, world, AMY, TODAY + timedelta(days=1))
    assert tomorrow.birthdays == []


async def test_customers_behind_their_contact_rhythm_most_overdue_first_with_a_reason(
    engine: AsyncEngine,
) -> None:
    world = await _build(engine)
    found = await _agenda(engine, world, AMY)
    behind = [(b.name, b.days, b.every, b.reason, b.detail) for b in found.behind]
    assert behind == [
        ("Hu", 45, 30, "after_purchase", "green tea"),  # half a rhythm over
        ("Gao", 20, 14, "birthday_soon", "2026-11-26"),  # 6 days over 14
        ("Ke", 100, 90, "check_in", ""),  # 10 days over 90
    ]  # not Jin (lost), not Ma (own rhythm of 5 days, 3 days ago), not the archived card
    assert found.behind_total == 3


async def test_nothing_of_another_rep_is_on_the_agenda(engine: AsyncEngine) -> None:
    world = await _build(engine)
    amy = await _agenda(engine, world, AMY)
    shown = {name for _, name in amy.due + amy.overdue} | {name for _, name in amy.birthdays}
    assert "Qi" not in shown | {b.name for b in amy.behind}
    assert "Bob's follow-up" not in {task.text for task, _ in amy.due}
    bob = await _agenda(engine, world, BOB)
    assert _listed(bob.due) == [("Bob's follow-up", "Qi")]
    assert (bob.overdue, bob.birthdays) == ([], [(world.customers["Qi"], "Qi")])
    assert [b.name for b in bob.behind] == ["Qi"]
    nobody = await _agenda(engine, world, LEAD)
    assert nobody.empty


async def test_a_long_backlog_shows_the_first_ten_and_counts_the_rest(engine: AsyncEngine) -> None:
    world = await _build(engine)
    async with transaction(make_session_factory(engine)) as session:
        session.add_all(
            Task(team_id=world.team, owner_id=AMY, due_on=TODAY - timedelta(days=20 + n), text=f"late {n}")
            for n in range(12)
        )
    found = await _agenda(engine, world, AMY)
    assert found.overdue_total == 14
    assert len(found.overdue) == svc.LIST_MAX
    assert found.overdue[0][0].text == "late 11"  # the oldest


async def _place(engine: AsyncEngine, actor: Actor, draft: Draft, *, link: bool = True) -> svc.Placed:
    async with transaction(make_session_factory(engine)) as session:
        return await svc.place_reminder(session, actor, draft, today=TODAY, now=NOW, link=link)


async def _task_count(engine: AsyncEngine) -> int:
    async with transaction(make_session_factory(engine)) as session:
        return len((await session.exec(select(Task))).all())


async def test_a_reminder_is_linked_to_the_customer_its_text_names(engine: AsyncEngine) -> None:
    world = await _build(engine)
    amy = world.actor(AMY)
    tomorrow = TODAY + timedelta(days=1)
    placed = await _place(engine, amy, Draft(tomorrow, "  call Gao about the quote ", "afternoon"))
    assert placed.task is not None and placed.customer is not None
    assert placed.customer.name == "Gao"
    assert (placed.task.owner_id, placed.task.customer_id) == (AMY, world.customers["Gao"])
    assert (placed.task.text, placed.task.time_of_day) == ("call Gao about the quote", "afternoon")
    later = await _agenda(engine, world, AMY, tomorrow)
    assert ("call Gao about the quote", "Gao") in _listed(later.due)
    # Bob's customer is not Amy's to link; the lead may link any card of the team.
    theirs = await _place(engine, amy, Draft(tomorrow, "ask Qi for a referral"))
    assert theirs.task is not None and theirs.task.customer_id is None
    lead = await _place(engine, world.actor(LEAD), Draft(tomorrow, "ask Qi for a referral"))
    assert lead.task is not None and lead.task.customer_id == world.customers["Qi"]


async def test_a_reminder_naming_two_customers_waits_for_the_rep_to_choose(engine: AsyncEngine) -> None:
    world = await _build(engine)
    amy = world.actor(AMY)
    before = await _task_count(engine)
    draft = Draft(TODAY, "visit Hu and Ke")
    ask = await _place(engine, amy, draft)
    assert ask.task is None
    assert [c.name for c in ask.candidates] == ["Hu", "Ke"]
    assert await _task_count(engine) == before  # nothing saved yet
    chosen = await _place(engine, amy, Draft(TODAY, "visit Hu and Ke", customer_id=world.customers["Ke"]))
    assert chosen.task is not None and chosen.task.customer_id == world.customers["Ke"]
    neither = await _place(engine, amy, draft, link=False)
    assert neither.task is not None and neither.task.customer_id is None
    assert await _task_count(engine) == before + 2


async def test_a_reminder_that_cannot_be_saved_says_why(engine: AsyncEngine) -> None:
    world = await _build(engine)
    amy = world.actor(AMY)
    before = await _task_count(engine)
    for draft, key in [
        (Draft(TODAY - timedelta(days=1), "too late"), "remind.past"),
        (Draft(TODAY, "   "), "error.empty"),
        (Draft(TODAY, "x" * (svc.TASK_TEXT_MAX + 1)), "error.too_long"),
        (Draft(TODAY, "at an odd hour", "25:00"), "error.date"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            await _place(engine, amy, draft)
        assert refused.value.key == key
    with pytest.raises(NotAllowed):  # Bob's card, chosen by hand
        await _place(engine, amy, Draft(TODAY, "hello", customer_id=world.customers["Qi"]))
    with pytest.raises(InvalidInput) as teamless:
        async with transaction(make_session_factory(engine)) as session:
            await svc.add_reminder(
                session, Actor(LONER, Role.STRANGER), due_on=TODAY, text="hello", today=TODAY, now=NOW
            )
    assert teamless.value.key == "error.need_team"
    assert await _task_count(engine) == before


async def _finish(engine: AsyncEngine, actor: Actor, task_id: int) -> Task:
    async with transaction(make_session_factory(engine)) as session:
        return await svc.finish_task(session, actor, task_id, now=NOW)


async def test_only_the_owner_ticks_a_follow_up_off_and_only_once(engine: AsyncEngine) -> None:
    world = await _build(engine)
    quote = world.tasks["send the quote"]
    for other in (world.actor(BOB), world.actor(LEAD)):
        with pytest.raises(NotAllowed):
            await _finish(engine, other, quote)
    assert "send the quote" in {task.text for task, _ in (await _agenda(engine, world, AMY)).due}
    done = await _finish(engine, world.actor(AMY), quote)
    assert done.done_at == NOW
    assert "send the quote" not in {task.text for task, _ in (await _agenda(engine, world, AMY)).due}
    with pytest.raises(NotFound):  # a second tap
        await _finish(engine, world.actor(AMY), quote)
    with pytest.raises(NotFound):
        await _finish(engine, world.actor(AMY), 999_999)


async def _complaint_with_reminder(engine: AsyncEngine, world: World) -> tuple[int, int]:
    """An open complaint about Gao, due today, and Amy's reminder to settle it."""
    async with transaction(make_session_factory(engine)) as session:
        complaint = Outcome(
            team_id=world.team,
            customer_id=world.customers["Gao"],
            user_id=AMY,
            playbook="complaint",
            kind="complaint",
            due_on=TODAY,
            created_at=ago(2),
        )
        session.add(complaint)
        await session.flush()
        reminder = Task(
            team_id=world.team,
            owner_id=AMY,
            customer_id=world.customers["Gao"],
            due_on=TODAY,
            text="settle Gao's complaint",
            source="playbook",
            outcome_id=complaint.id,
        )
        session.add(reminder)
        await session.flush()
        assert complaint.id is not None and reminder.id is not None
        return complaint.id, reminder.id


async def test_ticking_off_a_complaints_reminder_resolves_the_complaint(engine: AsyncEngine) -> None:
    world = await _build(engine)
    complaint_id, reminder_id = await _complaint_with_reminder(engine, world)
    await _finish(engine, world.actor(AMY), reminder_id)
    async with transaction(make_session_factory(engine)) as session:
        closed = await session.get(Outcome, complaint_id)
        notes = (
            await session.exec(select(Note).where(col(Note.customer_id) == world.customers["Gao"]))
        ).all()
    assert closed is not None and closed.resolved_at == NOW
    assert [n.meta.get("event") for n in notes] == ["complaint_resolved"]


async def test_a_complaints_reminder_on_a_card_taken_out_of_use_is_ticked_off_alone(
    engine: AsyncEngine,
) -> None:
    world = await _build(engine)
    complaint_id, reminder_id = await _complaint_with_reminder(engine, world)
    async with transaction(make_session_factory(engine)) as session:
        gao = await session.get(Customer, world.customers["Gao"])
        assert gao is not None
        gao.archived_at = NOW
        session.add(gao)
    done = await _finish(engine, world.actor(AMY), reminder_id)
    async with transaction(make_session_factory(engine)) as session:
        kept = await session.get(Outcome, complaint_id)
    assert done.done_at == NOW
    assert kept is not None and kept.resolved_at is None  # the archived card's history is not rewritten


@pytest.mark.parametrize(
    ("week", "day", "expected"),
    [
        (None, date(2026, 11, 28), date(2026, 11, 30)),  # a Saturday: the Monday after
        (None, date(2026, 10, 1), date(2026, 10, 8)),  # National Day: after the Golden Week
        (None, date(2026, 9, 20), date(2026, 9, 20)),  # a Sunday worked in exchange (调休)
        (None, date(2026, 11, 25), date(2026, 11, 25)),  # a Wednesday stays
        ("mon_sat", date(2026, 11, 28), date(2026, 11, 28)),
        ("mon_sat", date(2026, 11, 29), date(2026, 11, 30)),
        ("every_day", date(2026, 10, 1), date(2026, 10, 1)),
    ],
)
async def test_a_computed_date_moves_off_the_teams_days_off(
    engine: AsyncEngine, week: str | None, day: date, expected: date
) -> None:
    world = await _build(engine, **({"workdays": week} if week else {}))
    async with transaction(make_session_factory(engine)) as session:
        assert await svc.working_day(session, world.team, day) == expected
