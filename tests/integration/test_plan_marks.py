"""Every write to what the care planner reads leaves a mark, in the same transaction; other writes don't."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.access import Actor, Role
from bot.scheduling import outbox
from bot.services import customers
from bot.storage import plan_marks
from bot.storage.db import make_session_factory, transaction, upgrade
from bot.storage.models import Customer, Membership, OutboxMessage, PlanMark, Purchase, Team, User

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
LEAD, REP, OTHER = 400, 401, 402


async def _world(engine: AsyncEngine) -> dict[str, int]:
    """A team with a lead and a rep, a customer with a purchase, a waiting greeting, an agenda."""
    async with transaction(make_session_factory(engine)) as session:
        team = Team(
            name="Marks", settings={"care": {"weekly_cap": 2}, "digest": {"off": []}, "currency": "CNY"}
        )
        session.add(team)
        session.add_all([User(telegram_id=LEAD, name="Lead"), User(telegram_id=REP, name="Rep")])
        session.add(User(telegram_id=OTHER, name="Other"))
        await session.flush()
        assert team.id is not None
        session.add_all(
            [
                Membership(user_id=LEAD, team_id=team.id, role="lead"),
                Membership(user_id=REP, team_id=team.id, role="rep"),
            ]
        )
        lin = Customer(team_id=team.id, owner_id=REP, name="Lin", optin_code="marks-lin")
        session.add(lin)
        await session.flush()
        assert lin.id is not None
        purchase = Purchase(
            customer_id=lin.id,
            team_id=team.id,
            purchased_on=date(2026, 11, 20),
            amount=Decimal(5),
            items="tea",
        )
        session.add(purchase)
        rows = [
            outbox.new_row(
                key=key,
                team_id=team.id,
                customer_id=customer,
                rep_id=REP,
                occasion=occasion,
                day=date(2026, 11, 25),
                channel="telegram",
                chat_id=REP,
                language="zh",
                text="",
                due_at=NOW,
                now=NOW,
                status=status,
            )
            for key, customer, occasion, status in (
                (f"{lin.id}:birthday:2026-11-25", lin.id, "birthday", "planned"),
                (f"{lin.id}:followup_3:2026-11-23", lin.id, "followup_3", "claimed"),
                (f"agenda:{REP}:2026-11-25", None, outbox.AGENDA, "planned"),
            )
        ]
        await outbox.insert_new(session, rows)
        await session.flush()
        assert purchase.id is not None
        ids = {"team": team.id, "lin": lin.id, "purchase": purchase.id}
        for key, name in (
            (rows[0]["key"], "greeting"),
            (rows[1]["key"], "claimed"),
            (rows[2]["key"], "agenda"),
        ):
            ids[name] = (
                await session.exec(select(OutboxMessage.id).where(col(OutboxMessage.key) == key))
            ).one()
        await session.exec(delete(PlanMark))
    return ids


Change = Callable[[AsyncSession, dict[str, int]], Awaitable[Any]]


async def _set(session: AsyncSession, model: Any, key: int, **values: Any) -> None:
    row = await session.get(model, key)
    for name, value in values.items():
        setattr(row, name, value)
    session.add(row)


def _customer(**values: Any) -> Change:
    return lambda s, ids: _set(s, Customer, ids["lin"], **values)


def _team_settings(**values: Any) -> Change:
    async def change(session: AsyncSession, ids: dict[str, int]) -> None:
        team = await session.get(Team, ids["team"])
        assert team is not None
        team.settings = {**team.settings, **values}
        session.add(team)

    return change


async def _note(session: AsyncSession, ids: dict[str, int]) -> None:
    await customers.add_note(
        session, Actor(REP, Role.REP, ids["team"]), ids["lin"], text="called", now=NOW, kind="call"
    )


async def _new_customer(session: AsyncSession, ids: dict[str, int]) -> None:
    actor = Actor(REP, Role.REP, ids["team"])
    await customers.create_customer(session, actor, values={"name": "Wu"}, now=NOW)


async def _new_purchase(session: AsyncSession, ids: dict[str, int]) -> None:
    actor = Actor(REP, Role.REP, ids["team"])
    await customers.add_purchase(
        session,
        actor,
        ids["lin"],
        amount=Decimal(9),
        items="cups",
        purchased_on=date(2026, 11, 22),
        now=NOW,
        note_text="cups",
    )


async def _one_off(session: AsyncSession, ids: dict[str, int]) -> None:
    row = outbox.new_row(
        key=f"{ids['lin']}:one_off:2026-11-26:f1",
        team_id=ids["team"],
        customer_id=ids["lin"],
        rep_id=REP,
        occasion=outbox.ONE_OFF,
        day=date(2026, 11, 26),
        channel="via_rep",
        chat_id=REP,
        language="zh",
        text="hi",
        due_at=NOW,
        now=NOW,
    )
    await outbox.insert_new(session, [row])


async def _planned_row(session: AsyncSession, ids: dict[str, int]) -> None:
    row = outbox.new_row(
        key=f"{ids['lin']}:birthday:2026-11-27",
        team_id=ids["team"],
        customer_id=ids["lin"],
        rep_id=REP,
        occasion="birthday",
        day=date(2026, 11, 27),
        channel="via_rep",
        chat_id=REP,
        language="zh",
        text="hi",
        due_at=NOW,
        now=NOW,
    )
    await outbox.insert_new(session, [row])


async def _join(session: AsyncSession, ids: dict[str, int]) -> None:
    session.add(Membership(user_id=OTHER, team_id=ids["team"], role="rep"))


async def _leave(session: AsyncSession, ids: dict[str, int]) -> None:
    await session.exec(
        update(Membership).where(col(Membership.user_id) == REP).values(active=False, left_at=NOW)
    )


def _statement(sql: str) -> Change:
    return lambda s, ids: s.exec(text(sql.format(**ids)))  # type: ignore[call-overload]


CUSTOMER, TEAM, MEMBERS = "customer", "team", "members"
INPUT_VALUES: dict[str, Any] = {
    "owner_id": LEAD,
    "archived_at": NOW,
    "optin_state": "in",
    "telegram_chat_id": 9001,
    "timezone": "Europe/London",
    "birthday_year": 1990,
    "birthday_month": 11,
    "birthday_day": 27,
    "birthday_lunar": True,
    "birthday_leap": True,
    "grade": "A",
}
assert set(INPUT_VALUES) | {"team_id"} == set(plan_marks.CUSTOMER_INPUTS)  # team_id: below

CASES: list[tuple[str, Change, set[tuple[str, str | None]]]] = [
    *[
        (f"customer {name}", _customer(**{name: value}), {(CUSTOMER, "lin")})
        for name, value in INPUT_VALUES.items()
    ],
    ("a card added", _new_customer, {(CUSTOMER, "new")}),
    ("a purchase recorded (the grade follows)", _new_purchase, {(CUSTOMER, "lin")}),
    (
        "a purchase's day corrected",
        _statement("UPDATE purchases SET purchased_on = '2026-11-19' WHERE id = {purchase}"),
        {(CUSTOMER, "lin")},
    ),
    ("a purchase removed", _statement("DELETE FROM purchases WHERE id = {purchase}"), {(CUSTOMER, "lin")}),
    ("care rules", _team_settings(care={"weekly_cap": 3}), {(TEAM, None)}),
    ("team timezone", lambda s, ids: _set(s, Team, ids["team"], timezone="Asia/Tokyo"), {(TEAM, None)}),
    ("digest settings", _team_settings(digest={"off": [LEAD]}), {(MEMBERS, None)}),
    ("a member joins", _join, {(MEMBERS, None)}),
    ("a member leaves", _leave, {(MEMBERS, None)}),
    (
        "a member's timezone",
        lambda s, ids: _set(s, User, REP, timezone="America/New_York"),
        {(MEMBERS, None)},
    ),
    (
        "greetings handed over (removed)",
        _statement("DELETE FROM outbox WHERE id = {greeting}"),
        {(CUSTOMER, "lin")},
    ),
    ("an agenda removed", _statement("DELETE FROM outbox WHERE id = {agenda}"), {(MEMBERS, None)}),
    (
        "a lease ran out",
        _statement("UPDATE outbox SET status = 'planned' WHERE id = {claimed}"),
        {(CUSTOMER, "lin")},
    ),
    ("a rep's own message", _one_off, {(CUSTOMER, "lin")}),
    # What the planner does not read (or only writes into a new row's text) leaves no mark.
    (
        "customer name, nickname, language, stage, extra",
        _customer(name="Lina", nickname="L", language="en", stage="won", extra={"hobby": "tea"}),
        set(),
    ),
    ("a note (the card's contact time)", _note, set()),
    ("other team settings", _team_settings(currency="USD", workdays="mon_fri"), set()),
    ("a member's name and language", lambda s, ids: _set(s, User, REP, name="Rep2", language="en"), set()),
    (
        "a row sent or skipped",
        _statement("UPDATE outbox SET status = 'skipped' WHERE id = {greeting}"),
        set(),
    ),
    ("a row the planner adds", _planned_row, set()),
    (
        "a value written again unchanged",
        _statement("UPDATE customers SET grade = grade, timezone = timezone"),
        set(),
    ),
]


@pytest.mark.parametrize(
    ("change", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
async def test_a_change_leaves_the_mark_the_planner_needs(
    engine: AsyncEngine, change: Change, expected: set[tuple[str, str | None]]
) -> None:
    ids = await _world(engine)
    async with transaction(make_session_factory(engine)) as session:
        await change(session, ids)
    async with transaction(make_session_factory(engine)) as session:
        marks = (await session.exec(select(PlanMark))).all()
        newest = (await session.exec(select(Customer.id).order_by(col(Customer.id).desc()))).first()
    names = {ids["lin"]: "lin", newest: "new" if newest != ids["lin"] else "lin"}
    assert {
        (mark.scope, names.get(mark.customer_id) if mark.customer_id else None) for mark in marks
    } == expected
    assert {mark.team_id for mark in marks} <= {ids["team"]}


async def test_a_customer_moved_to_another_team_is_marked_in_both(engine: AsyncEngine) -> None:
    ids = await _world(engine)
    async with transaction(make_session_factory(engine)) as session:
        other = Team(name="Other")
        session.add(other)
        await session.flush()
        await _set(session, Customer, ids["lin"], team_id=other.id)
    async with transaction(make_session_factory(engine)) as session:
        marks = {(m.team_id, m.customer_id, m.scope) for m in (await session.exec(select(PlanMark))).all()}
    assert marks == {(ids["team"], ids["lin"], CUSTOMER), (other.id, ids["lin"], CUSTOMER)}


async def test_a_change_rolled_back_leaves_no_mark(engine: AsyncEngine) -> None:
    ids = await _world(engine)
    with pytest.raises(RuntimeError):
        async with transaction(make_session_factory(engine)) as session:
            await _set(session, Customer, ids["lin"], birthday_month=12, birthday_day=1)
            await session.flush()
            raise RuntimeError("the change fails")
    async with transaction(make_session_factory(engine)) as session:
        assert (await session.exec(select(PlanMark))).all() == []


async def test_an_upgrade_puts_back_a_trigger_a_migration_dropped(engine: AsyncEngine) -> None:
    def names(connection: Any) -> set[str]:
        return plan_marks.installed(connection)

    async with engine.begin() as connection:
        assert await connection.run_sync(names) == {t.name for t in plan_marks.TRIGGERS}
        # What a batch migration on SQLite does to a table it rebuilds (customers, say).
        for statement in plan_marks.TRIGGERS[1].drop(engine.dialect.name):
            await connection.exec_driver_sql(statement)
        assert plan_marks.TRIGGERS[1].name not in await connection.run_sync(names)
    await upgrade(engine)
    async with engine.begin() as connection:
        assert await connection.run_sync(names) == {t.name for t in plan_marks.TRIGGERS}
