"""/practice through the real bot: a session of drills of every kind, the schedule stored,
stale taps refused, the daily reminder, and a lead's proposals becoming drills."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.console.driver import Driver, running_bot
from bot.practice import grading
from bot.practice.model import ChoiceDrill, ComplaintStepsDrill, Drill, ListeningDrill, QualifyDrill
from bot.services import practice as practice_service
from bot.storage.models import (
    Outcome,
    PlaybookRun,
    PracticeCard,
    PracticeReminder,
    PracticeReview,
)
from bot.telegram import practice as practice_chat
from bot.telegram.ui import shorten
from tests.conftest import FakeClock
from tests.e2e.world import LEAD, REP, add_customer, build_world, texts

LANGS = ["zh", "en"]


async def _rows(bot: Driver, model: type, *where: object) -> list[Any]:
    async def load(session):  # type: ignore[no-untyped-def]
        return list((await session.exec(select(model).where(*where))).all())

    return await bot.services.db(load)


def _first_of_each_kind(bot: Driver) -> list[Drill]:
    seen: dict[str, Drill] = {}
    for drill in bot.services.drills.active():
        seen.setdefault(drill.kind, drill)
    return list(seen.values())


def _force(monkeypatch: pytest.MonkeyPatch, drills: list[Drill]) -> None:
    """The session is given exactly these drills (the queue forced, the rest real)."""

    async def forced(*args: Any, **kwargs: Any) -> list[Drill]:
        return list(drills)

    monkeypatch.setattr(practice_chat.svc, "next_drills", forced)


async def _setup(bot: Driver, lang: str) -> int:
    """Everyone onboarded, rep and lead in `lang`; returns the team's id."""
    world = await build_world(bot)
    await _speak(bot, lang)
    return world.team


async def _speak(bot: Driver, lang: str) -> None:
    """The rep and the lead switch to `lang`."""
    if lang == "en":
        bot.user(REP, "王芳", language="en")
        bot.user(LEAD, "李娜", language="en")
        await bot.send(REP, "/language")
        await bot.press(REP, "English")
        await bot.send(LEAD, "/language")
        await bot.press(LEAD, "English")


def _t(bot: Driver, lang: str, key: str, **params: Any) -> str:
    return bot.services.text(lang, key, **params)


def _label(bot: Driver, lang: str, drill: Drill, part: str, value: str) -> str:
    if isinstance(drill, QualifyDrill):
        return _t(bot, lang, f"practice.label.rating.{value}")
    if isinstance(drill, ChoiceDrill):
        return next(o.label.get(lang) for o in drill.options if o.id == value)
    group = {
        "type": "type",
        "signal": "signal",
        "need": "need",
        "self": "self",
    }.get(part)
    if part == "method":
        group = "method" if drill.kind == "objection" else "closing"
    if group is None:
        group = "rating"
    return _t(bot, lang, f"practice.label.{group}.{value}")


async def _answer(bot: Driver, lang: str, drill: Drill, *, right: bool = True) -> list[Any]:
    """Answer the drill on screen with the buttons (right, or the first wrong choice)."""
    if isinstance(drill, ComplaintStepsDrill):
        order = practice_chat._shuffled(drill, REP)
        wanted = [step for step, _ in drill.steps]
        if not right:
            wanted = list(reversed(wanted))
        replies: list[Any] = []
        for step in wanted:
            replies = await bot.press(REP, practice_chat.LETTERS[order.index(step)])
        return replies
    if isinstance(drill, ListeningDrill):
        await bot.send(REP, "I understand — and that is exactly why we should talk.")
        return await bot.press(
            REP, _t(bot, lang, "practice.label.self.good" if right else "practice.label.self.again")
        )
    replies = []
    for part, value in grading.expected(drill).items():
        assert isinstance(value, str)
        if not right:
            choices = practice_chat._choices(_Ctx(bot, lang), drill, part)
            value = next(v for v, _ in choices if v != value)
        replies = await bot.press(REP, shorten(_label(bot, lang, drill, part, value), 40))
        if drill.kind == "signal" and not right:
            break
    return replies


class _Ctx:
    """Enough of a BotContext for `_choices` (texts in a language)."""

    def __init__(self, bot: Driver, lang: str) -> None:
        self.bot, self.lang = bot, lang

    def t(self, key: str, **params: Any) -> str:
        return self.bot.services.text(self.lang, key, **params)


