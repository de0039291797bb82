"""Running playbooks: one entry point that renders any step and applies a finished run.

The rep opens a customer and taps ▶️ Play (or types /play to pick up a run). Each
input goes through the pure engine (`bot.playbooks.engine`) inside one transaction
that also saves the run, so a restart, a call or a dead battery never loses a step.
While a run waits for a typed answer, the user's form state points at it, so the
next text message is taken as that answer; any other button leaves the run where
it is, to be picked up again from the card or /play.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from jinja2 import Environment, StrictUndefined, Template, TemplateError
from markupsafe import Markup
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import CopyTextButton, InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.domain.access import Perm, Role
from bot.domain.errors import InvalidInput, NotAllowed, NotFound, Stale
from bot.playbooks import engine
from bot.playbooks.engine import Given, RunState
from bot.playbooks.model import (
    ASKS,
    SHOWN,
    Checklist,
    Choice,
    DateAnswer,
    End,
    FreeText,
    Playbook,
    Scale,
    Tip,
)
from bot.services import customers as customer_service
from bot.services import flows as flow_store
from bot.services import playbooks as svc
from bot.services import team as team_service
from bot.storage.models import Customer, FlowState, PlaybookRun
from bot.telegram.cards.view import stage_label
from bot.telegram.context import BotContext, Services
from bot.telegram.flows import explain
from bot.telegram.routes import Target, router
from bot.telegram.ui import Button, answer_query, answer_while, button, keyboard, reply, shorten

log = logging.getLogger(__name__)

PLAY_FLOW = "play"
COPY_MAX = 256  # Telegram's limit for a copy-text button
SUMMARY_ANSWER_MAX = 300

_env = Environment(autoescape=True, undefined=StrictUndefined)


@lru_cache(maxsize=4096)
def _template(source: str) -> Template:
    return _env.from_string(source)


def render_text(source: str, *, customer: str, answers: dict[str, str]) -> str:
    """A playbook text as HTML, with the customer's name and the answers so far."""
    try:
        return str(_template(source).render(customer=customer, answers=Answers(answers)))
    except TemplateError as error:  # the checker compiles every text; this is a safety net
        log.warning("playbook text failed to render (%s): %r", error, source[:80])
        return html.escape(source, quote=False)


class Answers:
    """Answers by key for templates (`answers.words`); one not given reads as empty.

    Not a dict, so that a key such as `items` or `values` is an answer, not a method.
    """

    def __init__(self, values: dict[str, str]) -> None:
        self._values = values

    def __getattr__(self, key: str) -> str:
        return self._values.get(key, "")

    def __getitem__(self, key: str) -> str:
        return self._values.get(key, "")


def _playbooks(context: BotContext) -> dict[str, Playbook]:
    return context.services.playbooks


def _title(context: BotContext, playbook: Playbook) -> str:
    return playbook.title.get(context.lang)


# ---------------------------------------------------------------- answers as people read them


def answer_text(context: BotContext, step: Any, value: Any) -> str:
    """An answer as the card and the summary show it (option labels, formatted dates)."""
    lang = context.lang
    if isinstance(step, Choice):
        for option in step.options:
            if option.id == value:
                return option.label.get(lang)
        return str(value)
    if isinstance(step, Checklist):
        labels = [o.label.get(lang) for o in step.options if o.id in (value or [])]
        return context.t("plain.list_joiner").join(labels) if labels else context.t("plain.none_ticked")
    if isinstance(step, Scale):
        return f"{value}/5"
    if isinstance(step, DateAnswer) and isinstance(value, dict):
        return f"{value.get('typed', '')} ({value.get('on', '')})"
    return str(value)


def _display_answers(context: BotContext, playbook: Playbook, state: RunState) -> dict[str, str]:
    """Answers as texts take them in: a date as the day it is (`11月25日（周三）`), for scripts."""
    steps = playbook.answer_steps()
    out: dict[str, str] = {}
    for key, value in state.answers.items():
        step = steps.get(key)
        if step is None:
            continue
        if isinstance(value, str) and isinstance(step, FreeText):
            out[key] = value
        elif isinstance(step, DateAnswer) and isinstance(value, dict) and value.get("on"):
            out[key] = context.t("plain.playbook_day", on=date.fromisoformat(value["on"]))
        else:
            out[key] = answer_text(context, step, value)
    return out


