"""One engine for every multi-step form: steps, Back, Skip, /cancel, resume after restart.

A flow is data (its steps) plus two functions: `check` turns what the user sent into a
value (or raises InvalidInput, and the flow stays on that step with everything kept),
and `finish` applies the collected values through the services. The position is a
row in `flow_states`; buttons carry its nonce, so a stale or double-tapped button is
refused instead of acting twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from telegram import Message, Update
from telegram.error import BadRequest, NetworkError

from bot.domain.access import Perm, can_edit_customer
from bot.domain.errors import Busy, InvalidInput, NotAllowed, NotFound, Stale
from bot.services import customers as customer_service
from bot.services import flows as flow_store
from bot.storage.models import FlowState
from bot.telegram.context import BotContext
from bot.telegram.routes import router
from bot.telegram.ui import Button, button, chunk, escape, keyboard, reply, shorten

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Input:
    """What the user sent for a step: text, a pressed choice, or a file."""

    text: str = ""
    choice: str | None = None
    file_id: str | None = None
    file_kind: str | None = None


@dataclass(frozen=True)
class Step:
    """One question of a flow."""

    key: str
    prompt: str  # catalogue key; rendered with the flow's data
    optional: bool = False
    choices: tuple[str, ...] = ()
    choice_label: str = ""  # catalogue prefix for choice labels: f"{choice_label}.{value}"
    media: bool = False  # accepts a photo, voice note or file
    skip_label: str = "btn.skip"  # edits say "Clear": skipping empties the field


Check = Callable[[BotContext, dict[str, Any], Step, Input], Awaitable[Any]]
Finish = Callable[[Update, BotContext, dict[str, Any]], Awaitable[None]]
Leave = Callable[[Update, BotContext, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Flow:
    """A named form."""

    name: str
    steps: tuple[Step, ...]
    check: Check
    finish: Finish
    leave: Leave | None = None  # where Back on the first step and /cancel lead
    prompt_params: Callable[[dict[str, Any]], dict[str, Any]] = field(default=lambda d: d)

    def step(self, key: str) -> Step:
        """A step by key."""
        for step in self.steps:
            if step.key == key:
                return step
        raise Stale()

    def after(self, key: str) -> Step | None:
        """The step after `key`, or None at the end."""
        keys = [step.key for step in self.steps]
        index = keys.index(key) + 1
        return self.steps[index] if index < len(keys) else None

    def before(self, key: str) -> Step | None:
        """The step before `key`, or None at the start."""
        keys = [step.key for step in self.steps]
        index = keys.index(key) - 1
        return self.steps[index] if index >= 0 else None


FLOWS: dict[str, Flow] = {}


def register(flow: Flow) -> Flow:
    """Make a flow known to the engine (names are unique)."""
    if flow.name in FLOWS:
        raise ValueError(f"duplicate flow {flow.name}")
    if len({step.key for step in flow.steps}) != len(flow.steps):
        raise ValueError(f"duplicate step in flow {flow.name}")
    FLOWS[flow.name] = flow
    return flow


async def start(update: Update, context: BotContext, name: str, data: dict[str, Any]) -> None:
    """Begin a flow at its first step (replacing any flow the user was in)."""
    flow = FLOWS[name]
    await _goto(update, context, flow, flow.steps[0], data)


async def _goto(update: Update, context: BotContext, flow: Flow, step: Step, data: dict[str, Any]) -> None:
    services, user_id = context.services, context.actor.user_id

    state = await services.db(
        lambda s: flow_store.save_flow(
            s, user_id=user_id, flow=flow.name, step=step.key, data=data, now=services.now()
        )
    )
    context.flow_state = state
    await prompt(update, context, flow, state)


async def prompt(update: Update, context: BotContext, flow: Flow, state: FlowState) -> Message | None:
    """Ask the current step's question with its buttons."""
    step = flow.step(state.step)
    rows: list[list[Button]] = []
    prefix = step.choice_label or str(state.data.get("choice_label", ""))
    # Choices given when the flow started may carry their own labels (a customer's name for an id).
    named = state.data.get("choice_names") or {}
    labels = [
        str(named[c]) if c in named else context.t(f"{prefix}.{c}") if prefix else c
        for c in choices_of(step, state)
    ]
    rows += chunk(
        [
            button(label, "f", state.nonce, "pick", c)
            for label, c in zip(labels, choices_of(step, state), strict=True)
        ],
        2 if len(labels) > 5 or any(len(label) > 12 for label in labels) else 5,
    )
    nav: list[Button] = [button(context.t("btn.back"), "f", state.nonce, "back")]
    if step.optional:
        nav.append(button(context.t(step.skip_label), "f", state.nonce, "skip"))
    nav.append(button(context.t("btn.cancel"), "f", state.nonce, "cancel"))
    rows.append(nav)
    text = context.t(step.prompt, **flow.prompt_params(state.data))
    return await reply(update, context, text, keyboard(rows))


