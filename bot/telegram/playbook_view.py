"""How playbook runs look: a step as a message with its buttons, a finished run, the
▶️ Play menu, /play's list, /stats; and the wording a finished run writes to the card.

Pure renderers over what `bot.services.playbook_runs` and `outcome_stats` return; the
texts come from the catalogues (`playbook.*`, `btn.*`, `plain.*`) and the playbook
files (rendered with Jinja2, the customer's name and the answers so far).
"""

from __future__ import annotations

import html
import logging
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, StrictUndefined, Template, TemplateError
from markupsafe import Markup
from telegram import CopyTextButton, InlineKeyboardButton, InlineKeyboardMarkup

from bot.domain.access import Role
from bot.playbooks import engine
from bot.playbooks.engine import RunState
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
from bot.runtime import Runtime
from bot.services import outcome_stats
from bot.services.playbook_runs import FinishTexts, Menu, Played, Running, Wording
from bot.telegram.cards.view import stage_label
from bot.telegram.context import BotContext
from bot.telegram.ui import Button, button, keyboard, shorten

if TYPE_CHECKING:
    from bot.storage.models import Team

log = logging.getLogger(__name__)

COPY_MAX = 256  # Telegram's limit for a copy-text button
SUMMARY_ANSWER_MAX = 300
STATS_TEAMS_MAX = 30

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


def title(context: BotContext, playbook: Playbook) -> str:
    """A playbook's title in the user's language."""
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


def display_answers(context: BotContext, playbook: Playbook, state: RunState) -> dict[str, str]:
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


# ---------------------------------------------------------------- a step


def render(context: BotContext, played: Played) -> tuple[str, InlineKeyboardMarkup]:
    """A step as a message: header, text, ready-to-send wording, and its buttons."""
    playbook, state, lang = played.playbook, played.state, context.lang
    assert playbook is not None
    step = playbook.step(state.step)
    answers = display_answers(context, playbook, state)
    body = render_text(step.text.get(lang), customer=played.customer, answers=answers)
    script = None
    if isinstance(step, Tip) and step.script is not None:
        script = render_text(step.script.get(lang), customer=played.customer, answers=answers)
    current = None
    if isinstance(step, ASKS) and step.key in state.answers and not isinstance(step, Checklist):
        current = answer_text(context, step, state.answers[step.key])
    number = sum(1 for s in state.trail if isinstance(playbook.step(s), SHOWN))
    text = context.t(
        "playbook.step",
        title=title(context, playbook),
        customer=played.customer,
        number=number,
        body=Markup(body),
        script=Markup(script) if script else None,
        hint=context.t(f"playbook.hint.{step.kind}") if isinstance(step, ASKS) else None,
        current=current,
        notice=context.t(played.notice) if played.notice else None,
    )
    return text, _keyboard(context, played, step, script)


def _keyboard(context: BotContext, played: Played, step: Any, script: str | None) -> InlineKeyboardMarkup:
    run = played.run
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
        options = _ordered(context, step, played.wins)
        per_row = 1 if any(len(label) > 14 for _, label in options) else 2
        buttons = [b(label, "p", index) for index, label in options]
        rows += [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
    elif isinstance(step, Checklist):
        ticked = set(played.state.answers.get(step.key, []))
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


# ---------------------------------------------------------------- a finished run


def wording(context: BotContext) -> Wording:
    """The wording a finished run writes to the card, in the user's language."""

    def texts(playbook: Playbook, state: RunState, customer: str) -> FinishTexts:
        lang = context.lang
        answers = display_answers(context, playbook, state)
        reminders = {
            step_id: html.unescape(
                render_text(playbook.step(step_id).text.get(lang), customer=customer, answers=answers)
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
                    SUMMARY_ANSWER_MAX,
                ),
            )
            for step, value in engine.answered(playbook, state)
        ]
        summary = context.t(
            "plain.playbook_summary",
            title=title(context, playbook),
            outcome=end.label.get(lang) if end.label else end.outcome,
            lines=lines,
        )
        purchase_note = context.t("plain.playbook_purchase_note", title=title(context, playbook))
        return FinishTexts(summary, reminders, purchase_note)

    return texts


def _tried(step: Any, values: list[Any]) -> list[Any]:
    """Earlier answers worth showing in the summary: picks made before a retry."""
    return values if isinstance(step, Choice) else []


