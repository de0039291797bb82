"""The rep's morning agenda, `/today`, and reminders (`/remind`, ⏰ on the card)."""

from __future__ import annotations

from datetime import date
from typing import Any

from telegram import InlineKeyboardMarkup, Update

from bot.domain.access import Perm
from bot.domain.dates import split_reminder, when_from_today
from bot.domain.errors import InvalidInput
from bot.runtime import Runtime
from bot.services import agenda as svc
from bot.services import customers as customer_service
from bot.storage.models import Customer, Task
from bot.telegram import flows
from bot.telegram.cards.view import leave_to_card
from bot.telegram.context import BotContext
from bot.telegram.flows import Flow, Input, Step
from bot.telegram.menu import leave_to_menu
from bot.telegram.routes import Target, router
from bot.telegram.ui import Button, answer_query, button, keyboard, reply, shorten, time_label, when_label

TASK_LABEL_MAX = 28


def render(services: Runtime, lang: str, agenda: svc.Agenda) -> tuple[str, InlineKeyboardMarkup]:
    """The agenda as a message, with a ✅ for each follow-up and a button per customer."""

    def t(key: str, **params: Any) -> str:
        return services.text(lang, key, **params)

    def task_row(task: Task, name: str | None) -> dict[str, Any]:
        due, time_of_day = task.due_on.isoformat(), time_label(t, task.time_of_day)
        return {"text": task.text, "name": name, "due": due, "time": time_of_day}

    text = services.text(
        lang,
        "agenda.text",
        today=agenda.today.isoformat(),
        due=[task_row(task, n) for task, n in agenda.due],
        overdue=[task_row(task, n) for task, n in agenda.overdue],
        overdue_more=agenda.overdue_total - len(agenda.overdue),
        birthdays=[name for _, name in agenda.birthdays],
        behind=[
            {
                "name": b.name,
                "days": b.days,
                "every": b.every,
                "why": services.text(lang, f"agenda.why.{b.reason}", detail=b.detail),
            }
            for b in agenda.behind
        ],
        behind_more=agenda.behind_total - len(agenda.behind),
        empty=agenda.empty,
    )
    rows: list[list[Button]] = []
    for task, _ in [*agenda.overdue, *agenda.due]:
        label = services.text(lang, "btn.task_done", text=shorten(task.text, TASK_LABEL_MAX))
        rows.append([button(label, "td", task.id)])
    # A reminder about a customer opens their card, as birthdays and overdue contacts do.
    linked = [(task.customer_id, n) for task, n in [*agenda.overdue, *agenda.due] if task.customer_id and n]
    people = (
        [(cid, name) for cid, name in agenda.birthdays]
        + linked
        + [(b.customer_id, b.name) for b in agenda.behind]
    )
    seen: set[int] = set()
    cards = []
    for cid, name in people:
        if cid not in seen:
            seen.add(cid)
            cards.append(button("📇 " + name, "cv", cid, "basic"))
    rows += [cards[i : i + 2] for i in range(0, min(len(cards), 8), 2)]
    rows.append(
        [button(services.text(lang, "btn.remind"), "rn"), button(services.text(lang, "btn.menu"), "m")]
    )
    return text, keyboard(rows)


async def agenda_for(services: Runtime, rep_id: int, team_id: int) -> svc.Agenda:
    """A rep's agenda for today (in the bot's timezone)."""
    today, now = services.today(), services.now()
    return await services.db(lambda s: svc.agenda(s, rep_id=rep_id, team_id=team_id, today=today, now=now))


@router.command("today", Perm.MEMBER)
async def cmd_today(update: Update, context: BotContext) -> None:
    """/today: the agenda, now."""
    await _show(update, context, edit=False)


async def _show(update: Update, context: BotContext, *, edit: bool) -> None:
    actor = context.actor
    if actor.team_id is None:
        await reply(update, context, context.t("error.need_team"))
        return
    found = await agenda_for(context.services, actor.user_id, actor.team_id)
    text, markup = render(context.services, context.lang, found)
    await reply(update, context, text, markup, edit=edit)


@router.callback("td", Perm.MEMBER)
async def on_task_done(update: Update, context: BotContext) -> None:
    """✅ a follow-up: done."""
    task_id, actor, now = context.arg_id(0), context.actor, context.services.now()
    task = await context.services.db(lambda s: svc.finish_task(s, actor, task_id, now=now))
    done = "agenda.done_complaint" if task.outcome_id is not None else "agenda.done"
    await answer_query(update, context.alert(done, text=shorten(task.text, 60)))
    await _show(update, context, edit=True)


# ---------------------------------------------------------------- reminders


@router.command("remind", Perm.MEMBER)
async def cmd_remind(update: Update, context: BotContext) -> None:
    """/remind [when what]: a reminder at once, or a short form asking when and what."""
    message = update.effective_message
    raw = (message.text or "").partition(" ")[2] if message else ""
    if raw.strip():
        found = split_reminder(raw, today=context.services.today())
        if found is not None:
            when, what = found
            await _place(update, context, {"when": when.day.isoformat(), "time": when.time, "what": what})
            return
    await flows.start(update, context, "remind", {})


@router.callback("rn", Perm.MEMBER)
async def on_remind(update: Update, context: BotContext) -> None:
    """⏰ from the agenda: a new reminder."""
    await answer_query(update)
    await flows.start(update, context, "remind", {})


@router.callback("rm", Perm.EDIT_CUSTOMER, Target.CUSTOMER, edit=True)
async def on_remind_customer(update: Update, context: BotContext) -> None:
    """⏰ on a card: a reminder about this customer."""
    await answer_query(update)
    cid, actor = context.arg_id(0), context.actor
    customer = await context.services.db(lambda s: customer_service.get_customer(s, actor, cid, edit=True))
    await flows.start(update, context, "remind", {"customer_id": cid, "name": customer.name})