async def still_allowed(context: BotContext, state: FlowState) -> bool:
    """Whether the customer a form is about is still the user's to edit."""
    customer_id = state.data.get("customer_id")
    if customer_id is None:
        return True
    found = await context.services.read(lambda c: customer_service.customer_ref(c, int(customer_id)))
    return found is not None and can_edit_customer(context.actor, found)


async def current(context: BotContext) -> FlowState | None:
    """The user's active flow state, if any (read by the gate with the user's role)."""
    return context.flow_state


async def feed(update: Update, context: BotContext, state: FlowState, given: Input) -> None:
    """Give the current step what the user sent; advance, or explain and stay."""
    flow = FLOWS.get(state.flow)
    if flow is None:
        await cancel(update, context, state, quiet=True)
        return
    step = flow.step(state.step)
    if given.file_id and not step.media:
        await reply(update, context, context.t("error.text_expected"))
        await prompt(update, context, flow, state)
        return
    if given.choice is None and choices_of(step, state) and not given.text and not given.file_id:
        await prompt(update, context, flow, state)
        return
    try:
        value = await flow.check(context, state.data, step, given)
    except InvalidInput as error:
        await reply(update, context, explain(context, error, given.text))
        await prompt(update, context, flow, state)
        return
    except (NotAllowed, NotFound, Stale):
        await _abandon(update, context)
        return
    data = dict(state.data)
    data[step.key] = value
    await _advance(update, context, flow, step, data)


async def _advance(update: Update, context: BotContext, flow: Flow, step: Step, data: dict[str, Any]) -> None:
    following = flow.after(step.key)
    if following is not None:
        await _goto(update, context, flow, following, data)
        return
    finishing = context.flow_state
    try:
        await flow.finish(update, context, data)  # ends the flow in the same transaction
        if context.flow_state is finishing:  # unless finishing handed over to another flow
            context.flow_state = None
    except (NotAllowed, NotFound, Stale):
        # The customer was handed to someone else (or removed) while the form was open:
        # end the form instead of refusing every later message.
        await _abandon(update, context)


async def _abandon(update: Update, context: BotContext) -> None:
    await end(context)
    await reply(update, context, context.t("flow.gone"))


async def end(context: BotContext) -> None:
    """End the user's form without an effect (left, no longer allowed, or done with reading)."""
    user_id = context.actor.user_id
    await context.services.db(lambda s: flow_store.clear_flow(s, user_id))
    context.flow_state = None


async def complete(
    context: BotContext, work: Callable[[Any], Awaitable[T]], *, ends: Callable[[T], bool] | None = None
) -> T:
    """Apply a form's effect (one service call) and end the form in the same transaction.

    `ends` decides from the result whether the form is over (by default it is); a failing
    effect leaves the form where it was, so what the user typed is not lost.
    """
    user_id = context.actor.user_id
    result = await context.services.db(lambda s: flow_store.finish(s, user_id, work, ends=ends))
    if ends is None or ends(result):
        context.flow_state = None
    return result