# ---------------------------------------------------------------- rendering a step


@dataclass
class View:
    """What to show after an input: the run at a step, or the run finished."""

    run: PlaybookRun
    customer: str
    state: RunState
    wins: dict[str, tuple[int, int]] = field(default_factory=dict)
    error: InvalidInput | None = None
    notice: str | None = None
    finished: svc.Finished | None = None


def render(context: BotContext, playbook: Playbook, view: View) -> tuple[str, InlineKeyboardMarkup]:
    """A step as a message: header, text, ready-to-send wording, and its buttons."""
    state, lang = view.state, context.lang
    step = playbook.step(state.step)
    answers = _display_answers(context, playbook, state)
    body = render_text(step.text.get(lang), customer=view.customer, answers=answers)
    script = None
    if isinstance(step, Tip) and step.script is not None:
        script = render_text(step.script.get(lang), customer=view.customer, answers=answers)
    current = None
    if isinstance(step, ASKS) and step.key in state.answers and not isinstance(step, Checklist):
        current = answer_text(context, step, state.answers[step.key])
    number = sum(1 for s in state.trail if isinstance(playbook.step(s), SHOWN))
    text = context.t(
        "playbook.step",
        title=_title(context, playbook),
        customer=view.customer,
        number=number,
        body=Markup(body),
        script=Markup(script) if script else None,
        hint=context.t(f"playbook.hint.{step.kind}") if isinstance(step, ASKS) else None,
        current=current,
        notice=context.t(view.notice) if view.notice else None,
    )
    return text, _keyboard(context, playbook, view, step, script)