async def _check(context: BotContext, data: dict[str, Any], step: Step, given: Input) -> Any:
    if step.key == "when":
        when = when_from_today(given.text, today=context.services.today())
        shown = when_label(context.t, when.day, when.time)
        return {"on": when.day.isoformat(), "time": when.time, "shown": shown}
    text = given.text.strip()
    if not text:
        raise InvalidInput("error.empty")
    if len(text) > svc.TASK_TEXT_MAX:
        raise InvalidInput("error.too_long", limit=svc.TASK_TEXT_MAX, length=len(text))
    return text


def _when_shown(data: dict[str, Any]) -> Any:
    when = data.get("when")
    return when.get("shown") if isinstance(when, dict) else when


async def _finish(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    when = data["when"]
    day, time_of_day = (when["on"], when.get("time")) if isinstance(when, dict) else (when, None)
    pending = {"when": day, "time": time_of_day, "what": str(data["what"])}
    if data.get("customer_id") is not None:
        pending["customer_id"] = int(data["customer_id"])
    await _place(update, context, pending)


async def _place(update: Update, context: BotContext, pending: dict[str, Any], *, link: bool = True) -> None:
    """Save a reminder (linked to the customer it names), or ask which customer it means."""
    actor, services = context.actor, context.services
    today, now, draft = services.today(), services.now(), _draft(pending)
    try:
        placed = await flows.complete(
            context,
            lambda s: svc.place_reminder(s, actor, draft, today=today, now=now, link=link),
            ends=lambda placed: placed.task is not None,  # asking which customer keeps the form
        )
    except InvalidInput as error:
        await reply(update, context, flows.explain(context, error, draft.text))
        return
    if placed.task is None:
        await flows.start(update, context, "remind_who", _question(context, pending, placed.candidates))
        return
    await reply(update, context, *_saved(context, placed))


def _draft(pending: dict[str, Any]) -> svc.Draft:
    """The reminder a form or a command collected, as the service takes it."""
    customer_id = pending.get("customer_id")
    return svc.Draft(
        due_on=date.fromisoformat(pending["when"]),
        text=str(pending["what"]),
        time_of_day=pending.get("time"),
        customer_id=int(customer_id) if customer_id is not None else None,
    )


def _saved(context: BotContext, placed: svc.Placed) -> tuple[str, InlineKeyboardMarkup]:
    """The confirmation of a saved reminder, with Today and the card it is kept on."""
    task = placed.task
    assert task is not None
    rows = [[button(context.t("btn.today"), "ag")]]
    if task.customer_id is not None:
        rows[0].append(button(context.t("btn.open_card"), "cv", task.customer_id, "basic"))
    text = context.t(
        "remind.saved",
        when=when_label(context.t, task.due_on, task.time_of_day),
        text=task.text,
        name=placed.customer.name if placed.customer else None,
    )
    return text, keyboard(rows)


NO_CUSTOMER = "0"


def _question(context: BotContext, pending: dict[str, Any], candidates: list[Customer]) -> dict[str, Any]:
    """The flow data of "which customer?": the reminder as typed, and one button per customer."""
    names = {str(c.id): _candidate_label(c) for c in candidates}
    names[NO_CUSTOMER] = context.t("btn.no_customer")
    shown = when_label(context.t, date.fromisoformat(pending["when"]), pending.get("time"))
    return {**pending, "shown": shown, "choices": list(names), "choice_names": names}


def _candidate_label(customer: Customer) -> str:
    """A name, told apart from namesakes by the company or the phone's last digits."""
    if customer.company:
        return f"{customer.name} · {customer.company}"
    if customer.phone_digits:
        return f"{customer.name} · {customer.phone_digits[-4:]}"
    return customer.name


async def _check_who(context: BotContext, data: dict[str, Any], step: Step, given: Input) -> Any:
    choices = [str(c) for c in data.get("choices", ())]
    if given.choice is not None:
        return given.choice
    typed = given.text.strip()
    if typed.isdigit() and 1 <= int(typed) < len(choices):
        return choices[int(typed) - 1]  # the n-th customer, as listed
    names = data.get("choice_names") or {}
    fitting = [c for c in choices if typed and typed.casefold() == str(names.get(c, "")).casefold()]
    if len(fitting) == 1:
        return fitting[0]
    raise InvalidInput("remind.which_again")


async def _finish_who(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    pending = {key: data.get(key) for key in ("when", "time", "what")}
    choice = str(data["customer"])
    if choice != NO_CUSTOMER:
        pending["customer_id"] = int(choice)
    await _place(update, context, pending, link=False)


async def _leave_who(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    # Nothing was saved: show the reminder as typed, so it can be sent again.
    await reply(update, context, context.t("flow.you_typed", typed=f"{data.get('shown')} {data.get('what')}"))
    await leave_to_menu(update, context, data)


@router.callback("ag", Perm.MEMBER)
async def on_agenda(update: Update, context: BotContext) -> None:
    """Open today's agenda."""
    await answer_query(update)
    await _show(update, context, edit=False)


async def _leave(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    if data.get("customer_id") is not None:
        await leave_to_card(update, context, data)
    else:
        await leave_to_menu(update, context, data)


flows.register(
    Flow(
        "remind",
        (Step("when", "remind.when"), Step("what", "remind.what")),
        _check,
        _finish,
        leave=_leave,
        prompt_params=lambda d: {"name": d.get("name"), "when": _when_shown(d)},
    )
)
flows.register(
    Flow(
        "remind_who",
        (Step("customer", "remind.which"),),
        _check_who,
        _finish_who,
        leave=_leave_who,
        prompt_params=lambda d: {"when": d.get("shown"), "what": d.get("what")},
    )
)
