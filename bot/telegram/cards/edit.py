"""Adding a customer and changing a card: fields, stage and grade."""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.domain import card
from bot.domain.access import Perm, can_view_customer
from bot.domain.card import Kind, Section, Stage
from bot.domain.errors import InvalidInput
from bot.services import customer_search
from bot.services import customers as svc
from bot.telegram import flows
from bot.telegram.cards.view import field_value, leave_to_card, show_card, stage_label
from bot.telegram.context import BotContext
from bot.telegram.flows import Flow, Input, Step, typed
from bot.telegram.menu import leave_to_menu
from bot.telegram.routes import Target, router
from bot.telegram.ui import answer_query, button, chunk, keyboard, reply

# ---------------------------------------------------------------- adding


@router.command("new", Perm.MEMBER)
async def cmd_new(update: Update, context: BotContext) -> None:
    """/new: the guided form for a new customer."""
    await _start_new(update, context)


@router.callback("nw", Perm.MEMBER)
async def on_new(update: Update, context: BotContext) -> None:
    """The New customer button."""
    await answer_query(update)
    await _start_new(update, context)


async def _start_new(update: Update, context: BotContext) -> None:
    if context.actor.team_id is None:
        await reply(update, context, context.t("error.need_team"))
        return
    await flows.start(update, context, "new", {})


async def _check_new(context: BotContext, data: dict[str, Any], step: Step, given: Input) -> str:
    value = typed(given)
    spec = card.field(step.key)
    probe = svc.validate_field(spec.key, value, today=context.services.now().date())
    if spec.kind is Kind.PHONE:
        team_id = context.actor.team_id or 0
        digits = probe.phone_digits or ""
        same = await context.services.db(
            lambda s: customer_search.find_by_phone(s, team_id=team_id, digits=digits)
        )
        if same is not None:
            if can_view_customer(context.actor, svc.ref(same)):
                raise InvalidInput("error.phone_exists", name=same.name)
            raise InvalidInput("error.phone_exists_other")
    return value


