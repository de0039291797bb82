"""The lead sees practice in the digest and reports: who practised, each rep's weakest
techniques with their real results beside them, who did not, and drills from the floor
waiting; a stored digest is built again after a practice answer or a proposal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.console.driver import Driver
from bot.domain.access import Actor, Role
from bot.practice.grading import expected, grade
from bot.scheduling.dispatcher import Dispatcher
from bot.scheduling.jobs import plan_now
from bot.services import practice as practice_service
from bot.storage.models import Outcome, PlaybookRun
from tests.conftest import FakeClock
from tests.e2e.test_digest_ahead import _counting
from tests.e2e.world import LEAD, REP, REP2, add_customer, build_world, texts

LANGS = ["zh", "en"]
# Three price objections (each covers objection.type.price and its wording): two missed.
PRICE = ["obj_price_tiles_not_same_grade", "obj_price_freight_rate_higher", "obj_price_child_car_seat"]
MISSED = PRICE[:2]
YESTERDAY = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai on the 22nd


def _t(bot: Driver, lang: str, key: str, **params: Any) -> str:
    return bot.services.text(lang, key, **params)


async def _practise(
    bot: Driver, team: int, user: int, drill_ids: list[str], missed: list[str], at: datetime
) -> None:
    """`user` answers the drills at `at`: right, or with their first part not answered."""
    drills = [bot.services.drills.get(drill_id) for drill_id in drill_ids]

    async def answer(session):  # type: ignore[no-untyped-def]
        for place, drill in enumerate(drills):
            assert drill is not None
            answers = dict(expected(drill))
            if drill.id in missed:
                answers.pop(next(iter(answers)))
            got = grade(drill, answers)
            await practice_service.record_answer(
                session,
                Actor(user, Role.REP, team),
                drill,
                got.rating,
                correct=got.correct,
                total=got.total,
                now=at + timedelta(minutes=place),
            )

    await bot.services.db(answer)


async def _price_objections_on_the_floor(bot: Driver, team: int, customer: int, at: datetime) -> None:
    """The rep met two price objections in real playbook runs: won one (proposed as a drill), lost one."""

    async def record(session):  # type: ignore[no-untyped-def]
        for result, words in (("won", "比别家贵一成"), ("lost", None)):
            run = PlaybookRun(
                team_id=team,
                customer_id=customer,
                user_id=REP,
                playbook="objection",
                status="done",
                step="done",
                outcome=result,
                started_at=at,
                updated_at=at,
                ended_at=at,
            )
            session.add(run)
            await session.flush()
            outcome = Outcome(
                team_id=team,
                customer_id=customer,
                user_id=REP,
                run_id=run.id,
                playbook="objection",
                kind="objection",
                type="price",
                method="compensate",
                result=result,
                words=words,
                created_at=at,
            )
            session.add(outcome)
            await practice_service.propose_from_outcome(session, outcome)

    await bot.services.db(record)


async def _speak_english(bot: Driver, user: int) -> None:
    await bot.send(user, "/language")
    await bot.press(user, "English")


@pytest.mark.parametrize("lang", LANGS)
async def test_the_digest_shows_who_practised_their_weak_spots_and_real_results(
    bot: Driver, clock: FakeClock, lang: str
) -> None:
    clock.current = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    team = (await build_world(bot)).team
    if lang == "en":
        await _speak_english(bot, LEAD)
    customer = await add_customer(bot, REP, "张伟")
    await _price_objections_on_the_floor(bot, team, customer, YESTERDAY - timedelta(hours=3))
    await _practise(bot, team, REP, PRICE, MISSED, YESTERDAY)
    clock.current = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 on the 23rd
    body = texts(await bot.send(LEAD, "/digest"))
    part = body[body.index(_t(bot, lang, "digest.practice.head")) :]
    rep = _t(bot, lang, "digest.practice.rep", name="王芳", drills=3, share=67)  # 4 parts right of 6
    technique = _t(
        bot,
        lang,
        "plain.technique_named",
        group=_t(bot, lang, "practice.technique.objection.type"),
        name=_t(bot, lang, "practice.label.type.price"),
    )
    weak = _t(bot, lang, "digest.practice.weak", technique=technique, share=67, real={"wins": 1, "tries": 2})
    assert rep in part and weak.strip() in part, part
    assert part.count(technique) == 1, "the type and its wording read as one"
    assert _t(bot, lang, "digest.practice.idle", names="Tom") in part, "the rep who did not practise"
    assert _t(bot, lang, "digest.practice.proposals", n=1) in part
    digest_message = bot.standin.messages(LEAD)[-1]
    replies = await bot.press(LEAD, _t(bot, lang, "practice.chat.proposals", n=1))
    assert "比别家贵一成" in texts(replies), "its button opens the floor drill to approve"
    assert replies[-1].message_id != digest_message.message_id, "in a message of its own: the digest stays"
    replies = await bot.press(LEAD, _t(bot, lang, "practice.chat.approve"))
    assert _t(bot, lang, "practice.chat.no_proposals") in texts(replies)


async def test_nobody_practised_and_the_report_covers_its_period(bot: Driver, clock: FakeClock) -> None:
    clock.current = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    team = (await build_world(bot)).team
    body = texts(await bot.send(LEAD, "/digest"))
    assert _t(bot, "zh", "digest.practice.nobody", reps=True) in body
    await _practise(bot, team, REP2, PRICE, [], datetime(2026, 11, 18, 12, 0, tzinfo=UTC))
    week = texts(await bot.send(LEAD, "/report week"))
    assert _t(bot, "zh", "digest.practice.rep", name="Tom", drills=3, share=100) in week
    assert _t(bot, "zh", "digest.practice.idle", names="王芳") in week
    body = texts(await bot.send(LEAD, "/digest"))
    assert _t(bot, "zh", "digest.practice.nobody", reps=True) in body, "the digest is of yesterday only"


async def test_a_stored_digest_is_built_again_after_a_practice_answer_or_a_proposal(
    bot: Driver, clock: FakeClock
) -> None:
    clock.current = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    team = (await build_world(bot)).team
    customer = await add_customer(bot, REP, "张伟")
    clock.current = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    builder = _counting(bot)
    await bot.send(LEAD, "/digest")
    clock.advance(minutes=5)
    await bot.send(LEAD, "/digest")
    assert len(builder.calls) == 1, "fresh: answered from the stored build"
    await _practise(bot, team, REP, PRICE[:1], [], clock())  # today: not in yesterday's figures
    clock.advance(minutes=5)
    await bot.send(LEAD, "/digest")
    assert len(builder.calls) == 2, "a practice answer makes it stale"
    clock.advance(minutes=5)
    await _price_objections_on_the_floor(bot, team, customer, clock())
    clock.advance(minutes=5)
    body = texts(await bot.send(LEAD, "/digest"))
    assert len(builder.calls) == 3, "a proposal (and its outcome) makes it stale"
    assert _t(bot, "zh", "digest.practice.proposals", n=1) in body


async def test_the_teams_group_gets_the_digest_without_the_reps_weak_spots(
    bot: Driver, clock: FakeClock
) -> None:
    clock.current = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    team = (await build_world(bot)).team
    await _practise(bot, team, REP, PRICE, MISSED, clock())
    group = bot.standin.add_group(-1001234567891, "Alpha sales")
    await bot.feed(bot.standin.text_update(LEAD, "/digest_here", chat_id=group.id))
    clock.current = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
    await plan_now(bot.services)
    clock.current = datetime(2026, 11, 23, 0, 0, 5, tzinfo=UTC)
    await Dispatcher(bot.services, bot.app.bot, per_chat=0.0).drain()
    posted = texts([m for m in bot.standin.messages(group.id) if m.from_bot and m.kind == "text"])
    head = _t(bot, "zh", "digest.practice.head")
    assert "当前漏斗" in posted, "the digest went to the group"
    assert head not in posted and "薄弱" not in posted, "practice stays between the lead and the reps"
    private = texts(await bot.send(LEAD, "/digest"))
    assert head in private and "薄弱" in private, "the lead still sees it"
