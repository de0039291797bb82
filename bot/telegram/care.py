"""Care messages in Telegram: how each outbox row is sent (`outbox_senders`, which the
dispatcher in `bot.scheduling` calls), the rep's buttons on them, a rep's own 💌
message, and the lead's rules (/care).
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from telegram import CopyTextButton, InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.domain import workdays
from bot.domain.access import Perm
from bot.domain.care import CareRules, Occasion
from bot.domain.dates import day_from_today
from bot.domain.errors import InvalidInput, Stale
from bot.runtime import Runtime
from bot.scheduling import outbox
from bot.scheduling.dispatcher import Senders
from bot.services import care as svc
from bot.services import customers as customer_service
from bot.services import digest as digest_service
from bot.services import flows as flow_store
from bot.services import team as team_service
from bot.storage.models import OutboxMessage
from bot.telegram import flows
from bot.telegram.cards.view import leave_to_card
from bot.telegram.context import BotContext
from bot.telegram.flows import Flow, Input, Step
from bot.telegram.routes import Target, data, router
from bot.telegram.ui import Button, answer_query, button, keyboard, reply, shorten

log = logging.getLogger(__name__)

COPY_MAX = 256


def outbox_senders(services: Runtime) -> Senders:
    """How each kind of outbox row is sent: registered with the dispatcher by the wiring."""
    from bot.telegram import agenda, digest, practice

    t = services.text

    async def to_customer(bot: Any, row: OutboxMessage) -> Any:
        return await bot.send_message(row.chat_id, row.text, parse_mode=None)

    async def via_rep(bot: Any, row: OutboxMessage) -> Any:
        # Not on Telegram: the rep gets the ready text to pass on, and says when it is done.
        who = await services.db(lambda s: outbox.addressee(s, row))
        lang = who.rep_language
        occasion = t(lang, f"care.occasion.{row.occasion}")
        text = t(lang, "care.via_rep", name=who.customer_name, occasion=occasion, text=row.text)
        copy = CopyTextButton(shorten(row.text, COPY_MAX))
        markup = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(t(lang, "btn.copy_message"), copy_text=copy)],
                [
                    InlineKeyboardButton(t(lang, "btn.mark_sent"), callback_data=data("cm", row.id)),
                    InlineKeyboardButton(t(lang, "btn.skip_message"), callback_data=data("ck", row.id)),
                ],
            ]
        )
        return await bot.send_message(row.chat_id, text, reply_markup=markup)

    async def review(bot: Any, row: OutboxMessage) -> Any:
        assert row.id is not None
        who = await services.db(lambda s: outbox.addressee(s, row))
        lang = who.rep_language
        text = t(
            lang,
            "care.review",
            name=who.customer_name,
            occasion=t(lang, f"care.occasion.{row.occasion}"),
            day=row.day.isoformat(),
            text=row.text,
            via_rep=row.channel == "via_rep",
        )
        return await bot.send_message(row.rep_id, text, reply_markup=review_keyboard(services, lang, row.id))

    async def blocked(bot: Any, found: outbox.Blocked) -> Any:
        lang = found.rep_language
        card = keyboard([[button(t(lang, "btn.open_card"), "cv", found.customer_id, "basic")]])
        text = t(lang, "care.blocked", name=found.name)
        return await bot.send_message(found.rep_id, text, reply_markup=card)

    async def morning_agenda(bot: Any, row: OutboxMessage) -> Any:
        """The morning agenda, written now so that it is current; None when there is nothing."""
        found = await agenda.agenda_for(services, row.rep_id, row.team_id)
        if found.empty:
            return None
        text, markup = agenda.render(services, row.language, found)
        return await bot.send_message(row.chat_id, text, reply_markup=markup)

    async def practice_reminder(bot: Any, row: OutboxMessage) -> Any:
        """A member's daily practice reminder, written now; None when there is nothing to say."""
        return await practice.send_reminder(services, bot, row)

    async def daily_digest(bot: Any, row: OutboxMessage) -> Any:
        """A lead's daily digest as it was built ahead (bot.scheduling.digests): only sent here."""
        return await digest.send_planned(services, bot, row)

    return Senders(
        customer=to_customer,
        via_rep=via_rep,
        review=review,
        blocked=blocked,
        by_occasion={
            outbox.AGENDA: morning_agenda,
            outbox.PRACTICE: practice_reminder,
            digest_service.DIGEST: daily_digest,
        },
    )


# ---------------------------------------------------------------- the rep's buttons