async def _finish_new(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    actor, now = context.actor, context.services.now()
    values = {key: data[key] for key in card.NEW_CUSTOMER_FORM if data.get(key)}

    customer = await flows.complete(context, lambda s: svc.create_customer(s, actor, values=values, now=now))
    assert customer.id is not None
    await show_card(update, context, customer.id, notice=context.t("card.created"))


flows.register(
    Flow(
        "new",
        (
            Step("name", "new.name"),
            Step("phone", "new.phone", optional=True),
            Step("company", "new.company", optional=True),
            Step(
                "source_channel",
                "new.source",
                optional=True,
                choices=card.SOURCE_CHANNELS,
                choice_label="choice.source_channel",
            ),
        ),
        _check_new,
        _finish_new,
        leave=leave_to_menu,
    )
)


# ---------------------------------------------------------------- editing


@router.callback("ce", Perm.EDIT_CUSTOMER, Target.CUSTOMER, edit=True)
async def on_edit_section(update: Update, context: BotContext) -> None:
    """Pick which field of a section to edit."""
    await answer_query(update)
    args = context.route_args
    cid = context.arg_id(0)
    try:
        sect = Section(args[1] if len(args) > 1 else "basic")
    except ValueError:
        sect = Section.BASIC
    fields = [button(context.t(f"field.{spec.key}"), "cf", cid, spec.key) for spec in card.fields_of(sect)]
    rows = chunk(fields, 2)
    rows.append([button(context.t("btn.back"), "cv", cid, sect.value)])
    await reply(
        update,
        context,
        context.t("edit.pick", section=context.t(f"section.{sect.value}")),
        keyboard(rows),
        edit=True,
    )


@router.callback("cf", Perm.EDIT_CUSTOMER, Target.CUSTOMER, edit=True)
async def on_edit_field(update: Update, context: BotContext) -> None:
    """Ask for a new value of one field."""
    await answer_query(update)
    cid, spec = context.arg_id(0), card.field(context.arg(1))
    actor = context.actor
    customer = await context.services.db(lambda s: svc.get_customer(s, actor, cid, edit=True))
    current = field_value(context, customer, spec)
    if spec.kind is Kind.SCORE:
        choices: tuple[str, ...] = ("1", "2", "3", "4", "5")
    else:
        choices = spec.choices
    flow_name = "edit_choice" if choices else ("edit_required" if spec.kind is Kind.NAME else "edit")
    data = {
        "customer_id": cid,
        "field": spec.key,
        "label": context.t(f"field.{spec.key}"),
        "current": current,
        "hint": context.t(f"hint.{spec.kind.value}"),
        "section": spec.section.value,
    }
    if choices:
        data["choices"] = list(choices)
        data["choice_label"] = f"choice.{spec.key}" if spec.choices else ""
    await flows.start(update, context, flow_name, data)


async def _check_edit(context: BotContext, data: dict[str, Any], step: Step, given: Input) -> str:
    value = typed(given)
    spec = card.field(data["field"])
    if spec.kind is Kind.SCORE or spec.choices:
        allowed = spec.choices or ("1", "2", "3", "4", "5")
        if value not in allowed:
            raise InvalidInput("error.pick_button")
    svc.validate_field(spec.key, value, today=context.services.now().date())
    return value


async def _finish_edit(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    actor, now = context.actor, context.services.now()
    cid, key = int(data["customer_id"]), str(data["field"])
    raw = data.get("value")

    await flows.complete(context, lambda s: svc.update_field(s, actor, cid, key=key, raw=raw, now=now))
    await show_card(update, context, cid, data.get("section", "basic"), notice=context.t("card.saved"))


flows.register(
    Flow(
        "edit",
        (Step("value", "edit.prompt", optional=True, skip_label="btn.clear"),),
        _check_edit,
        _finish_edit,
        leave=leave_to_card,
    )
)
flows.register(
    Flow(
        "edit_required",
        (Step("value", "edit.prompt"),),
        _check_edit,
        _finish_edit,
        leave=leave_to_card,
    )
)
flows.register(
    Flow(
        "edit_choice",
        (Step("value", "edit.prompt_choice", optional=True, skip_label="btn.clear"),),
        _check_edit,
        _finish_edit,
        leave=leave_to_card,
    )
)


# ---------------------------------------------------------------- stage and grade


@router.callback("cs", Perm.EDIT_CUSTOMER, Target.CUSTOMER, edit=True)
async def on_stage_menu(update: Update, context: BotContext) -> None:
    """Offer the stages."""
    await answer_query(update)
    cid = context.arg_id(0)
    stages = [button(stage_label(context, s.value), "ss", cid, s.value) for s in Stage]
    rows = [*chunk(stages, 3), [button(context.t("btn.back"), "cv", cid, "basic")]]
    await reply(update, context, context.t("stage.pick"), keyboard(rows), edit=True)


@router.callback("ss", Perm.EDIT_CUSTOMER, Target.CUSTOMER, edit=True)
async def on_set_stage(update: Update, context: BotContext) -> None:
    """Move the customer to the chosen stage."""
    actor, now = context.actor, context.services.now()
    cid = context.arg_id(0)
    await context.services.db(lambda s: svc.set_stage(s, actor, cid, stage=context.arg(1), now=now))
    await answer_query(update, context.alert("card.saved_short"))
    await show_card(update, context, cid, edit=True)


@router.callback("cg", Perm.EDIT_CUSTOMER, Target.CUSTOMER, edit=True)
async def on_grade_menu(update: Update, context: BotContext) -> None:
    """Offer A, B, C or automatic grading."""
    await answer_query(update)
    cid = context.arg_id(0)
    grades = [button(g, "sg", cid, g) for g in card.GRADES]
    grades.append(button(context.t("btn.grade_auto"), "sg", cid, "auto"))
    rows = [grades, [button(context.t("btn.back"), "cv", cid, "basic")]]
    await reply(update, context, context.t("grade.pick"), keyboard(rows), edit=True)


@router.callback("sg", Perm.EDIT_CUSTOMER, Target.CUSTOMER, edit=True)
async def on_set_grade(update: Update, context: BotContext) -> None:
    """Set the grade by hand (or back to automatic)."""
    actor, now = context.actor, context.services.now()
    cid, grade = context.arg_id(0), (None if context.arg(1) == "auto" else context.arg(1))
    await context.services.db(lambda s: svc.set_grade(s, actor, cid, grade=grade, now=now))
    await answer_query(update, context.alert("card.saved_short"))
    await show_card(update, context, cid, edit=True)