def _keyboard(
    context: BotContext, playbook: Playbook, view: View, step: Any, script: str | None
) -> InlineKeyboardMarkup:
    run = view.run
    cid, rid, seq = run.customer_id, run.id or 0, run.seq

    def b(label: str, action: str, arg: int | str = "") -> InlineKeyboardButton:
        return InlineKeyboardButton(
            shorten(label, 48), callback_data=engine.button_data(cid, rid, seq, action, arg)
        )

    rows: list[list[InlineKeyboardButton]] = []
    if script:
        plain_script = html.unescape(script)
        rows.append(
            [
                InlineKeyboardButton(
                    context.t("btn.copy"), copy_text=CopyTextButton(shorten(plain_script, COPY_MAX))
                )
            ]
        )
    if isinstance(step, Tip):
        rows.append([b(context.t("btn.step_next"), "n")])
    elif isinstance(step, Choice):
        options = _ordered(context, step, view.wins)
        per_row = 1 if any(len(label) > 14 for _, label in options) else 2
        buttons = [b(label, "p", index) for index, label in options]
        rows += [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
    elif isinstance(step, Checklist):
        ticked = set(view.state.answers.get(step.key, []))
        marks = [
            b(("☑️ " if o.id in ticked else "⬜ ") + o.label.get(context.lang), "t", i)
            for i, o in enumerate(step.options)
        ]
        per_row = 1 if any(len(o.label.get(context.lang)) > 12 for o in step.options) else 2
        rows += [marks[i : i + per_row] for i in range(0, len(marks), per_row)]
        rows.append([b(context.t("btn.step_done", count=len(ticked)), "d")])
    elif isinstance(step, Scale):
        rows.append([b(str(score), "p", score) for score in range(1, 6)])
    nav = [b(context.t("btn.back"), "b")]
    if isinstance(step, ASKS) and step.optional:
        nav.append(b(context.t("btn.skip"), "s"))
    nav += [b(context.t("btn.pause"), "z"), b(context.t("btn.stop_run"), "x")]
    rows.append(nav)
    return InlineKeyboardMarkup(rows)


def _ordered(context: BotContext, step: Choice, wins: dict[str, tuple[int, int]]) -> list[tuple[int, str]]:
    """A choice's buttons: ranked by the team's wins when the step asks for it."""
    if step.rank is None:
        return [(i, o.label.get(context.lang)) for i, o in enumerate(step.options)]
    out = []
    for index, option, won, tries in engine.ranked(step, wins):
        label = option.label.get(context.lang)
        if tries:
            label = context.t("btn.ranked", label=label, wins=won, tries=tries)
        out.append((index, label))
    return out


# ---------------------------------------------------------------- the one entry point


async def play(
    update: Update,
    context: BotContext,
    *,
    customer_id: int,
    run_id: int,
    given: Given | None,
    seq: int | None = None,
    edit: bool,
) -> None:
    """Load a run, apply an input (or none: show it again), save, and show what follows."""
    services, actor = context.services, context.actor
    now, today = services.now(), services.today()

    async def work(session: AsyncSession) -> tuple[Playbook | None, View]:
        # The card first: while it is held here, load_run's own check of it reads the
        # session's copy instead of the database again.
        customer = await customer_service.get_customer(session, actor, customer_id, edit=True)
        run = await svc.load_run(session, actor, run_id, customer_id=customer_id)
        if seq is not None and seq != run.seq:
            raise Stale()
        playbook = _playbooks(context).get(run.playbook)
        state = RunState.from_json(run.state)
        if playbook is None or not playbook.has(state.step):
            # The playbook was removed or rewritten since the run began.
            await svc.abandon_run(session, run, now=now)
            await flow_store.clear_flow(session, actor.user_id)
            return None, View(run, customer.name, state)
        view = View(run, customer.name, state)
        if given is not None:
            shown = None
            asked = playbook.step(state.step)
            if given.action == "text" and isinstance(asked, Choice) and asked.rank is not None:
                # A typed number means the button at that place, as ranked on screen.
                ranked = engine.ranked(asked, await _wins(session, run, asked, state))
                shown = [index for index, *_ in ranked]
            result = engine.advance(
                playbook,
                state,
                given,
                today=today,
                check_field=_field_check(today),
                shown=shown,
                lang=context.lang,
            )
            view.error, view.notice = result.error, result.notice
            if result.error is None and result.state.finished:
                view.state = result.state
                view.finished = await _finish(session, context, playbook, run, customer, result.state)
                await flow_store.clear_flow(session, actor.user_id)
                return playbook, view
            if result.error is None and result.state is not state:
                view.state = result.state
                svc.save_state(session, run, result.state, now=now)
        step = playbook.step(view.state.step)
        if isinstance(step, Choice) and step.rank is not None:
            view.wins = await _wins(session, run, step, view.state)
        context.flow_state = await flow_store.save_flow(
            session,
            user_id=actor.user_id,
            flow=PLAY_FLOW,
            step=view.state.step,
            data={"run": run.id, "customer_id": customer_id},
            now=now,
        )
        return playbook, view

    try:
        playbook, view = await services.db(work)
    except (Stale, NotFound, NotAllowed):
        await _gone(update, context)
        return
    if playbook is None:
        context.flow_state = None
        await reply(update, context, context.t("playbook.changed"), _card_button(context, customer_id))
        return
    if view.finished is not None:
        context.flow_state = None
        await _show_finished(update, context, playbook, view)
        return
    query = update.callback_query
    if view.error is not None and given is not None and given.action != "text" and query is not None:
        # A button that no longer fits (pressed twice): the pop-up says so, the step stays.
        await query.answer(context.alert(view.error.key, **view.error.params), show_alert=True)
        return
    text, markup = render(context, playbook, view)
    if view.error is not None and given is not None:
        # What was typed did not fit: say why, then ask again below it.
        await answer_query(update)
        await reply(update, context, explain(context, view.error, given.value))
        await reply(update, context, text, markup)
        return
    await answer_while(update, reply(update, context, text, markup, edit=edit))


async def _wins(
    session: AsyncSession, run: PlaybookRun, step: Choice, state: RunState
) -> dict[str, tuple[int, int]]:
    """The team's wins per option of a ranked choice."""
    assert step.rank is not None
    match = state.answers.get(step.rank.match) if step.rank.match else None
    return await svc.method_wins(session, team_id=run.team_id, kind=step.rank.record, type_=match)


def _field_check(today: date) -> engine.FieldCheck:
    def check(key: str, raw: str) -> None:
        customer_service.validate_field(key, raw, today=today)

    return check


async def _finish(
    session: AsyncSession,
    context: BotContext,
    playbook: Playbook,
    run: PlaybookRun,
    customer: Customer,
    state: RunState,
) -> svc.Finished:
    services, actor, lang = context.services, context.actor, context.lang
    answers = _display_answers(context, playbook, state)
    reminder_texts = {
        step_id: html.unescape(
            render_text(playbook.step(step_id).text.get(lang), customer=customer.name, answers=answers)
        )
        for step_id in state.trail
        if playbook.step(step_id).kind == "remind"
    }
    end = playbook.step(state.step)
    assert isinstance(end, End)
    lines = [
        (
            step.label.get(lang) if step.label else step.id,
            shorten(
                " → ".join(
                    answer_text(context, step, given)
                    for given in [*_tried(step, engine.earlier(state, step.key)), value]
                ),
                300,
            ),
        )
        for step, value in engine.answered(playbook, state)
    ]
    summary = context.t(
        "plain.playbook_summary",
        title=_title(context, playbook),
        outcome=end.label.get(lang) if end.label else end.outcome,
        lines=lines,
    )
    return await svc.finish_run(
        session,
        actor,
        run,
        state=state,
        actions=engine.actions(playbook, state, today=services.today()),
        outcome=end.outcome,
        summary=summary[: customer_service.NOTE_MAX],
        reminder_texts=reminder_texts,
        purchase_note=context.t("plain.playbook_purchase_note", title=_title(context, playbook)),
        now=services.now(),
    )


def _tried(step: Any, values: list[Any]) -> list[Any]:
    """Earlier answers worth showing in the summary: picks made before a retry."""
    return values if isinstance(step, Choice) else []


async def _show_finished(update: Update, context: BotContext, playbook: Playbook, view: View) -> None:
    await answer_query(update)
    end = playbook.step(view.state.step)
    finished = view.finished
    assert finished is not None
    answers = _display_answers(context, playbook, view.state)
    text = context.t(
        "playbook.finished",
        title=_title(context, playbook),
        customer=view.customer,
        body=Markup(render_text(end.text.get(context.lang), customer=view.customer, answers=answers)),
        stage=stage_label(context, finished.stage),
        reminders=[d.isoformat() for d in finished.reminders],
    )
    cid = view.run.customer_id
    markup = keyboard(
        [
            [
                button(context.t("btn.open_card"), "cv", cid, "basic"),
                button(context.t("btn.timeline"), "cl", cid, 0),
            ],
            [button(context.t("btn.play_another"), "pl", cid)],
        ]
    )
    await reply(update, context, text, markup, edit=True)


async def _gone(update: Update, context: BotContext) -> None:
    """The run ended elsewhere, or the customer is no longer the rep's."""
    if update.callback_query is not None:
        await update.callback_query.answer(context.alert("error.stale"), show_alert=True)
    state = context.flow_state
    if state is not None and state.flow == PLAY_FLOW:
        user_id = context.actor.user_id
        await context.services.db(lambda s: flow_store.clear_flow(s, user_id))
        context.flow_state = None
        if update.callback_query is None:
            await reply(update, context, context.t("playbook.gone"))


def _card_button(context: BotContext, cid: int) -> InlineKeyboardMarkup:
    return keyboard([[button(context.t("btn.open_card"), "cv", cid, "basic")]])


# ---------------------------------------------------------------- buttons and commands


@router.callback("pl", Perm.EDIT_CUSTOMER, Target.CUSTOMER, edit=True)
async def on_play(update: Update, context: BotContext) -> None:
    """The card's ▶️ Play: the playbooks, the one that fits the stage first, or the run to continue."""
    await answer_query(update)
    cid, actor = context.arg_id(0), context.actor

    async def load(session: AsyncSession) -> tuple[Customer, PlaybookRun | None]:
        customer = await customer_service.get_customer(session, actor, cid, edit=True)
        return customer, await svc.active_run(session, actor, cid)

    customer, run = await context.services.db(load)
    playbooks = list(_playbooks(context).values())
    fits = [p for p in playbooks if customer.stage in p.stages]
    rows: list[list[Button]] = []
    running = _playbooks(context).get(run.playbook) if run is not None else None
    if run is not None and running is not None:
        rows.append(
            [button(context.t("btn.continue_run", title=_title(context, running)), "pr", cid, run.id)]
        )
    for playbook in [*fits, *(p for p in playbooks if p not in fits)]:
        star = "⭐ " if playbook in fits else ""
        rows.append([button(star + _title(context, playbook), "ps", cid, playbook.id)])
    rows.append([button(context.t("btn.open_card"), "cv", cid, "basic")])
    text = context.t(
        "playbook.choose",
        name=customer.name,
        stage=stage_label(context, customer.stage),
        suggested=bool(fits),
        running=_title(context, running) if running is not None else None,
        about=[(_title(context, p), p.about.get(context.lang)) for p in [*fits]],
    )
    await reply(update, context, text, keyboard(rows), edit=True)


@router.callback("ps", Perm.EDIT_CUSTOMER, Target.CUSTOMER, edit=True)
async def on_start(update: Update, context: BotContext) -> None:
    """Start a playbook on a customer (an earlier run of the rep's about them is set aside)."""
    cid, actor, services = context.arg_id(0), context.actor, context.services
    playbook = _playbooks(context).get(context.arg(1))
    if playbook is None:
        raise Stale()
    state = engine.begin(playbook)
    run = await services.db(
        lambda s: svc.start_run(s, actor, cid, playbook=playbook.id, state=state, now=services.now())
    )
    assert run.id is not None
    await play(update, context, customer_id=cid, run_id=run.id, given=None, edit=True)


@router.callback("pr", Perm.EDIT_CUSTOMER, Target.CUSTOMER, edit=True)
async def on_resume(update: Update, context: BotContext) -> None:
    """Continue a run where it was left."""
    await play(
        update, context, customer_id=context.arg_id(0), run_id=context.arg_id(1), given=None, edit=True
    )


_ACTIONS = {"n": "next", "p": "pick", "t": "toggle", "d": "done", "s": "skip", "b": "back"}


@router.callback("pb", Perm.EDIT_CUSTOMER, Target.CUSTOMER, edit=True, keeps_flow=True)
async def on_step_button(update: Update, context: BotContext) -> None:
    """A button of a playbook step: `pb:<customer>:<run>:<seq>:<action>:<arg>`."""
    args = context.route_args
    cid, rid, seq = context.arg_id(0), context.arg_id(1), context.arg_id(2)
    action = args[3] if len(args) > 3 else ""
    arg = args[4] if len(args) > 4 else ""
    if action in _ACTIONS:
        given = Given(_ACTIONS[action], arg)
        await play(update, context, customer_id=cid, run_id=rid, given=given, seq=seq, edit=True)
    elif action == "z":
        await _pause(update, context, cid, rid, seq)
    elif action in ("x", "X", "c"):
        await _stop(update, context, cid, rid, seq, action)
    else:
        raise Stale()


async def _pause(update: Update, context: BotContext, cid: int, rid: int, seq: int) -> None:
    actor = context.actor

    async def pause(session: AsyncSession) -> None:
        run = await svc.load_run(session, actor, rid, customer_id=cid)
        if run.seq != seq:
            raise Stale()
        await flow_store.clear_flow(session, actor.user_id)

    await context.services.db(pause)
    context.flow_state = None
    await answer_query(update)
    markup = keyboard(
        [
            [
                button(context.t("btn.continue"), "pr", cid, rid),
                button(context.t("btn.open_card"), "cv", cid, "basic"),
            ]
        ]
    )
    await reply(update, context, context.t("playbook.paused"), markup, edit=True)


async def _stop(update: Update, context: BotContext, cid: int, rid: int, seq: int, action: str) -> None:
    """x asks to confirm, X stops (nothing is written to the card), c carries on."""
    actor, now = context.actor, context.services.now()
    if action == "c":
        await play(update, context, customer_id=cid, run_id=rid, given=None, seq=seq, edit=True)
        return

    async def stop(session: AsyncSession) -> None:
        run = await svc.load_run(session, actor, rid, customer_id=cid)
        if run.seq != seq:
            raise Stale()
        if action == "X":
            await svc.abandon_run(session, run, now=now)
            await flow_store.clear_flow(session, actor.user_id)

    await context.services.db(stop)
    await answer_query(update)
    if action == "x":
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        context.t("btn.stop_yes"), callback_data=engine.button_data(cid, rid, seq, "X")
                    ),
                    InlineKeyboardButton(
                        context.t("btn.stop_no"), callback_data=engine.button_data(cid, rid, seq, "c")
                    ),
                ]
            ]
        )
        await reply(update, context, context.t("playbook.stop_confirm"), markup, edit=True)
        return
    context.flow_state = None
    markup = keyboard(
        [
            [
                button(context.t("btn.play_another"), "pl", cid),
                button(context.t("btn.open_card"), "cv", cid, "basic"),
            ]
        ]
    )
    await reply(update, context, context.t("playbook.stopped"), markup, edit=True)


