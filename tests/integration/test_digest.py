"""Every figure of the digest against a small data set built by hand, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.errors import NotAllowed
from bot.services import digest as svc
from bot.storage.db import make_session_factory, transaction
from bot.storage.models import (
    Customer,
    Membership,
    Note,
    OutboxMessage,
    Outcome,
    PlaybookRun,
    Purchase,
    Task,
    Team,
    User,
)

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, 21:00 the day before in New York
LEAD, AMY, BOB, CAT, NY_LEAD, OTHER = 100, 101, 102, 103, 104, 201


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


async def _build(engine: AsyncEngine) -> tuple[int, int, dict[str, int]]:
    """The data set: team T in Shanghai (lead, Amy, Bob, Cat idle) and team O elsewhere."""
    sessions = make_session_factory(engine)
    ids: dict[str, int] = {}
    async with transaction(sessions) as session:
        team, other = Team(name="T", timezone="Asia/Shanghai"), Team(name="O", timezone="Asia/Shanghai")
        session.add_all([team, other])
        for uid, name in [(LEAD, "Lead"), (AMY, "Amy"), (BOB, "Bob"), (CAT, "Cat"), (OTHER, "Otto")]:
            session.add(User(telegram_id=uid, name=name))
        session.add(User(telegram_id=NY_LEAD, name="Nina", timezone="America/New_York"))
        await session.flush()
        assert team.id is not None and other.id is not None
        for uid, role in [(LEAD, "lead"), (AMY, "rep"), (BOB, "rep"), (CAT, "rep"), (NY_LEAD, "lead")]:
            session.add(Membership(user_id=uid, team_id=team.id, role=role))
        session.add(Membership(user_id=OTHER, team_id=other.id, role="rep"))

        def customer(
            key: str, owner: int, stage: str, grade: str | None, created: datetime, **extra: object
        ) -> None:
            row = Customer(
                team_id=team.id if owner != OTHER else other.id,
                owner_id=owner,
                name=key,
                stage=stage,
                grade=grade,
                optin_code=f"code-{key}",
                created_at=created,
                **extra,  # type: ignore[arg-type]
            )
            session.add(row)
            customers[key] = row

        customers: dict[str, Customer] = {}
        customer(
            "c1", AMY, "closing", "A", NOW - timedelta(days=30), last_contact_at=NOW - timedelta(days=20)
        )
        customer("c2", AMY, "won", "B", utc(22, 3))  # new yesterday (11:00 in Shanghai)
        customer("c3", BOB, "after_sales", "B", NOW - timedelta(days=200))
        customer("c4", BOB, "won", "C", NOW - timedelta(days=60))
        customer("c5", BOB, "lost", "A", NOW - timedelta(days=300), last_contact_at=NOW - timedelta(days=100))
        customer("c6", AMY, "find", "A", NOW - timedelta(days=300), archived_at=NOW - timedelta(days=5))
        customer("c7", AMY, "find", None, NOW - timedelta(days=100))
        customer(  # a rhythm of their own: every 5 days, last contact 7 days ago
            "c8",
            AMY,
            "won",
            "A",
            NOW - timedelta(days=90),
            last_contact_at=NOW - timedelta(days=7),
            contact_every_days=5,
        )
        customer("o1", OTHER, "find", "A", NOW - timedelta(days=300))
        await session.flush()
        ids.update({key: row.id for key, row in customers.items() if row.id is not None})

        def note(author: int, key: str, kind: str, at: datetime, **meta: object) -> None:
            owner_team = other.id if author == OTHER else team.id
            session.add(
                Note(
                    customer_id=ids[key],
                    team_id=owner_team,
                    author_id=author,
                    kind=kind,
                    text="x",
                    meta=meta,
                    created_at=at,
                )
            )

        note(AMY, "c1", "note", utc(22, 1))
        note(AMY, "c1", "note", utc(22, 1, 30))
        note(AMY, "c1", "call", utc(21, 17))  # 01:00 on the 22nd in Shanghai
        note(AMY, "c7", "note", utc(21, 15, 30))  # 23:30 on the 21st in Shanghai: the day before
        note(BOB, "c3", "visit", utc(22, 10))
        note(BOB, "c3", "system", utc(22, 10, 5), event="stage", old="after_sales", new="closing")
        note(BOB, "c3", "system", utc(22, 10, 6), event="reassign")
        note(OTHER, "o1", "note", utc(22, 3))

        def purchase(key: str, day: date, amount: int, by: int | None) -> None:
            owner_team = other.id if key.startswith("o") else team.id
            session.add(
                Purchase(
                    customer_id=ids[key],
                    team_id=owner_team,
                    purchased_on=day,
                    amount=Decimal(amount),
                    created_by=by,
                )
            )

        for day in (date(2026, 5, 1), date(2026, 6, 1), date(2026, 7, 2)):
            purchase("c3", day, 1000, BOB)
        purchase("c4", date(2026, 10, 22), 300, BOB)
        purchase("c4", date(2026, 11, 22), 500, BOB)
        purchase("o1", date(2026, 11, 22), 9999, OTHER)

        def run(user: int, status: str, ended: datetime | None) -> None:
            session.add(
                PlaybookRun(
                    team_id=team.id,
                    customer_id=ids["c1"],
                    user_id=user,
                    playbook="objection",
                    status=status,
                    step="end",
                    ended_at=ended,
                )
            )

        run(AMY, "done", utc(22, 5))
        run(BOB, "abandoned", utc(22, 6))
        run(AMY, "done", utc(20, 5))

        def outcome(user: int, kind: str, at: datetime, **values: object) -> None:
            session.add(
                Outcome(
                    team_id=team.id,
                    customer_id=ids["c3"],
                    user_id=user,
                    playbook=kind,
                    kind=kind,
                    created_at=at,
                    **values,
                )  # type: ignore[arg-type]
            )

        outcome(AMY, "objection", utc(22, 2), type="price", method="yes_but", result="won")
        outcome(BOB, "objection", utc(22, 3), type="price", method="boomerang", result="lost")
        outcome(BOB, "objection", utc(22, 4), type="price", method="yes_but", result="won")
        outcome(AMY, "objection", utc(22, 5), type="timing", method="rebut", result="follow_up")
        outcome(AMY, "objection", utc(18, 5), type="need", method="rebut", result="won")  # before the period
        outcome(AMY, "closing", utc(22, 6), method="assumptive", result="won")
        outcome(BOB, "closing", utc(22, 7), method="direct", result="lost")
        outcome(BOB, "complaint", utc(15, 7), type="delivery", result="pending", due_on=date(2026, 11, 20))
        outcome(BOB, "complaint", utc(22, 7), type="quality", result="pending", due_on=date(2026, 11, 25))
        outcome(
            BOB,
            "complaint",
            utc(5, 7),
            type="service",
            result="resolved",
            due_on=date(2026, 11, 10),
            resolved_at=utc(6, 1),
        )

        session.add(
            Task(team_id=team.id, owner_id=AMY, customer_id=ids["c1"], due_on=date(2026, 11, 20), text="call")
        )
        session.add(
            Task(
                team_id=team.id,
                owner_id=BOB,
                customer_id=ids["c3"],
                due_on=date(2026, 11, 22),
                text="done",
                done_at=utc(22, 9),
            )
        )
        session.add(
            Task(
                team_id=team.id, owner_id=BOB, customer_id=ids["c3"], due_on=date(2026, 11, 23), text="today"
            )
        )

        def outbox(key: str, status: str, at: datetime, occasion: str = "birthday") -> None:
            session.add(
                OutboxMessage(
                    key=key,
                    team_id=team.id,
                    customer_id=ids["c1"],
                    rep_id=AMY,
                    occasion=occasion,
                    day=at.date(),
                    channel="telegram",
                    chat_id=1,
                    text="hi",
                    status=status,
                    due_at=at,
                    created_at=at,
                    updated_at=at,
                )
            )

        outbox("k1", "sent", utc(22, 2))
        outbox("k2", "sent", utc(22, 3))
        outbox("k3", "handed", utc(22, 3))
        outbox("k4", "failed", utc(22, 4))
        outbox("k5", "skipped", utc(22, 5))
        outbox("k6", "sent", utc(22, 0), occasion="agenda")
        outbox("k7", "review", utc(10, 5))
        outbox("k8", "sent", utc(20, 5))
    return team.id, other.id, ids


async def test_every_figure_of_the_digest(engine: AsyncEngine) -> None:
    team_id, _, ids = await _build(engine)
    sessions = make_session_factory(engine)
    async with transaction(sessions) as session:
        digest = await svc.build(session, team_id=team_id, kind="day", now=NOW, tz="Asia/Shanghai")
    assert digest.period == svc.Period(date(2026, 11, 22), date(2026, 11, 22), "Asia/Shanghai")
    reps = {r.name: r for r in digest.reps}
    assert set(reps) == {"Lead", "Amy", "Bob", "Cat", "Nina"}, "members only, the other team's rep not"
    amy, bob = reps["Amy"], reps["Bob"]
    assert (amy.notes, amy.contacts, amy.playbooks, amy.new_customers, amy.stage_moves) == (3, 1, 1, 1, 0)
    assert (amy.wins, amy.amount, amy.behind, amy.overdue) == (0, Decimal(0), 3, 1)
    assert (bob.notes, bob.contacts, bob.playbooks, bob.new_customers, bob.stage_moves) == (1, 1, 0, 0, 1)
    assert (bob.wins, bob.amount, bob.behind, bob.overdue) == (1, Decimal(500), 1, 0)
    assert reps["Cat"].idle and reps["Lead"].idle
    assert [r.name for r in digest.reps][:2] == ["Amy", "Bob"], "the busiest first"
    totals = digest.totals
    assert (totals.notes, totals.wins, totals.amount, totals.behind, totals.overdue) == (
        4,
        1,
        Decimal(500),
        4,
        1,
    )

    assert digest.pipeline == {
        "find": 1,
        "evaluate": 0,
        "approach": 0,
        "present": 0,
        "objections": 0,
        "closing": 1,
        "after_sales": 1,
        "won": 3,
        "lost": 1,
    }
    assert digest.moved_in == {"closing": 1}
    price, timing = digest.objections
    assert (price.type, price.tries, price.wins, price.best_method, price.best_wins) == (
        "price",
        3,
        2,
        "yes_but",
        2,
    )
    assert (timing.type, timing.tries, timing.wins, timing.best_method) == ("timing", 1, 0, None)
    assert digest.closings == (1, 2)
    assert digest.care == {"sent": 2, "handed": 1, "failed": 1, "skipped": 1, "review": 1}

    assert digest.overdue.total == 1
    assert digest.overdue.items[0].customer_id == ids["c1"] and digest.overdue.items[0].detail["days"] == 3
    assert digest.complaints.total == 1
    assert digest.complaints.items[0].detail == {
        "due": "2026-11-20",
        "days": 3,
        "type": "delivery",
        "words": "",
    }
    assert digest.at_risk.total == 1
    risk = digest.at_risk.items[0]
    assert (risk.customer_id, risk.owner, risk.detail["days"], risk.detail["interval"]) == (
        ids["c3"],
        "Bob",
        144,
        31,
    )
    assert risk.detail["revenue"] == Decimal(3000) and 0 < risk.detail["loyalty"] <= 100
    assert digest.quiet_a.total == 2 and [i.customer_id for i in digest.quiet_a.items] == [
        ids["c1"],
        ids["c8"],
    ]
    assert [i.detail for i in digest.quiet_a.items] == [
        {"days": 20, "never": False},
        {"days": 7, "never": False},
    ]

    activity = {day: (notes, wins) for day, notes, wins in digest.activity}
    assert len(digest.activity) == svc.CHART_DAYS and digest.activity[-1][0] == date(2026, 11, 22)
    assert activity[date(2026, 11, 22)] == (4, 1) and activity[date(2026, 11, 21)] == (1, 0)
    assert sum(n for n, _ in activity.values()) == 5


async def test_a_lead_in_new_york_reads_their_own_yesterday(engine: AsyncEngine) -> None:
    team_id, _, _ = await _build(engine)
    async with transaction(make_session_factory(engine)) as session:
        team = await session.get(Team, team_id)
        assert team is not None
        tz = await svc.lead_zone(session, team, NY_LEAD)
        digest = await svc.build(session, team_id=team_id, kind="day", now=NOW, tz=tz)
    assert tz == "America/New_York"
    # 21:00 on the 22nd in New York: yesterday is the 21st, 05:00 to 05:00 UTC.
    assert digest.period.first == date(2026, 11, 21) and digest.period.start == utc(21, 5)
    reps = {r.name: r for r in digest.reps}
    assert reps["Amy"].notes == 4 and reps["Bob"].notes == 0
    assert digest.today == date(2026, 11, 22)
    assert digest.overdue.items[0].detail["days"] == 2, "overdue counted from the reader's today"


async def test_reports_cover_seven_and_thirty_days(engine: AsyncEngine) -> None:
    team_id, _, _ = await _build(engine)
    async with transaction(make_session_factory(engine)) as session:
        week = await svc.build(session, team_id=team_id, kind="week", now=NOW, tz="Asia/Shanghai")
        month = await svc.build(session, team_id=team_id, kind="month", now=NOW, tz="Asia/Shanghai")
    assert (week.period.first, week.period.last) == (date(2026, 11, 17), date(2026, 11, 23))
    assert (month.period.first, month.period.last) == (date(2026, 10, 25), date(2026, 11, 23))
    assert {r.name: r.playbooks for r in week.reps}["Amy"] == 2
    assert sum(o.tries for o in week.objections) == 5
    assert len(month.activity) == 30


async def test_an_empty_team(engine: AsyncEngine) -> None:
    async with transaction(make_session_factory(engine)) as session:
        team = Team(name="Empty")
        session.add(team)
        await session.flush()
        assert team.id is not None
        digest = await svc.build(session, team_id=team.id, kind="day", now=NOW)
    assert digest.reps == [] and sum(digest.pipeline.values()) == 0 and digest.objections == []
    assert (
        digest.overdue.total == digest.complaints.total == digest.at_risk.total == digest.quiet_a.total == 0
    )
    assert all(notes == wins == 0 for _, notes, wins in digest.activity)


@pytest.mark.parametrize("offset", [0, 1])
async def test_lists_page(engine: AsyncEngine, offset: int) -> None:
    team_id, _, _ = await _build(engine)
    async with transaction(make_session_factory(engine)) as session:
        listing = await svc.overdue(
            session, team_id=team_id, today=date(2026, 11, 23), offset=offset, limit=1
        )
    assert listing.total == 1 and len(listing.items) == (1 if offset == 0 else 0)


async def test_a_lead_changes_the_grade_cut_offs_and_the_grades_follow(engine: AsyncEngine) -> None:
    from bot.domain.access import Actor, Role

    team_id, _, ids = await _build(engine)
    lead = Actor(LEAD, Role.LEAD, team_id)
    sessions = make_session_factory(engine)
    async with transaction(sessions) as session:
        await svc.set_rule(session, lead, team_id=team_id, rule="b", value=50)
    async with transaction(sessions) as session:
        c3, c4 = await session.get(Customer, ids["c3"]), await session.get(Customer, ids["c4"])
        assert c3 is not None and c4 is not None and (c3.grade, c4.grade) == ("A", "C")
        await svc.set_rule(session, lead, team_id=team_id, rule="b", value=60)
        await svc.set_rule(session, lead, team_id=team_id, rule="c", value=30)
    async with transaction(sessions) as session:
        c4 = await session.get(Customer, ids["c4"])
        team = await session.get(Team, team_id)
        assert c4 is not None and c4.grade == "B", "A+B is now 60% of the two paying customers"
        assert team is not None and svc.analytics_rules(team) == svc.AnalyticsRules(20, 60, 30)
        digest = await svc.build(session, team_id=team_id, kind="day", now=NOW, tz="Asia/Shanghai")
        assert digest.at_risk.total == 1, "144 days is still over 3× the usual 31"
        with pytest.raises(NotAllowed):
            await svc.set_rule(session, lead, team_id=team_id, rule="a", value=55)


async def test_the_best_method_is_counted_as_stats_counts_it_and_charts_cover_their_title(
    engine: AsyncEngine,
) -> None:
    from bot.domain.access import Actor, Role
    from bot.services import outcome_stats

    team_id, _, _ = await _build(engine)
    async with transaction(make_session_factory(engine)) as session:
        day = await svc.build(session, team_id=team_id, kind="day", now=NOW, tz="Asia/Shanghai")
        week = await svc.build(session, team_id=team_id, kind="week", now=NOW, tz="Asia/Shanghai")
        stats = await outcome_stats.stats(
            session,
            Actor(LEAD, Role.LEAD, team_id),
            team_id=team_id,
            since=day.period.start,
            until=day.period.end,
        )
    price = day.objections[0]
    row = next(r for r in stats.team if (r.kind, r.type, r.method) == ("objection", "price", "yes_but"))
    assert (price.best_method, price.best_wins, price.best_tries) == (row.method, row.wins, row.tries)
    assert (price.best_wins, price.best_tries) == (2, 2), "the method's own tries, not every price objection"
    assert week.chart_period == week.period and len(week.activity) == 7
    assert day.chart_period == svc.Period(date(2026, 11, 9), date(2026, 11, 22), "Asia/Shanghai")
    assert [d for d, _, _ in day.activity] == [day.chart_period.first + timedelta(days=n) for n in range(14)]