def review_keyboard(services: Runtime, lang: str, outbox_id: int) -> InlineKeyboardMarkup:
    """Approve, edit or skip a message waiting for review."""
    t = services.text
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(t(lang, "btn.approve"), callback_data=data("ca", outbox_id)),
                InlineKeyboardButton(t(lang, "btn.edit_message"), callback_data=data("cr", outbox_id)),
            ],
            [InlineKeyboardButton(t(lang, "btn.skip_message"), callback_data=data("ck", outbox_id))],
        ]
    )


@router.callback("ca", Perm.MEMBER)
async def on_approve(update: Update, context: BotContext) -> None:
    """✅ Approve: the message goes at its time, as written."""
    outbox_id, actor, now = context.arg_id(0), context.actor, context.services.now()
    row = await context.services.db(lambda s: svc.approve(s, actor, outbox_id, now=now))
    await _approved(update, context, row, edit=True)


async def _approved(update: Update, context: BotContext, row: OutboxMessage, *, edit: bool) -> None:
    key = "care.too_late" if row.status == "skipped" else "care.approved"
    await answer_query(update, context.alert(key + "_short"))
    when = row.due_at.astimezone(ZoneInfo(context.services.settings.default_timezone))
    await reply(
        update, context, context.t(key, text=row.text, when=when.strftime("%Y-%m-%d %H:%M")), edit=edit
    )


@router.callback("cr", Perm.MEMBER)
async def on_rewrite(update: Update, context: BotContext) -> None:
    """✏️ Edit: the rep types their own wording, which is then approved."""
    outbox_id, actor = context.arg_id(0), context.actor
    row = await context.services.db(lambda s: svc.own_row(s, actor, outbox_id))
    if row.status != "review":
        raise Stale()
    await answer_query(update)
    await flows.start(update, context, "care_edit", {"outbox_id": outbox_id, "current": row.text})


async def _check_rewrite(context: BotContext, data: dict[str, Any], step: Step, given: Input) -> Any:
    text = given.text.strip()
    if not text:
        raise InvalidInput("error.empty")
    if len(text) > REWRITE_MAX:
        raise InvalidInput("error.too_long", limit=REWRITE_MAX, length=len(text))
    return text