@pytest.mark.parametrize("lang", LANGS)
async def test_a_rep_practises_one_drill_of_each_kind(
    bot: Driver, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    await _setup(bot, lang)
    drills = _first_of_each_kind(bot)
    assert len(drills) == 8
    _force(monkeypatch, drills)
    screen = await bot.send(REP, "/practice")
    assert _t(bot, lang, "practice.chat.start", n=5) in str(screen[-1].buttons())
    await bot.press(REP, _t(bot, lang, "practice.chat.start", n=5))
    for drill in drills:
        replies = await _answer(bot, lang, drill)
        shown = texts(replies)
        assert any(
            _t(bot, lang, "practice.chat.comes_back", when=_t(bot, lang, f"practice.chat.{when}", n=n))
            in shown
            for when, n in [("tomorrow", 1), *(("in_days", d) for d in range(2, 9))]
        ), shown
        if not isinstance(drill, ListeningDrill):
            assert _t(bot, lang, "practice.chat.right") in shown, (drill.id, shown)
        replies = await bot.press(REP, _t(bot, lang, "practice.chat.next"))
    assert _t(bot, lang, "practice.chat.summary", n=8, right=8) in texts(replies)
    reviews = await _rows(bot, PracticeReview, col(PracticeReview.user_id) == REP)
    assert sorted(r.drill_id for r in reviews) == sorted(d.id for d in drills)
    assert all(r.correct == r.total for r in reviews)
    (typed,) = [r.answer_text for r in reviews if r.answer_text]
    assert "exactly why" in typed
    cards = await _rows(bot, PracticeCard, col(PracticeCard.user_id) == REP)
    assert len(cards) == 8


@pytest.mark.parametrize("lang", LANGS)
async def test_a_wrong_answer_comes_back_sooner_and_a_stale_tap_records_nothing(
    bot: Driver, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    await _setup(bot, lang)
    objections = bot.services.drills.by_kind("objection")[:2]
    _force(monkeypatch, objections)
    await bot.send(REP, "/practice")
    await bot.press(REP, _t(bot, lang, "practice.chat.start", n=5))
    first_screen = bot.last(REP)
    replies = await _answer(bot, lang, objections[0], right=False)
    assert _t(bot, lang, "practice.chat.wrong") in texts(replies)
    await bot.press(REP, _t(bot, lang, "practice.chat.next"))
    await _answer(bot, lang, objections[1])
    # A tap on the first drill's old button: refused, nothing recorded twice.
    old = next(
        b for b in first_screen.buttons() if "callback_data" in b and b["callback_data"].startswith("xd:")
    )
    await bot.callback(REP, first_screen.message_id, old["callback_data"])
    reviews = await _rows(bot, PracticeReview, col(PracticeReview.user_id) == REP)
    assert len(reviews) == 2
    cards = {c.drill_id: c for c in await _rows(bot, PracticeCard, col(PracticeCard.user_id) == REP)}
    assert cards[objections[0].id].due < cards[objections[1].id].due


@pytest.mark.parametrize("lang", LANGS)
async def test_the_topic_filter_gives_only_that_topic(bot: Driver, lang: str) -> None:
    await _setup(bot, lang)
    await bot.send(REP, "/practice")
    name = _t(bot, lang, "practice.label.topic.complaint")
    screen = bot.last(REP)
    label = next(b["text"] for b in screen.buttons() if b["text"].startswith(name))
    replies = await bot.press(REP, label)
    assert name in texts(replies)
    ids = await _session_ids(bot)
    assert len(ids) == 5
    assert {drill.topic for drill in map(bot.services.drills.get, ids) if drill is not None} == {"complaint"}


async def _session_ids(bot: Driver) -> list[str]:
    from bot.storage.models import FlowState

    (state,) = await _rows(bot, FlowState, col(FlowState.user_id) == REP)
    return list(state.data["ids"])


async def test_a_session_survives_a_restart(
    engine: AsyncEngine, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_bot(engine=engine, clock=clock) as bot:
        await build_world(bot)
        drills = bot.services.drills.by_kind("closing")[:2]
        _force(monkeypatch, drills)
        await bot.send(REP, "/practice")
        await bot.press(REP, "开始")
        await _answer(bot, "zh", drills[0])
    async with running_bot(engine=engine, clock=clock) as bot:
        bot.user(REP, "王芳")
        replies = await bot.send(REP, "/start")
        assert "继续" in texts(replies), texts(replies)
        replies = await bot.send(REP, "/practice")
        assert "第 2/2 题" not in texts(replies)
        replies = await bot.press(REP, _t(bot, "zh", "practice.chat.resume"))
        assert "第 2/2 题" in texts(replies), texts(replies)
        replies = await _answer(bot, "zh", drills[1])
        assert "答对了" in texts(replies)
        replies = await bot.press(REP, _t(bot, "zh", "practice.chat.next"))
        assert "共 2 题，答对 2 题" in texts(replies)
        reviews = await _rows(bot, PracticeReview, col(PracticeReview.user_id) == REP)
        assert sorted(r.drill_id for r in reviews) == sorted(d.id for d in drills)


@pytest.mark.parametrize("lang", LANGS)
async def test_the_reminder_time_set_bad_and_off(bot: Driver, lang: str) -> None:
    await _setup(bot, lang)
    await bot.send(REP, "/practice")
    await bot.press(REP, _t(bot, lang, "practice.chat.set_time"))
    replies = await bot.send(REP, "25:99")
    assert _t(bot, lang, "practice.bad_time") in texts(replies) and "25:99" in texts(replies)
    replies = await bot.send(REP, "8:30")
    assert "08:30" in texts(replies)
    assert [r.at for r in await _rows(bot, PracticeReminder, col(PracticeReminder.user_id) == REP)] == [
        "08:30"
    ]
    await bot.press(REP, _t(bot, lang, "practice.chat.reminder_off"))
    assert await _rows(bot, PracticeReminder, col(PracticeReminder.user_id) == REP) == []


@pytest.mark.parametrize("lang", LANGS)
async def test_a_lead_approves_a_proposal_which_a_rep_then_practises(bot: Driver, lang: str) -> None:
    world = (await build_world(bot)).team
    customer_id = await add_customer(bot, REP, "张伟")
    await _speak(bot, lang)
    words = "太贵了，别家便宜一半"

    async def propose(session):  # type: ignore[no-untyped-def]
        run = PlaybookRun(
            team_id=world,
            customer_id=customer_id,
            user_id=REP,
            playbook="objection",
            status="done",
            step="end",
        )
        session.add(run)
        await session.flush()
        outcome = Outcome(
            team_id=world,
            customer_id=customer_id,
            user_id=REP,
            run_id=run.id,
            playbook="objection",
            kind="objection",
            type="price",
            method="compensate",
            result="won",
            words=words,
            created_at=datetime(2026, 11, 20, tzinfo=UTC),
        )
        session.add(outcome)
        await session.flush()
        return await practice_service.propose_from_outcome(session, outcome)

    proposal = await bot.services.db(propose)
    assert proposal is not None
    await bot.send(LEAD, "/practice")
    replies = await bot.press(LEAD, _t(bot, lang, "practice.chat.proposals", n=1))
    assert words in texts(replies) and "王芳" in texts(replies)
    replies = await bot.press(LEAD, _t(bot, lang, "practice.chat.approve"))
    assert _t(bot, lang, "practice.chat.no_proposals") in texts(replies)
    await bot.send(REP, "/practice")
    replies = await bot.press(REP, _t(bot, lang, "practice.chat.start", n=5))
    assert words in texts(replies)


@pytest.mark.parametrize("lang", LANGS)
async def test_a_drill_gone_since_the_session_began_is_skipped(
    bot: Driver, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    await _setup(bot, lang)
    first, gone = bot.services.drills.by_kind("choice")[:2]
    _force(monkeypatch, [first, gone])
    await bot.send(REP, "/menu")
    await bot.press(REP, _t(bot, lang, "btn.practise"))
    await bot.press(REP, _t(bot, lang, "practice.chat.start", n=5))
    kept = {key: drill for key, drill in bot.services.drills.by_id.items() if key != gone.id}
    monkeypatch.setattr(bot.services.drills, "by_id", kept)
    await _answer(bot, lang, first)
    replies = await bot.press(REP, _t(bot, lang, "practice.chat.next"))
    assert _t(bot, lang, "practice.chat.summary", n=1, right=1) in texts(replies)
    reviews = await _rows(bot, PracticeReview, col(PracticeReview.user_id) == REP)
    assert [r.drill_id for r in reviews] == [first.id]


@pytest.mark.parametrize("lang", LANGS)
async def test_text_typed_at_a_button_drill_is_refused_and_the_drill_stays(
    bot: Driver, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    await _setup(bot, lang)
    drill = bot.services.drills.by_kind("complaint_need")[0]
    _force(monkeypatch, [drill])
    await bot.send(REP, "/practice")
    await bot.press(REP, _t(bot, lang, "practice.chat.start", n=5))
    replies = await bot.send(REP, "fast fix")
    assert _t(bot, lang, "practice.chat.use_buttons") in texts(replies)
    assert "fast fix" in texts(replies), "what was typed is shown back"
    assert await _rows(bot, PracticeReview, col(PracticeReview.user_id) == REP) == []
    await bot.send(REP, "/practice")
    await bot.press(REP, _t(bot, lang, "practice.chat.resume"))
    replies = await _answer(bot, lang, drill)
    assert _t(bot, lang, "practice.chat.right") in texts(replies)
    assert len(await _rows(bot, PracticeReview, col(PracticeReview.user_id) == REP)) == 1


@pytest.mark.parametrize("lang", LANGS)
async def test_a_drill_of_several_parts_ends_with_how_many_were_right(
    bot: Driver, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    await _setup(bot, lang)
    qualify = next(d for d in bot.services.drills.active() if isinstance(d, QualifyDrill))
    _force(monkeypatch, [qualify])
    await bot.send(REP, "/practice")
    await bot.press(REP, _t(bot, lang, "practice.chat.start", n=5))
    parts = list(grading.expected(qualify).items())
    replies: list[Any] = []
    for place, (_, right) in enumerate(parts):
        value = right if place else next(v for v in ("yes", "no", "unknown") if v != right)  # the first wrong
        replies = await bot.press(REP, _t(bot, lang, f"practice.label.rating.{value}"))
    total = len(parts)
    assert _t(bot, lang, "practice.chat.score", correct=total - 1, total=total) in texts(replies)