def explain(context: BotContext, error: InvalidInput, typed: str) -> str:
    """The error, with what the user typed shown back so nothing is lost."""
    text = context.t(error.key, **error.params)
    if typed:
        text += "\n" + context.t("flow.you_typed", typed=shorten(typed, 300))
    return text


async def cancel(update: Update, context: BotContext, state: FlowState, *, quiet: bool = False) -> None:
    """Leave the flow without saving what it had collected."""
    await end(context)
    flow = FLOWS.get(state.flow)
    if not quiet:
        await reply(update, context, context.t("flow.cancelled"), edit=True)
    if flow is not None and flow.leave is not None:
        await flow.leave(update, context, state.data)


@router.callback("f", Perm.ANY, keeps_flow=True)
async def on_flow_button(update: Update, context: BotContext) -> None:
    """Back, Skip, Cancel or a choice within the current step (stale nonces are refused)."""
    query = update.callback_query
    assert query is not None
    args = context.route_args
    state = await current(context)
    if state is None or len(args) < 2 or args[0] != state.nonce:
        await query.answer(context.alert("error.stale"), show_alert=True)
        return
    flow = FLOWS.get(state.flow)
    if flow is None:
        await query.answer(context.alert("error.stale"), show_alert=True)
        return
    await query.answer()
    await _drop_buttons(query.message)
    try:
        await _act(update, context, flow, state, args)
    except Busy:
        # Nothing was saved and the step (and its nonce) is unchanged: give the buttons
        # back, so that the user can press the same one again.
        await _restore_buttons(query.message)
        raise


async def _act(update: Update, context: BotContext, flow: Flow, state: FlowState, args: list[str]) -> None:
    """Do what a form's button asks: cancel, go back, skip, or pick a choice."""
    action, step = args[1], flow.step(state.step)
    if action == "cancel":
        await cancel(update, context, state)
    elif action == "back":
        previous = flow.before(step.key)
        if previous is None:
            await cancel(update, context, state, quiet=True)
        else:
            await _goto(update, context, flow, previous, state.data)
    elif action == "skip" and step.optional:
        data = dict(state.data)
        data.pop(step.key, None)
        await _advance(update, context, flow, step, data)
    elif action == "pick" and len(args) == 3 and args[2] in choices_of(step, state):
        await feed(update, context, state, Input(choice=args[2], text=args[2]))
    else:
        await reply(update, context, context.t("error.stale"))


async def _drop_buttons(message: object) -> None:
    """Take the keyboard off an answered prompt so it cannot be pressed again."""
    if isinstance(message, Message) and message.reply_markup is not None:
        try:
            await message.edit_reply_markup(reply_markup=None)
        except BadRequest as error:
            # Too old to edit: the nonce already makes its buttons harmless.
            log.debug("could not remove buttons: %s", error)
        except NetworkError as error:
            # Telegram is unavailable: the press still counts (the nonce guards the old buttons).
            log.info("could not remove buttons: %s", error)


async def _restore_buttons(message: object) -> None:
    """Put back the keyboard a prompt had when it was pressed."""
    if isinstance(message, Message) and message.reply_markup is not None:
        try:
            await message.edit_reply_markup(reply_markup=message.reply_markup)
        except BadRequest as error:
            log.debug("could not restore buttons: %s", error)


def choices_of(step: Step, state: FlowState) -> tuple[str, ...]:
    """A step's buttons: fixed by the flow, or given when the flow started (field choices)."""
    return step.choices or tuple(str(c) for c in state.data.get("choices", ()))


def typed(given: Input) -> str:
    """The text or chosen value of an input."""
    return given.choice if given.choice is not None else given.text


__all__ = ["FLOWS", "Flow", "Input", "Step", "cancel", "current", "escape", "feed", "start"]