def finished(context: BotContext, played: Played) -> tuple[str, InlineKeyboardMarkup]:
    """A finished run: its end text, the stage now, the reminders set; the card, timeline, another."""
    playbook, done = played.playbook, played.finished
    assert playbook is not None and done is not None
    end = playbook.step(played.state.step)
    answers = display_answers(context, playbook, played.state)
    text = context.t(
        "playbook.finished",
        title=title(context, playbook),
        customer=played.customer,
        body=Markup(render_text(end.text.get(context.lang), customer=played.customer, answers=answers)),
        stage=stage_label(context, done.stage),
        reminders=[d.isoformat() for d in done.reminders],
    )
    cid = played.run.customer_id
    markup = keyboard(
        [
            [
                button(context.t("btn.open_card"), "cv", cid, "basic"),
                button(context.t("btn.timeline"), "cl", cid, 0),
            ],
            [button(context.t("btn.play_another"), "pl", cid)],
        ]
    )
    return text, markup


# ---------------------------------------------------------------- menus and buttons around a run


def menu(context: BotContext, found: Menu) -> tuple[str, InlineKeyboardMarkup]:
    """The ▶️ Play menu: continue the run in progress, the fitting playbooks (⭐) first."""
    cid, running = found.customer_id, found.running
    rows: list[list[Button]] = []
    if running is not None and found.run_id is not None:
        rows.append(
            [button(context.t("btn.continue_run", title=title(context, running)), "pr", cid, found.run_id)]
        )
    for playbook in found.fitting:
        rows.append([button("⭐ " + title(context, playbook), "ps", cid, playbook.id)])
    for playbook in found.others:
        rows.append([button(title(context, playbook), "ps", cid, playbook.id)])
    rows.append([button(context.t("btn.open_card"), "cv", cid, "basic")])
    text = context.t(
        "playbook.choose",
        name=found.name,
        stage=stage_label(context, found.stage),
        suggested=bool(found.fitting),
        running=title(context, running) if running is not None else None,
        about=[(title(context, p), p.about.get(context.lang)) for p in found.fitting],
    )
    return text, keyboard(rows)


def runs(context: BotContext, running: list[Running]) -> tuple[str, InlineKeyboardMarkup]:
    """/play: the runs in progress, a button to continue each."""
    rows: list[list[Button]] = []
    items = []
    for item in running:
        items.append((item.customer, title(context, item.playbook)))
        label = context.t("btn.run_of", title=title(context, item.playbook), name=item.customer)
        rows.append([button(label, "pr", item.run.customer_id, item.run.id)])
    rows.append([button(context.t("btn.find"), "fd"), button(context.t("btn.menu"), "m")])
    return context.t("playbook.runs", runs=items), keyboard(rows)


def card_button(context: BotContext, cid: int) -> InlineKeyboardMarkup:
    """Only the card's button (after a run whose playbook changed)."""
    return keyboard([[button(context.t("btn.open_card"), "cv", cid, "basic")]])


def paused(context: BotContext, cid: int, rid: int) -> tuple[str, InlineKeyboardMarkup]:
    """A run left where it is: continue it, or the card."""
    markup = keyboard(
        [
            [
                button(context.t("btn.continue"), "pr", cid, rid),
                button(context.t("btn.open_card"), "cv", cid, "basic"),
            ]
        ]
    )
    return context.t("playbook.paused"), markup


def stop_confirm(context: BotContext, cid: int, rid: int, seq: int) -> tuple[str, InlineKeyboardMarkup]:
    """Stop the run? Yes (X) or carry on (c), on the run's own buttons."""
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
    return context.t("playbook.stop_confirm"), markup


def stopped(context: BotContext, cid: int) -> tuple[str, InlineKeyboardMarkup]:
    """A run stopped: play another, or the card."""
    markup = keyboard(
        [
            [
                button(context.t("btn.play_another"), "pl", cid),
                button(context.t("btn.open_card"), "cv", cid, "basic"),
            ]
        ]
    )
    return context.t("playbook.stopped"), markup


# ---------------------------------------------------------------- /stats


def stats_teams(context: BotContext, teams: list[Team]) -> tuple[str, InlineKeyboardMarkup]:
    """An admin outside any team picks one for /stats."""
    rows = [[button(team.name, "sx", team.id)] for team in teams[:STATS_TEAMS_MAX]]
    rows.append([button(context.t("btn.menu"), "m")])
    return context.t("playbook.stats_pick", count=len(teams)), keyboard(rows)


def stats(context: BotContext, found: outcome_stats.Stats) -> tuple[str, InlineKeyboardMarkup]:
    """/stats: which method wins against which objection, and which closings work."""
    labels = record_labels(context.services, context.lang)

    def rows(items: list[outcome_stats.StatRow]) -> list[dict[str, Any]]:
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

    mine = context.actor.role is Role.REP
    text = context.t(
        "playbook.stats",
        mine=mine,
        team=rows(found.team),
        reps=[] if mine else [(name, rows(items)) for name, items in found.reps.items()],
        results=found.results,
    )
    return text, keyboard([[button(context.t("btn.menu"), "m")]])


def record_labels(services: Runtime, lang: str) -> dict[tuple[str, str, str], str]:
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
