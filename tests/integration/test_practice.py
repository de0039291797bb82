"""Practice mode's services on a real database (SQLite, or PostgreSQL when asked): the fsrs
schedule, what comes next, drills from the team's floor and the lead's summary."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fsrs import Rating
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.domain.access import Actor, Role
from bot.domain.errors import InvalidInput, NotAllowed, NotFound, Stale
from bot.playbooks.engine import OutcomeRecord, RunState
from bot.practice.check import load_all
from bot.practice.grading import grade
from bot.practice.model import Drill, FloorDrill
from bot.services import playbooks as playbook_service
from bot.services import practice as svc
from bot.storage.db import SessionFactory, make_session_factory, transaction
from bot.storage.models import (
    Customer,
    Membership,
    Outcome,
    PlaybookRun,
    PracticeCard,
    PracticeReminder,
    PracticeReview,
    Team,
    TeamDrill,
    User,
)

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Shanghai
LEAD, AMY, BOB, OTTO = 500, 501, 502, 503  # Otto is in another team
DRILLS = load_all(Path(__file__).resolve().parents[1] / "fixtures" / "drills" / "good")


def drill(drill_id: str) -> Drill:
    found = DRILLS.get(drill_id)
    assert found is not None
    return found


class World:
    """Team T (a lead, Amy, Bob) and team O (Otto), with a customer each."""

    def __init__(self, sessions: SessionFactory, team: int, other: int, customers: dict[int, int]) -> None:
        self.sessions = sessions
        self.team, self.other, self.customers = team, other, customers
        self.lead = Actor(LEAD, Role.LEAD, team)
        self.amy = Actor(AMY, Role.REP, team)
        self.bob = Actor(BOB, Role.REP, team)
        self.otto = Actor(OTTO, Role.REP, other)

    async def outcome(
        self,
        who: int,
        kind: str,
        *,
        type_: str | None = None,
        method: str,
        result: str,
        words: str | None = None,
        at: datetime = NOW,
        in_run: bool = True,
    ) -> Outcome:
        async with transaction(self.sessions) as session:
            team = self.other if who == OTTO else self.team
            run_id = None
            if in_run:
                run = PlaybookRun(
                    team_id=team,
                    customer_id=self.customers[who],
                    user_id=who,
                    playbook=kind,
                    status="done",
                    step="end",
                )
                session.add(run)
                await session.flush()
                run_id = run.id
            row = Outcome(
                team_id=team,
                customer_id=self.customers[who],
                user_id=who,
                run_id=run_id,
                playbook=kind,
                kind=kind,
                type=type_,
                method=method,
                result=result,
                words=words,
                created_at=at,
            )
            session.add(row)
            await session.flush()
            return row


@pytest.fixture
async def world(engine: AsyncEngine) -> World:
    sessions = make_session_factory(engine)
    async with transaction(sessions) as session:
        team, other = Team(name="T"), Team(name="O")
        session.add_all([team, other])
        for uid, name in [(LEAD, "Lena"), (AMY, "Amy"), (BOB, "Bob"), (OTTO, "Otto")]:
            session.add(User(telegram_id=uid, name=name))
        await session.flush()
        assert team.id is not None and other.id is not None
        for uid, role in [(LEAD, "lead"), (AMY, "rep"), (BOB, "rep")]:
            session.add(Membership(user_id=uid, team_id=team.id, role=role))
        session.add(Membership(user_id=OTTO, team_id=other.id, role="rep"))
        customers = {}
        for uid in (LEAD, AMY, BOB, OTTO):
            row = Customer(
                team_id=other.id if uid == OTTO else team.id,
                owner_id=uid,
                name=f"c{uid}",
                optin_code=f"c{uid}",
            )
            session.add(row)
            await session.flush()
            assert row.id is not None
            customers[uid] = row.id
    return World(sessions, team.id, other.id, customers)


async def answer(
    world: World, actor: Actor, one: Drill, answers: dict[str, object], at: datetime
) -> datetime:
    graded = grade(one, answers)  # type: ignore[arg-type]
    async with transaction(world.sessions) as session:
        return await svc.record_answer(
            session, actor, one, graded.rating, correct=graded.correct, total=graded.total, now=at
        )


async def upcoming(world: World, actor: Actor, at: datetime, **kw: object) -> list[str]:
    async with transaction(world.sessions) as session:
        return [d.id for d in await svc.next_drills(session, actor, DRILLS, now=at, **kw)]  # type: ignore[arg-type]


# ---------------------------------------------------------------- the schedule


async def test_a_drill_answered_wrongly_is_due_sooner_than_one_answered_well(world: World) -> None:
    again = await answer(
        world, world.amy, drill("fx_price_online"), {"type": "money", "method": "rebut"}, NOW
    )
    good = await answer(world, world.amy, drill("fx_risk_worry"), {"method": "guarantee"}, NOW)
    hard = await answer(world, world.amy, drill("fx_wants_respect"), {"need": "respect"}, NOW)
    assert again - NOW <= timedelta(minutes=10)  # back within minutes
    assert good - NOW >= timedelta(days=1)  # days later
    assert again < hard <= good
    async with transaction(world.sessions) as session:
        cards = {c.drill_id: c for c in (await session.exec(select(PracticeCard))).all()}
        reviews = (await session.exec(select(PracticeReview).order_by(col(PracticeReview.id)))).all()
    assert cards["fx_price_online"].last_rating == Rating.Again and cards["fx_price_online"].reps == 1
    assert cards["fx_price_online"].card["state"] == 1  # fsrs: learning
    assert cards["fx_risk_worry"].card["state"] == 2  # fsrs: review
    assert [(r.drill_id, r.rating, r.correct, r.total, r.topic, r.team_id) for r in reviews] == [
        ("fx_price_online", 1, 0, 2, "objection", world.team),
        ("fx_risk_worry", 3, 1, 1, "closing", world.team),
        ("fx_wants_respect", 3, 1, 1, "complaint", world.team),
    ]
    assert reviews[0].covers == [
        "objection.type.price",
        "objection.method.compensate",
        "objection.wording.price",
    ]

    # Answered well again when due, the gap grows; forgotten once learnt, it is a lapse.
    later = await answer(world, world.amy, drill("fx_risk_worry"), {"method": "guarantee"}, good)
    assert later - good > good - NOW
    forgot = await answer(world, world.amy, drill("fx_risk_worry"), {"method": "hint"}, later)
    assert forgot - later <= timedelta(minutes=10)
    async with transaction(world.sessions) as session:
        card = (
            await session.exec(select(PracticeCard).where(col(PracticeCard.drill_id) == "fx_risk_worry"))
        ).one()
    assert (card.reps, card.lapses, card.last_rating, card.due) == (3, 1, 1, forgot)


async def test_a_listening_answer_keeps_what_the_rep_typed(world: World) -> None:
    listening = drill("fx_too_busy")
    graded = grade(listening, {"self": "hard"})
    async with transaction(world.sessions) as session:
        await svc.record_answer(
            session,
            world.bob,
            listening,
            graded.rating,
            correct=graded.correct,
            total=graded.total,
            answer_text="理解您忙，两分钟就好",
            now=NOW,
        )
        review = (await session.exec(select(PracticeReview))).one()
    assert (review.rating, review.correct, review.total, review.answer_text) == (
        2,
        0,
        1,
        "理解您忙，两分钟就好",
    )
    with pytest.raises(ValueError):
        async with transaction(world.sessions) as session:
            await svc.record_answer(session, world.bob, listening, Rating.Good, correct=2, total=1, now=NOW)


async def test_next_drills_due_first_then_new_across_topics(world: World) -> None:
    fresh = await upcoming(world, world.amy, NOW, limit=20)
    assert len(fresh) == 8 and "fx_first_impression" not in fresh  # every active drill; never the retired one
    assert {drill(i).topic for i in fresh[:4]} == {"qualify", "objection", "closing", "complaint"}
    assert await upcoming(world, world.amy, NOW, limit=20) == fresh  # the same order every time

    await answer(world, world.amy, drill("fx_price_online"), {"type": "money", "method": "rebut"}, NOW)
    await answer(world, world.amy, drill("fx_risk_worry"), {"method": "guarantee"}, NOW)
    await answer(world, world.amy, drill("fx_asks_delivery"), {"signal": "none"}, NOW + timedelta(minutes=1))
    soon = NOW + timedelta(minutes=20)
    queue = await upcoming(world, world.amy, soon, limit=20)
    # The two answered wrongly are due (oldest due first); the one answered well is not, nor new.
    assert queue[:2] == ["fx_price_online", "fx_asks_delivery"]
    assert queue[2:] == [
        i for i in fresh if i not in ("fx_price_online", "fx_asks_delivery", "fx_risk_worry")
    ]
    assert await upcoming(world, world.amy, soon) == queue[:5]  # five at a time by default
    assert await upcoming(world, world.amy, soon, topic="closing") == ["fx_asks_delivery", "fx_small_talk"]
    # A month on, all answered ones are due, the earliest due first, before the new one.
    assert await upcoming(world, world.amy, NOW + timedelta(days=30), topic="closing") == [
        "fx_asks_delivery",
        "fx_risk_worry",
        "fx_small_talk",
    ]
    assert await upcoming(world, world.amy, soon, topic="approach") == []  # only a retired drill
    # Bob's schedule is his own.
    assert sorted(await upcoming(world, world.bob, soon, limit=20)) == sorted(fresh)
    with pytest.raises(ValueError):
        await upcoming(world, world.amy, soon, topic="golf")
    with pytest.raises(NotAllowed):
        await upcoming(world, Actor(999, Role.STRANGER), soon)


# ---------------------------------------------------------------- drills from the floor


async def test_a_won_objection_becomes_a_drill_for_the_team_once_the_lead_approves(world: World) -> None:
    won = await world.outcome(
        AMY, "objection", type_="price", method="compensate", result="resolved", words="你们比隔壁贵三百"
    )
    # Not won, no words, not from a real run, or another kind: no proposal.
    await world.outcome(AMY, "objection", type_="price", method="rebut", result="lost", words="太贵")
    await world.outcome(AMY, "objection", type_="need", method="yes_but", result="resolved")
    await world.outcome(
        AMY, "objection", type_="need", method="yes_but", result="resolved", words="x", in_run=False
    )
    await world.outcome(AMY, "complaint", method="x", result="resolved", words="坏了")
    async with transaction(world.sessions) as session:
        for row in (await session.exec(select(Outcome).order_by(col(Outcome.id)))).all():
            await svc.propose_from_outcome(session, row)
        await svc.propose_from_outcome(session, won)  # twice: still one
    async with transaction(world.sessions) as session:
        waiting = await svc.proposals(session, world.lead, team_id=world.team)
    assert [(p.kind, p.type, p.method, p.words, p.rep, p.customer, p.status) for p in waiting] == [
        ("objection", "price", "compensate", "你们比隔壁贵三百", "Amy", f"c{AMY}", "proposed")
    ]
    proposal = waiting[0].id
    # Until approved, nobody gets it; a rep may neither list nor decide; another team's lead neither.
    assert not any(i.startswith("team_") for i in await upcoming(world, world.bob, NOW, limit=20))
    for actor in (world.amy, world.bob, Actor(OTTO, Role.LEAD, world.other)):
        with pytest.raises(NotAllowed):
            async with transaction(world.sessions) as session:
                await svc.decide(session, actor, proposal, True, now=NOW)
    with pytest.raises(NotAllowed):
        async with transaction(world.sessions) as session:
            await svc.proposals(session, world.bob, team_id=world.team)
    with pytest.raises(NotFound):
        async with transaction(world.sessions) as session:
            await svc.decide(session, world.lead, 999_999, True, now=NOW)

    async with transaction(world.sessions) as session:
        decided = await svc.decide(session, world.lead, proposal, True, now=NOW)
    assert decided.status == "approved"
    with pytest.raises(Stale) as twice:
        async with transaction(world.sessions) as session:
            await svc.decide(session, world.lead, proposal, False, now=NOW)
    assert twice.value.key == "practice.already_decided"

    floor_id = f"team_{proposal}"
    for actor in (world.amy, world.bob, world.lead):
        queue = await upcoming(world, actor, NOW, limit=20)
        assert queue[0] == floor_id and len(queue) == 9  # first among the new ones
    assert floor_id not in await upcoming(world, world.otto, NOW, limit=20)
    assert await upcoming(world, world.bob, NOW, topic="objection") == [
        floor_id,
        "fx_price_online",
        "fx_too_busy",
    ]
    async with transaction(world.sessions) as session:
        (floor,) = await svc.floor_drills(session, world.team)
    assert isinstance(floor, FloorDrill)
    assert (floor.kind, floor.type, floor.method, floor.words, floor.proposer, floor.topic) == (
        "objection",
        "price",
        "compensate",
        "你们比隔壁贵三百",
        "Amy",
        "objection",
    )
    # It is practised like any drill, and scheduled under its id.
    due = await answer(world, world.bob, floor, {"type": "price", "method": "compensate"}, NOW)
    assert due - NOW >= timedelta(days=1)
    assert floor_id not in await upcoming(world, world.bob, NOW + timedelta(hours=1), limit=20)

    # The same words with the same answer are not proposed again.
    again = await world.outcome(
        BOB, "objection", type_="price", method="compensate", result="resolved", words="你们比隔壁贵三百"
    )
    async with transaction(world.sessions) as session:
        assert await svc.propose_from_outcome(session, again) is None


async def test_a_closing_won_in_a_run_is_proposed_with_its_signals(world: World) -> None:
    """Through the real end of a playbook run: its outcome record proposes the drill."""
    async with transaction(world.sessions) as session:
        run = PlaybookRun(
            team_id=world.team,
            customer_id=world.customers[BOB],
            user_id=BOB,
            playbook="closing",
            step="record",
        )
        session.add(run)
        await session.flush()
        await playbook_service.finish_run(
            session,
            world.bob,
            run,
            state=RunState(
                ("watch", "record"), {"signals": ["touches", "asks_terms"], "method": "assumptive"}
            ),
            actions=[OutcomeRecord("closing", {"method": "assumptive", "result": "won", "amount": "3000"})],
            outcome="won",
            summary="won",
            reminder_texts={},
            purchase_note="",
            now=NOW,
        )
        rows = (await session.exec(select(TeamDrill))).all()
    assert [(r.kind, r.method, r.words, r.signals, r.proposed_by, r.status) for r in rows] == [
        ("closing", "assumptive", None, ["asks_terms", "touches"], BOB, "proposed")
    ]
    async with transaction(world.sessions) as session:
        await svc.decide(session, world.lead, rows[0].id or 0, True, now=NOW)
        (floor,) = await svc.floor_drills(session, world.team)
    assert floor.kind == "closing" and floor.topic == "closing"
    assert floor.covers == (
        "closing.method.assumptive",
        "closing.signal.asks_terms",
        "closing.signal.touches",
    )
    assert len(floor.options) == 3 and "assumptive" in floor.options
    assert grade(floor, {"method": "assumptive"}).rating is Rating.Good


async def test_a_rejected_proposal_gives_no_drill(world: World) -> None:
    row = await world.outcome(
        BOB, "objection", type_="timing", method="yes_but", result="resolved", words="明年再说"
    )
    async with transaction(world.sessions) as session:
        proposal = await svc.propose_from_outcome(session, row)
        assert proposal is not None and proposal.id is not None
        decided = await svc.decide(session, world.lead, proposal.id, False, now=NOW)
    assert decided.status == "rejected"
    assert not any(i.startswith("team_") for i in await upcoming(world, world.amy, NOW, limit=20))
    async with transaction(world.sessions) as session:
        assert await svc.proposals(session, world.lead, team_id=world.team) == []
        rejected = await svc.proposals(session, world.lead, team_id=world.team, status="rejected")
        assert await svc.propose_from_outcome(session, row) is None  # not proposed again
    assert [p.words for p in rejected] == ["明年再说"]


# ---------------------------------------------------------------- the lead's view


async def test_team_summary_on_a_small_known_data_set(world: World) -> None:
    price = drill(
        "fx_price_online"
    )  # objection.type.price, objection.method.compensate, objection.wording.price
    monday = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    # Amy, in the week of 16-22 November: the price objection four times (1, 1, 1 and 2 parts of 2
    # right), the closing guarantee twice right, and once on Sunday 22:00 in Shanghai (not counted).
    for day, answers in enumerate(
        [
            {"type": "price", "method": "rebut"},
            {"type": "money", "method": "compensate"},
            {"type": "price", "method": "rebut"},
            {"type": "price", "method": "compensate"},
        ]
    ):
        await answer(world, world.amy, price, answers, monday + timedelta(days=day))
    for day in (1, 2):
        await answer(
            world, world.amy, drill("fx_risk_worry"), {"method": "guarantee"}, monday + timedelta(days=day)
        )
    await answer(
        world, world.amy, drill("fx_wants_respect"), {"need": "fast_fix"}, monday - timedelta(hours=12)
    )
    # Otto in the other team practises too: not in this team's figures.
    await answer(world, world.otto, price, {"type": "money", "method": "rebut"}, monday)
    # Amy's real record against price objections: one resolved, one lost; a later one not counted.
    for result, at in (("resolved", monday), ("lost", monday + timedelta(days=1)), ("resolved", NOW)):
        await world.outcome(AMY, "objection", type_="price", method="compensate", result=result, at=at)

    async with transaction(world.sessions) as session:
        summary = await svc.team_summary(
            session, world.lead, world.team, date(2026, 11, 16), date(2026, 11, 22)
        )
    assert [(r.name, r.role, r.drills, r.reviews, r.correct, r.total) for r in summary.reps] == [
        ("Amy", "rep", 2, 6, 7, 10),
        ("Bob", "rep", 0, 0, 0, 0),
    ]
    amy, bob = summary.reps
    assert amy.share_right == 0.7 and bob.share_right is None
    assert [r.name for r in summary.practised] == ["Amy"]
    # Price is 5 of 8 right across four answers; the guarantee (2 answers) is too few to judge.
    assert [(w.technique, w.reviews, w.correct, w.total, w.real) for w in amy.weakest] == [
        ("objection.method.compensate", 4, 5, 8, svc.RealResult(1, 2)),
        ("objection.type.price", 4, 5, 8, svc.RealResult(1, 2)),
        ("objection.wording.price", 4, 5, 8, svc.RealResult(1, 2)),
    ]
    assert amy.weakest[0].share_right == 0.625
    for actor in (world.amy, world.otto):
        with pytest.raises(NotAllowed):
            async with transaction(world.sessions) as session:
                await svc.team_summary(session, actor, world.team, date(2026, 11, 16), date(2026, 11, 22))


async def test_the_weakest_are_the_lowest_share_right_with_enough_answers(world: World) -> None:
    monday = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)
    wrong = {"need": "yes", "volume": "no", "power": "no", "credit": "no", "authority": "yes"}  # 1 of 5
    for day in range(3):
        await answer(world, world.bob, drill("fx_factory_case"), wrong, monday + timedelta(days=day))
        await answer(
            world, world.bob, drill("fx_wants_respect"), {"need": "respect"}, monday + timedelta(days=day)
        )
    await answer(world, world.bob, drill("fx_risk_worry"), {"method": "direct"}, monday)  # once: too few
    async with transaction(world.sessions) as session:
        summary = await svc.team_summary(
            session, world.lead, world.team, date(2026, 11, 16), date(2026, 11, 22)
        )
    bob = next(r for r in summary.reps if r.name == "Bob")
    # The five factors at 1 of 5 each time; the need always right is not weak; no /stats figures for them.
    assert [(w.technique, w.correct, w.total, w.real) for w in bob.weakest] == [
        ("qualify.factor.authority", 3, 15, None),
        ("qualify.factor.credit", 3, 15, None),
        ("qualify.factor.need", 3, 15, None),
    ]


# ---------------------------------------------------------------- the reminder


async def test_the_daily_reminder_time(world: World) -> None:
    async with transaction(world.sessions) as session:
        assert await svc.reminder(session, world.amy) is None
        assert await svc.set_reminder(session, world.amy, "8:30", now=NOW) == "08:30"
    async with transaction(world.sessions) as session:
        assert await svc.reminder(session, world.amy) == "08:30"
        assert await svc.set_reminder(session, world.amy, "20：05", now=NOW) == "20:05"
    for bad in ("25:00", "8:61", "eight", ""):
        with pytest.raises(InvalidInput) as refused:
            async with transaction(world.sessions) as session:
                await svc.set_reminder(session, world.amy, bad, now=NOW)
        assert refused.value.key == "practice.bad_time"
    async with transaction(world.sessions) as session:
        assert await svc.reminder(session, world.amy) == "20:05"
        assert await svc.set_reminder(session, world.amy, None, now=NOW) is None
        assert await svc.set_reminder(session, world.bob, None, now=NOW) is None  # off already
    async with transaction(world.sessions) as session:
        assert (await session.exec(select(PracticeReminder))).all() == []
