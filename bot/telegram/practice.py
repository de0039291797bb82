"""Practice mode in the chat: `/practice` (what is due, topics, the daily reminder, a lead's
proposals) and a session of drills, one at a time, each kind as `drills/README.md` describes.

A session is kept in the user's flow state (flow "practice"): the drill ids it was given,
where it is, the parts answered so far. Every press saves it again with a new nonce, so a
restart resumes it and a stale tap (an older drill's button) is refused. An answer is graded
and stored with the session's next position in one transaction.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import CopyTextButton, InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.domain.access import Perm
from bot.domain.errors import InvalidInput, Stale
from bot.practice import grading
from bot.practice.model import (
    FACTOR_RATINGS,
    FACTORS,
    FLOOR_PREFIX,
    NEEDS,
    NO_SIGNAL,
    OBJECTION_METHODS,
    OBJECTION_TYPES,
    SIGNALS,
    TOPICS,
    ChoiceDrill,
    ClosingDrill,
    ComplaintNeedDrill,
    ComplaintStepsDrill,
    Drill,
    FloorDrill,
    ListeningDrill,
    ObjectionDrill,
    QualifyDrill,
    SignalDrill,
)
from bot.runtime import Runtime
from bot.services import flows as flow_store
from bot.services import practice as svc
from bot.storage.models import FlowState, OutboxMessage
from bot.telegram import flows
from bot.telegram.context import BotContext
from bot.telegram.flows import Flow, Input, Step
from bot.telegram.menu import leave_to_menu
from bot.telegram.routes import router
from bot.telegram.ui import Button, answer_query, button, chunk, escape, keyboard, reply, shorten

FLOW = svc.SESSION_FLOW
TIME_FLOW = "practice_time"
SESSION = 5
COPY_MAX = 256
LETTERS = "ABCDEF"


def _t(context: BotContext, key: str, **params: Any) -> str:
    return context.t(f"practice.chat.{key}", **params)


def _label(context: BotContext, group: str, value: str) -> str:
    return context.t(f"practice.label.{group}.{value}")


# ---------------------------------------------------------------- the /practice screen


@router.command("practice", Perm.MEMBER, keeps_flow=True)
async def cmd_practice(update: Update, context: BotContext) -> None:
    """/practice: what is due, Start, topics, the reminder (and a lead's proposals)."""
    await show_screen(update, context, edit=False)


async def show_screen(update: Update, context: BotContext, *, edit: bool) -> None:
    """The practice screen."""
    actor, services = context.actor, context.services
    if actor.team_id is None:
        await reply(update, context, context.t("error.need_team"))
        return
    now = services.now()
    seen = await services.db(lambda s: svc.overview(s, actor, services.drills, now=now))
    due, new, topics, at, waiting = seen.due, seen.new, seen.topics, seen.reminder, seen.proposals
    text = _t(context, "screen", due=due, new=new, reminder=at)
    rows: list[list[Button]] = []
    state = context.flow_state
    if state is not None and state.flow == FLOW and state.data.get("at", 0) < len(state.data.get("ids", ())):
        rows.append([button(_t(context, "resume"), "xs", "resume")])
    rows.append([button(_t(context, "start", n=SESSION), "xs", "go")])
    rows += chunk(
        [
            button(_t(context, "topic", name=_label(context, "topic", topic), n=n), "xs", "go", topic)
            for topic, n in topics.items()
            if n
        ],
        2,
    )
    remind: list[Button] = [button(_t(context, "set_time"), "xs", "time")]
    if at is not None:
        remind.append(button(_t(context, "reminder_off"), "xs", "off"))
    rows.append(remind)
    if actor.is_lead and waiting:
        rows.append([button(_t(context, "proposals", n=waiting), "xs", "prop")])
    rows.append([button(context.t("btn.menu"), "m")])
    await reply(update, context, text, keyboard(rows), edit=edit)


@router.callback("xs", Perm.MEMBER, keeps_flow=True)
async def on_screen(update: Update, context: BotContext) -> None:
    """The practice screen's buttons (Continue picks up the session in progress; others end it)."""
    action, actor, services = context.arg(0), context.actor, context.services
    state = context.flow_state
    if action == "resume" and state is not None and state.flow == FLOW:
        await answer_query(update)
        await resume(update, context, state)
        return
    if state is not None:
        await flows.end(context)
    if action == "show":
        await answer_query(update)
        await show_screen(update, context, edit=True)
    elif action == "go":
        await answer_query(update)
        topic = context.arg(1, "")
        await _start(update, context, topic if topic in TOPICS else None)
    elif action == "off":
        await services.db(lambda s: svc.set_reminder(s, actor, None, now=services.now()))
        await answer_query(update, context.alert("practice.chat.reminder_is_off"))
        await show_screen(update, context, edit=True)
    elif action == "time":
        await answer_query(update)
        await flows.start(update, context, TIME_FLOW, {})
    elif action == "prop":  # from the practice screen; from a digest, with its team (a new message)
        await answer_query(update)
        team = context.arg(1, "")
        await _show_proposal(update, context, int(team) if team.isdigit() else None, edit=not team)
    elif action == "dec":
        proposal_id, approve = context.arg_id(1), context.arg(2) == "1"
        now = services.now()
        try:
            await services.db(lambda s: svc.decide(s, actor, proposal_id, approve, now=now))
        except Stale:
            await answer_query(update, context.alert("practice.already_decided"))
        else:
            await answer_query(
                update, context.alert("practice.chat.approved" if approve else "practice.chat.rejected")
            )
        team = context.arg(3, "")
        await _show_proposal(update, context, int(team) if team.isdigit() else None)
    else:
        await answer_query(update, context.alert("error.stale"))


async def _show_proposal(
    update: Update, context: BotContext, team_id: int | None = None, *, edit: bool = True
) -> None:
    """The first floor drill waiting for the lead of `team_id` (the actor's team by default),
    with approve and reject; an admin reaches any team's from its digest."""
    actor = context.actor
    team_id = team_id if team_id is not None else actor.team_id
    if team_id is None or not (actor.is_admin or (actor.is_lead and actor.team_id == team_id)):
        await reply(update, context, context.t("error.stale"))
        return
    waiting = await context.services.db(lambda s: svc.proposals(s, actor, team_id=team_id))
    if not waiting:
        await reply(
            update,
            context,
            _t(context, "no_proposals"),
            keyboard([[button(_t(context, "back"), "xs", "show")]]),
            edit=edit,
        )
        return
    first = waiting[0]
    text = _t(
        context,
        "proposal",
        words=first.words,
        signals=[_label(context, "signal", s) for s in first.signals],
        kind=first.kind,
        type=_label(context, "type", first.type) if first.type else None,
        method=_label(context, "method" if first.kind == "objection" else "closing", first.method),
        rep=first.rep,
        customer=first.customer,
        day=first.recorded_at.date().isoformat(),
        left=len(waiting),
    )
    rows = [
        [
            button(_t(context, "approve"), "xs", "dec", first.id, 1, team_id),
            button(_t(context, "reject"), "xs", "dec", first.id, 0, team_id),
        ],
        [button(_t(context, "back"), "xs", "show")],
    ]
    await reply(update, context, text, keyboard(rows), edit=edit)


# ---------------------------------------------------------------- the reminder time


async def _check_time(context: BotContext, data: dict[str, Any], step: Step, given: Input) -> Any:
    actor, services = context.actor, context.services
    return await services.db(lambda s: svc.set_reminder(s, actor, given.text, now=services.now()))


async def _time_set(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    await flows.end(context)
    actor = context.actor
    moved = await context.services.db(lambda s: svc.reminder_moved(s, actor))
    text = _t(context, "reminder_set", at=data["time"])
    if moved is not None:
        text += "\n" + _t(
            context, "reminder_moved", at=moved.at, start=moved.quiet_start, end=moved.quiet_end
        )
    await reply(update, context, text)
    await show_screen(update, context, edit=False)


async def _leave_time(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    await show_screen(update, context, edit=False)


flows.register(
    Flow(
        TIME_FLOW,
        (Step("time", "practice.chat.ask_time"),),
        check=_check_time,
        finish=_time_set,
        leave=_leave_time,
    )
)

# ---------------------------------------------------------------- a session


async def _start(update: Update, context: BotContext, topic: str | None) -> None:
    actor, services = context.actor, context.services
    now = services.now()
    found = await services.db(
        lambda s: svc.next_drills(s, actor, services.drills, topic=topic, now=now, limit=SESSION)
    )
    if not found:
        await reply(update, context, _t(context, "nothing_due"), _end_keyboard(context, topic))
        return
    data = {"ids": [d.id for d in found], "at": 0, "answers": {}, "topic": topic or "", "n": 0, "right": 0}
    await _show(update, context, data, feedback="")


async def _save(context: BotContext, data: dict[str, Any]) -> FlowState:
    services, user_id = context.services, context.actor.user_id
    state = await services.db(
        lambda s: flow_store.save_flow(
            s, user_id=user_id, flow=FLOW, step="drill", data=data, now=services.now()
        )
    )
    context.flow_state = state
    return state


async def _drill(context: BotContext, drill_id: str) -> Drill | None:
    """A session's drill as it is now: None when retired or gone since the session began."""
    if drill_id.startswith(FLOOR_PREFIX):
        team_id = context.actor.team_id
        if team_id is None:
            return None
        floor = await context.services.db(lambda s: svc.floor_drills(s, team_id))
        return next((d for d in floor if d.id == drill_id), None)
    drill = context.services.drills.get(drill_id)
    return None if drill is None or drill.retired else drill


def _parts(drill: Drill, answers: dict[str, Any]) -> list[str]:
    """The parts of a drill asked so far or next, in order."""
    match drill:
        case ObjectionDrill() | FloorDrill(kind="objection"):
            return ["type", "method"]
        case SignalDrill():
            given = answers.get("signal")
            if drill.signal == NO_SIGNAL or given == NO_SIGNAL or drill.method is None:
                return ["signal"]
            return ["signal", "method"]
        case ClosingDrill() | FloorDrill():
            return ["method"]
        case ComplaintNeedDrill():
            return ["need"]
        case ChoiceDrill():
            return ["answer"]
        case QualifyDrill():
            return list(FACTORS)
        case ComplaintStepsDrill():
            return ["order"]
        case ListeningDrill():
            return ["typed", "self"]
    raise ValueError(drill.kind)


def _choices(context: BotContext, drill: Drill, part: str) -> list[tuple[str, str]]:
    """(value, label) of a part's buttons."""
    if isinstance(drill, QualifyDrill):
        return [(v, _label(context, "rating", v)) for v in FACTOR_RATINGS]
    if part == "type":
        return [(v, _label(context, "type", v)) for v in OBJECTION_TYPES]
    if part == "method" and drill.kind == "objection":
        return [(v, _label(context, "method", v)) for v in OBJECTION_METHODS]
    if part == "method":
        options = getattr(drill, "options", ())
        return [(v, _label(context, "closing", v)) for v in options]
    if part == "signal":
        return [(v, _label(context, "signal", v)) for v in (*SIGNALS, NO_SIGNAL)]
    if part == "need":
        return [(v, _label(context, "need", v)) for v in NEEDS]
    if part == "answer" and isinstance(drill, ChoiceDrill):
        return [(o.id, o.label.get(context.lang)) for o in drill.options]
    if part == "self":
        return [(v, _label(context, "self", v)) for v in grading.SELF_GRADES]
    return []


def _shuffled(drill: ComplaintStepsDrill, user_id: int) -> list[str]:
    steps = [step for step, _ in drill.steps]
    random.Random(f"{user_id}:{drill.id}").shuffle(steps)
    return steps


def _prompt(context: BotContext, drill: Drill) -> str:
    if isinstance(drill, FloorDrill):
        return _t(
            context,
            "floor_prompt",
            words=drill.words,
            signals=[_label(context, "signal", s) for s in drill.signals],
            rep=drill.proposer,
            day=drill.recorded_at.date().isoformat(),
        )
    text = getattr(drill, "prompt", None)
    return escape(text.get(context.lang)) if text is not None else ""


async def _show(
    update: Update, context: BotContext, data: dict[str, Any], *, feedback: str, edit: bool = False
) -> None:
    """Show the session's current drill at its next part (skipping drills gone meanwhile), or the end."""
    while data["at"] < len(data["ids"]):
        drill = await _drill(context, data["ids"][data["at"]])
        if drill is not None:
            break
        data = {**data, "at": data["at"] + 1, "answers": {}}
    else:
        await flows.end(context)
        text = "\n\n".join(
            p for p in (feedback, _t(context, "summary", n=data["n"], right=data["right"])) if p
        )
        topic = data.get("topic") or None
        await reply(update, context, text, _end_keyboard(context, topic), edit=edit)
        return
    answers: dict[str, Any] = data["answers"]
    part = next(p for p in _parts(drill, answers) if p not in answers)
    state = await _save(context, data)
    lines = [feedback] if feedback else []
    lines.append(
        _t(
            context,
            "drill_head",
            at=data["at"] + 1,
            of=len(data["ids"]),
            topic=_label(context, "topic", drill.topic),
        )
    )
    lines.append(_prompt(context, drill))
    rows: list[list[Button]] = []
    if isinstance(drill, ComplaintStepsDrill):
        order = _shuffled(drill, context.actor.user_id)
        texts = dict(drill.steps)
        built = list(answers.get("built", []))
        lines.append(
            "\n".join(f"{LETTERS[i]}. {escape(texts[s].get(context.lang))}" for i, s in enumerate(order))
        )
        lines.append(_t(context, "ask_order", built=" → ".join(LETTERS[order.index(s)] for s in built)))
        rows += chunk(
            [button(LETTERS[i], "xd", state.nonce, "o", s) for i, s in enumerate(order) if s not in built], 6
        )
    elif part == "typed":
        lines.append(_t(context, "ask_typed"))
    elif part == "self":
        assert isinstance(drill, ListeningDrill)
        lines.append(_t(context, "model", model=drill.model.get(context.lang)))
        lines.append(_t(context, "hint", hint=drill.hint.get(context.lang)))
        lines.append(_t(context, "ask_self"))
        rows += chunk(
            [button(label, "xd", state.nonce, "p", v) for v, label in _choices(context, drill, part)], 4
        )
    else:
        factor = isinstance(drill, QualifyDrill)
        key = "ask_factor" if factor else f"ask_{part}"
        lines.append(_t(context, key, factor=_label(context, "factor", part) if factor else ""))
        choices = _choices(context, drill, part)
        per_row = 3 if factor else 2
        rows += chunk([button(label, "xd", state.nonce, "p", v) for v, label in choices], per_row)
    rows.append([button(_t(context, "stop"), "xd", state.nonce, "stop")])
    await reply(update, context, "\n\n".join(line for line in lines if line), keyboard(rows), edit=edit)


async def resume(update: Update, context: BotContext, state: FlowState) -> None:
    """Show the session in progress where it was (after a restart, /start or Continue)."""
    data = dict(state.data)
    if data.get("answers", {}).get("graded"):
        data = {**data, "at": data["at"] + 1, "answers": {}}
    await _show(update, context, data, feedback="")


def _end_keyboard(context: BotContext, topic: str | None) -> InlineKeyboardMarkup:
    more = (
        button(_t(context, "more"), "xs", "go", topic) if topic else button(_t(context, "more"), "xs", "go")
    )
    return keyboard([[more, button(context.t("btn.menu"), "m")]])


@router.callback("xd", Perm.MEMBER, keeps_flow=True)
async def on_session(update: Update, context: BotContext) -> None:
    """A button of the drill being practised (a stale nonce is refused, nothing recorded)."""
    query = update.callback_query
    assert query is not None
    state = context.flow_state
    args = context.route_args
    if state is None or state.flow != FLOW or len(args) < 2 or args[0] != state.nonce:
        await query.answer(context.alert("practice.chat.stale"), show_alert=True)
        return
    await query.answer()
    data = dict(state.data)
    action = args[1]
    if action == "stop":
        await _show(update, context, {**data, "ids": data["ids"][: data["at"]]}, feedback="", edit=True)
        return
    if action == "next":
        await _show(update, context, {**data, "at": data["at"] + 1, "answers": {}}, feedback="", edit=False)
        return
    drill = await _drill(context, data["ids"][data["at"]])
    if drill is None or len(args) < 3:
        await _show(
            update, context, {**data, "at": data["at"] + 1, "answers": {}}, feedback=_t(context, "gone")
        )
        return
    answers = dict(data["answers"])
    value = args[2]
    if action == "o" and isinstance(drill, ComplaintStepsDrill):
        built = [*answers.get("built", []), value]
        answers["built"] = built
        if len(built) < len(drill.steps):
            await _show(update, context, {**data, "answers": answers}, feedback="", edit=True)
            return
        answers["order"] = built
        feedback = _feedback(context, drill, "order", built, answers)
    elif action == "p":
        part = next(p for p in _parts(drill, answers) if p not in answers)
        if value not in [v for v, _ in _choices(context, drill, part)]:
            await reply(update, context, context.t("error.stale"))
            return
        answers[part] = value
        feedback = "" if part == "self" else _feedback(context, drill, part, value, answers)
    else:
        await reply(update, context, context.t("error.stale"))
        return
    data["answers"] = answers
    remaining = [p for p in _parts(drill, answers) if p not in answers]
    if remaining:
        await _show(update, context, data, feedback=feedback)
        return
    await _finish_drill(update, context, state, drill, data, feedback)


def _feedback(context: BotContext, drill: Drill, part: str, given: Any, answers: dict[str, Any]) -> str:
    """Right or wrong (with the right answer), and the drill's why once: at the first wrong part
    or the last part (marked in `answers`, so a later part does not repeat it)."""
    right = grading.is_right(drill, part, given)
    expected = grading.expected(drill)[part]
    lines = [_t(context, "right" if right else "wrong")]
    if not right:
        lines.append(_t(context, "right_answer", answer=_answer_label(context, drill, part, expected)))
    last_part = part == _parts(drill, {**{p: "" for p in grading.expected(drill)}, part: given})[-1]
    if (last_part or not right) and not answers.get("explained"):
        answers["explained"] = True
        why = getattr(drill, "why", None)
        if why is not None:
            lines.append(escape(why.get(context.lang)))
        why_not = getattr(drill, "why_not", None)
        if why_not is not None and not right:
            lines.append(escape(why_not.get(context.lang)))
    return "\n".join(lines)


def _answer_label(context: BotContext, drill: Drill, part: str, expected: Any) -> str:
    if part == "order" and isinstance(drill, ComplaintStepsDrill):
        order = _shuffled(drill, context.actor.user_id)
        return " → ".join(LETTERS[order.index(s)] for s in expected)
    return dict(_choices(context, drill, part)).get(str(expected), str(expected))


async def _finish_drill(
    update: Update, context: BotContext, state: FlowState, drill: Drill, data: dict[str, Any], feedback: str
) -> None:
    """Grade, store the answer and the session's next position together, and say when it comes back."""
    answers = {k: v for k, v in data["answers"].items() if k in (*grading.expected(drill), "self")}
    got = grading.grade(drill, answers)
    typed = data["answers"].get("typed")
    done = {**data, "answers": {**data["answers"], "graded": True}, "n": data["n"] + 1}
    done["right"] = data["right"] + int(got.correct == got.total)
    actor, services, nonce = context.actor, context.services, state.nonce
    now = services.now()

    def work(session: AsyncSession) -> Awaitable[tuple[datetime, FlowState]]:
        return svc.answer_in_session(
            session, actor, drill, got, answer_text=typed, nonce=nonce, session_data=done, now=now
        )

    try:
        due, saved = await services.db(work)
    except Stale:
        await reply(update, context, _t(context, "stale"))
        return
    context.flow_state = saved
    lines = [feedback] if feedback else []
    if got.total > 1:  # a drill of several parts: how it went as a whole
        lines.append(_t(context, "score", correct=got.correct, total=got.total))
    model = getattr(drill, "model", None)
    if model is not None:
        lines.append(_t(context, "model", model=model.get(context.lang)))
    lines.append(_t(context, "comes_back", when=_relative(context, due, now)))
    rows: list[list[InlineKeyboardButton]] = []
    if model is not None:
        plain = model.get(context.lang)
        rows.append(
            [InlineKeyboardButton(context.t("btn.copy"), copy_text=CopyTextButton(shorten(plain, COPY_MAX)))]
        )
    rows.append(
        [
            InlineKeyboardButton(_t(context, "next"), callback_data=f"xd:{saved.nonce}:next"),
            InlineKeyboardButton(_t(context, "stop"), callback_data=f"xd:{saved.nonce}:stop"),
        ]
    )
    await reply(update, context, "\n\n".join(lines), InlineKeyboardMarkup(rows))


def _relative(context: BotContext, due: datetime, now: datetime) -> str:
    minutes = max(1, round((due - now).total_seconds() / 60))
    if minutes < 60:
        return _t(context, "in_minutes", n=minutes)
    if minutes < 60 * 20:
        return _t(context, "in_hours", n=round(minutes / 60))
    days = max(1, round(minutes / (60 * 24)))
    return _t(context, "tomorrow") if days == 1 else _t(context, "in_days", n=days)


# ---------------------------------------------------------------- a listening drill's typed answer


async def _check_typed(context: BotContext, data: dict[str, Any], step: Step, given: Input) -> Any:
    drill = await _drill(context, data["ids"][data["at"]]) if data.get("ids") else None
    answers = data.get("answers", {})
    if not isinstance(drill, ListeningDrill) or "typed" in answers or not given.text.strip():
        raise InvalidInput("practice.chat.use_buttons")
    return given.text.strip()


async def _typed(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    typed = data.pop("drill")
    await _show(update, context, {**data, "answers": {**data["answers"], "typed": typed}}, feedback="")


flows.register(
    Flow(
        FLOW,
        (Step("drill", "practice.chat.use_buttons"),),
        check=_check_typed,
        finish=_typed,
        leave=leave_to_menu,
    )
)


# ---------------------------------------------------------------- the daily reminder


async def send_reminder(services: Runtime, bot: Any, row: OutboxMessage) -> Any:
    """A member's daily practice reminder, written as it goes (the care dispatcher sends it):
    what is due and new now, with Start; None when it has nothing to say (`svc.reminder_due`)."""
    now = services.now()
    found = await services.db(lambda s: svc.reminder_due(s, row, services.drills, now=now))
    if found is None:
        return None
    lang = row.language
    text = services.text(lang, "practice.reminder.text", due=found.due, new=found.new)
    markup = keyboard(
        [
            [button(services.text(lang, "practice.chat.start", n=SESSION), "xs", "go")],
            [button(services.text(lang, "practice.chat.set_time"), "xs", "time")],
        ]
    )
    return await bot.send_message(row.chat_id, text, reply_markup=markup)