@router.command("play", Perm.MEMBER)
async def cmd_play(update: Update, context: BotContext) -> None:
    """/play: the runs in progress, to continue one; or how to start one."""
    actor = context.actor
    runs = await context.services.db(lambda s: svc.active_runs(s, actor))
    rows: list[list[Button]] = []
    items = []
    for run, name in runs:
        playbook = _playbooks(context).get(run.playbook)
        if playbook is None:
            continue
        items.append((name, _title(context, playbook)))
        label = context.t("btn.run_of", title=_title(context, playbook), name=name)
        rows.append([button(label, "pr", run.customer_id, run.id)])
    rows.append([button(context.t("btn.find"), "fd"), button(context.t("btn.menu"), "m")])
    await reply(update, context, context.t("playbook.runs", runs=items), keyboard(rows))


async def on_typed(update: Update, context: BotContext, state: FlowState, text: str) -> None:
    """A typed message while a run waits: the answer to its step."""
    data = state.data
    cid, rid = data.get("customer_id"), data.get("run")
    if not isinstance(cid, int) or not isinstance(rid, int):
        await _gone(update, context)
        return
    await play(update, context, customer_id=cid, run_id=rid, given=Given("text", text), edit=False)


async def resume(update: Update, context: BotContext, state: FlowState) -> None:
    """/start while a run waits: show its step again."""
    data = state.data
    cid, rid = data.get("customer_id"), data.get("run")
    if not isinstance(cid, int) or not isinstance(rid, int):
        await _gone(update, context)
        return
    await play(update, context, customer_id=cid, run_id=rid, given=None, edit=False)


