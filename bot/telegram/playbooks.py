"""Running playbooks in Telegram: the ▶️ Play menu, a run's buttons and typed answers,
/play and /stats.

Each handler reads the update, calls one use case of `bot.services.playbook_runs` (or
`outcome_stats`), which advances the run through the pure engine and saves it in one
transaction, and renders what it returns with `bot.telegram.playbook_view`. While a run
waits for a typed answer, the user's form state points at it, so the next text message
is taken as that answer; any other button leaves the run where it is, to be picked up
again from the card or /play.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from telegram import Update

from bot.domain.access import Perm
from bot.domain.errors import NotAllowed, NotFound, Stale
from bot.playbooks.engine import Given
from bot.services import outcome_stats
from bot.services import playbook_runs as runs
from bot.services.playbook_runs import PLAY_FLOW, Move, Played
from bot.telegram import playbook_view as view
from bot.telegram.context import BotContext
from bot.telegram.flows import explain
from bot.telegram.playbook_view import record_labels, render, render_text
from bot.telegram.routes import Target, router
from bot.telegram.ui import answer_query, answer_while, reply

if TYPE_CHECKING:
    from bot.storage.models import FlowState

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
    move = None if given is None else Move(given, context.lang, view.wording(context))
    try:
        played = await runs.advance(
            context.services, context.actor, customer_id=customer_id, run_id=run_id, move=move, seq=seq
        )
    except (Stale, NotFound, NotAllowed):
        await _gone(update, context)
        return
    await _show(update, context, played, given, edit=edit)


async def _show(
    update: Update, context: BotContext, played: Played, given: Given | None, *, edit: bool
) -> None:
    """What an input led to: the next step, why it did not fit, the end, or a changed playbook."""
    context.flow_state = played.flow
    if played.playbook is None:
        await reply(
            update, context, context.t("playbook.changed"), view.card_button(context, played.run.customer_id)
        )
        return
    if played.finished is not None:
        await answer_query(update)
        await reply(update, context, *view.finished(context, played), edit=True)
        return
    error, query = played.error, update.callback_query
    if error is not None and given is not None and given.action != "text" and query is not None:
        # A button that no longer fits (pressed twice): the pop-up says so, the step stays.
        await query.answer(context.alert(error.key, **error.params), show_alert=True)
        return
    text, markup = render(context, played)
    if error is not None and given is not None:
        # What was typed did not fit: say why, then ask again below it.
        await answer_query(update)
        await reply(update, context, explain(context, error, given.value))
        await reply(update, context, text, markup)
        return
    await answer_while(update, reply(update, context, text, markup, edit=edit))


async def _gone(update: Update, context: BotContext) -> None:
    """The run ended elsewhere, or the customer is no longer the rep's."""
    if update.callback_query is not None:
        await update.callback_query.answer(context.alert("error.stale"), show_alert=True)
    state = context.flow_state
    if state is not None and state.flow == PLAY_FLOW:
        await runs.forget(context.services, context.actor)
        context.flow_state = None
        if update.callback_query is None:
            await reply(update, context, context.t("playbook.gone"))


# ---------------------------------------------------------------- buttons and commands


@router.callback("pl", Perm.EDIT_CUSTOMER, Target.CUSTOMER, edit=True)
async def on_play(update: Update, context: BotContext) -> None:
    """The card's ▶️ Play: the playbooks, the one that fits the stage first, or the run to continue."""
    await answer_query(update)
    found = await runs.menu(context.services, context.actor, context.arg_id(0))
    await reply(update, context, *view.menu(context, found), edit=True)


@router.callback("ps", Perm.EDIT_CUSTOMER, Target.CUSTOMER, edit=True)
async def on_start(update: Update, context: BotContext) -> None:
    """Start a playbook on a customer (an earlier run of the rep's about them is set aside)."""
    played = await runs.start(context.services, context.actor, context.arg_id(0), context.arg(1))
    await _show(update, context, played, None, edit=True)


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
    """⏸: leave the run where it is."""
    await runs.pause(context.services, context.actor, customer_id=cid, run_id=rid, seq=seq)
    context.flow_state = None
    await answer_query(update)
    await reply(update, context, *view.paused(context, cid, rid), edit=True)


async def _stop(update: Update, context: BotContext, cid: int, rid: int, seq: int, action: str) -> None:
    """x asks to confirm, X stops (nothing is written to the card), c carries on."""
    if action == "c":
        await play(update, context, customer_id=cid, run_id=rid, given=None, seq=seq, edit=True)
        return
    confirmed = action == "X"
    await runs.stop(
        context.services, context.actor, customer_id=cid, run_id=rid, seq=seq, confirmed=confirmed
    )
    await answer_query(update)
    if not confirmed:
        await reply(update, context, *view.stop_confirm(context, cid, rid, seq), edit=True)
        return
    context.flow_state = None
    await reply(update, context, *view.stopped(context, cid), edit=True)


@router.command("play", Perm.MEMBER)
async def cmd_play(update: Update, context: BotContext) -> None:
    """/play: the runs in progress, to continue one; or how to start one."""
    running = await runs.in_progress(context.services, context.actor)
    await reply(update, context, *view.runs(context, running))


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
    teams = await outcome_stats.teams_to_pick(context.services.db, actor)
    await reply(update, context, *view.stats_teams(context, teams))


@router.callback("sx", Perm.LEAD, Target.TEAM)
async def on_team_stats(update: Update, context: BotContext) -> None:
    """An admin's pick of a team for /stats."""
    await answer_query(update)
    await _show_stats(update, context, context.arg_id(0), edit=True)


async def _show_stats(update: Update, context: BotContext, team_id: int, *, edit: bool) -> None:
    """A team's statistics, as the user may read them."""
    found = await outcome_stats.team_stats(context.services.db, context.actor, team_id)
    await reply(update, context, *view.stats(context, found), edit=edit)


__all__ = ["PLAY_FLOW", "on_typed", "play", "record_labels", "render", "render_text", "resume"]