async def _finish_rewrite(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    outbox_id, actor, now = int(data["outbox_id"]), context.actor, context.services.now()

    text = str(data["text"])
    row = await flows.complete(context, lambda s: svc.approve(s, actor, outbox_id, now=now, text=text))
    await _approved(update, context, row, edit=False)


REWRITE_MAX = 2000

flows.register(
    Flow("care_edit", (Step("text", "care.rewrite"),), _check_rewrite, _finish_rewrite, leave=None)
)


@router.callback("cm", Perm.MEMBER)
async def on_mark_sent(update: Update, context: BotContext) -> None:
    """✅ Sent: the rep passed a message on to a customer who is not on Telegram."""
    await _rep_action(update, context, svc.mark_sent_by_rep, "care.marked_sent")


@router.callback("ck", Perm.MEMBER)
async def on_skip(update: Update, context: BotContext) -> None:
    """Skip: the rep decided not to send it."""
    await _rep_action(update, context, svc.skip_by_rep, "care.skipped")


async def _rep_action(update: Update, context: BotContext, action: Any, done_key: str) -> None:
    outbox_id, actor, now = context.arg_id(0), context.actor, context.services.now()
    row = await context.services.db(lambda s: action(s, actor, outbox_id, now=now))
    await answer_query(update, context.alert(done_key))
    await reply(update, context, context.t(done_key + "_text", text=row.text), edit=True)


# ---------------------------------------------------------------- the lead's rules: /care


@router.command("care", Perm.LEAD)
async def cmd_care(update: Update, context: BotContext) -> None:
    """/care: the team's care rules, each changed with a tap."""
    actor = context.actor
    if actor.team_id is None:
        await reply(update, context, context.t("error.need_team"))
        return
    team_id = actor.team_id
    team = await context.services.db(lambda s: team_service.get_team(s, actor, team_id))
    rules, week = CareRules.from_settings(team.settings), workdays.work_week(team.settings)
    await _show_rules(update, context, team_id, rules, week, edit=False)


@router.callback("cu", Perm.LEAD, Target.TEAM)
async def on_rule(update: Update, context: BotContext) -> None:
    """One tap on the rules screen: `cu:<team>:<rule>:<arg>`."""
    team_id, actor, now = context.arg_id(0), context.actor, context.services.now()
    rule, arg = context.arg(1), context.arg(2)

    rules, week = await context.services.db(
        lambda s: svc.change_rule(s, actor, team_id, rule=rule, arg=arg, now=now)
    )
    await answer_query(update)
    await _show_rules(update, context, team_id, rules, week, edit=True)


async def _show_rules(
    update: Update,
    context: BotContext,
    team_id: int,
    rules: CareRules,
    week: workdays.WorkWeek,
    *,
    edit: bool,
) -> None:
    t = context.t

    def b(label: str, rule: str, arg: str = "") -> Button:
        return button(label, "cu", team_id, rule, arg)

    def hour(value: int) -> str:
        return f"{value:02d}:00"

    def stepper(rule: str, label: str) -> list[Button]:
        return [b("−", rule, "-"), b(label, rule, "="), b("+", rule, "+")]

    mode = t("btn.care_mode_review" if rules.review else "btn.care_mode_auto")
    rows: list[list[Button]] = [
        [b(mode, "mode", "x")],
        stepper("send_hour", t("btn.care_send", hour=hour(rules.send_hour))),
        stepper("agenda_hour", t("btn.care_agenda", hour=hour(rules.agenda_hour))),
        stepper("quiet_start", t("btn.care_quiet_from", hour=hour(rules.quiet_start))),
        stepper("quiet_end", t("btn.care_quiet_to", hour=hour(rules.quiet_end))),
        stepper("weekly_cap", t("btn.care_cap", count=rules.weekly_cap)),
    ]
    toggles = []
    for occasion in Occasion:
        mark = "✅ " if occasion.value in rules.occasions else "⬜ "
        toggles.append(b(mark + t(f"care.occasion.{occasion.value}"), "occasion", occasion.value))
    rows += [toggles[i : i + 2] for i in range(0, len(toggles), 2)]
    weeks = [
        b(t(f"btn.workdays_{w.value}", current=w is week), workdays.SETTING, w.value)
        for w in workdays.WorkWeek
    ]
    rows += [weeks[i : i + 2] for i in range(0, len(weeks), 2)]
    rows.append([button(t("btn.menu"), "m")])
    text = t("care.rules", review=rules.review, country=rules.country) + "\n" + t("care.workdays")
    await reply(update, context, text, keyboard(rows), edit=edit)


# ---------------------------------------------------------------- a rep's own message


@router.callback("mo", Perm.EDIT_CUSTOMER, Target.CUSTOMER, edit=True)
async def on_one_off(update: Update, context: BotContext) -> None:
    """💌 on a card: write a message for the customer, to go on a day you choose."""
    await answer_query(update)
    cid, actor = context.arg_id(0), context.actor
    customer = await context.services.db(lambda s: customer_service.get_customer(s, actor, cid, edit=True))
    if customer.optin_state == "out":
        await reply(update, context, context.t("care.opted_out"))
        return
    on_telegram = customer.optin_state == "in" and customer.telegram_chat_id is not None
    await flows.start(
        update,
        context,
        "one_off",
        # `form` names this form in the outbox key: finishing it twice plans one message.
        {"customer_id": cid, "name": customer.name, "direct": on_telegram, "form": flow_store.new_nonce()},
    )


async def _check_one_off(context: BotContext, data: dict[str, Any], step: Step, given: Input) -> Any:
    if step.key == "day":
        return day_from_today(given.text, today=context.services.today()).isoformat()
    return await _check_rewrite(context, data, step, given)


async def _finish_one_off(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    cid, actor, now = int(data["customer_id"]), context.actor, context.services.now()
    day = date.fromisoformat(str(data["day"]))

    form = str(data.get("form") or flow_store.new_nonce())  # forms begun before it had one

    text = str(data["text"])
    try:
        planned = await flows.complete(
            context, lambda s: svc.one_off(s, actor, cid, day=day, text=text, now=now, form=form)
        )
    except InvalidInput as error:
        await reply(update, context, flows.explain(context, error, text))
        return
    row = planned.row
    when = row.due_at.astimezone(ZoneInfo(context.services.settings.default_timezone))
    text = context.t(
        "care.one_off_planned",
        name=data["name"],
        when=when.strftime("%Y-%m-%d %H:%M"),
        direct=row.channel == "telegram",
        text=row.text,
        day=row.day.isoformat(),
        order=planned.order,
    )
    await reply(update, context, text, keyboard([[button(context.t("btn.open_card"), "cv", cid, "basic")]]))


flows.register(
    Flow(
        "one_off",
        (Step("day", "care.one_off_day"), Step("text", "care.one_off_text")),
        _check_one_off,
        _finish_one_off,
        leave=leave_to_card,
        prompt_params=lambda d: {"name": d.get("name"), "day": d.get("day"), "direct": d.get("direct")},
    )
)