# ---------------------------------------------------------------- /stats


@router.command("stats", Perm.STAFF)
async def cmd_stats(update: Update, context: BotContext) -> None:
    """/stats: which method wins against which objection, and which closings work."""
    actor = context.actor
    if actor.team_id is not None:
        await _show_stats(update, context, actor.team_id, edit=False)
        return
    # An admin outside any team picks one.
    teams = await context.services.db(lambda s: team_service.teams(s, actor))
    rows = [[button(team.name, "sx", team.id)] for team in teams[:STATS_TEAMS_MAX]]
    rows.append([button(context.t("btn.menu"), "m")])
    await reply(update, context, context.t("playbook.stats_pick", count=len(teams)), keyboard(rows))


STATS_TEAMS_MAX = 30


@router.callback("sx", Perm.LEAD, Target.TEAM)
async def on_team_stats(update: Update, context: BotContext) -> None:
    """An admin's pick of a team for /stats."""
    await answer_query(update)
    await _show_stats(update, context, context.arg_id(0), edit=True)


async def _show_stats(update: Update, context: BotContext, team_id: int, *, edit: bool) -> None:
    actor = context.actor
    stats = await context.services.db(lambda s: svc.stats(s, actor, team_id=team_id))
    labels = _record_labels(context)

    def rows(items: list[svc.StatRow]) -> list[dict[str, Any]]:
        return [
            {
                "kind": r.kind,
                "type": labels.get(("type", r.kind, r.type), r.type),
                "method": labels.get(("method", r.kind, r.method), r.method),
                "wins": r.wins,
                "tries": r.tries,
            }
            for r in items
        ]

    mine = actor.role is Role.REP
    text = context.t(
        "playbook.stats",
        mine=mine,
        team=rows(stats.team),
        reps=[] if mine else [(name, rows(items)) for name, items in stats.reps.items()],
        results=stats.results,
    )
    await reply(update, context, text, keyboard([[button(context.t("btn.menu"), "m")]]), edit=edit)


def _record_labels(context: BotContext) -> dict[tuple[str, str, str], str]:
    return record_labels(context.services, context.lang)


def record_labels(services: Services, lang: str) -> dict[tuple[str, str, str], str]:
    """Names of types and methods, taken from the playbooks' own options (no second list)."""
    out: dict[tuple[str, str, str], str] = {}
    for playbook in services.playbooks.values():
        for step in playbook.steps:
            if step.kind != "record":
                continue
            for column in ("type", "method"):
                key = step.fields.get(column)
                for source in playbook.steps:
                    if isinstance(source, Choice) and source.key == key:
                        for option in source.options:
                            out[(column, step.record, option.id)] = option.label.get(lang)
    return out


__all__ = ["PLAY_FLOW", "on_typed", "play", "record_labels", "render", "resume"]
