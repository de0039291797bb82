"""The rep's morning agenda, `/today`, and reminders (`/remind`, ⏰ on the card)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup, Update

from bot.domain.access import Perm
from bot.domain.dates import DateParseError, day_from_today, parse_date
from bot.domain.errors import InvalidInput
from bot.services import agenda as svc
from bot.services import customers as customer_service
from bot.services import flows as flow_store
from bot.storage.models import Task
from bot.telegram import flows
from bot.telegram.cards.view import leave_to_card
from bot.telegram.context import BotContext, Services
from bot.telegram.flows import Flow, Input, Step
from bot.telegram.menu import leave_to_menu
from bot.telegram.routes import Target, router
from bot.telegram.ui import Button, answer_query, button, keyboard, reply, shorten

TASK_LABEL_MAX = 28
_SPACE = re.compile(r"\s+")


def render(services: Services, lang: str, agenda: svc.Agenda) -> tuple[str, InlineKeyboardMarkup]:
    """The agenda as a message, with a ✅ for each follow-up and a button per customer."""

    def task_row(task: Task, name: str | None) -> dict[str, Any]:
        return {"text": task.text, "name": name, "due": task.due_on.isoformat()}

    text = services.text(
        lang,
        "agenda.text",
        today=agenda.today.isoformat(),
        due=[task_row(t, n) for t, n in agenda.due],
        overdue=[task_row(t, n) for t, n in agenda.overdue],
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
    people = [(cid, name) for cid, name in agenda.birthdays] + [
        (b.customer_id, b.name) for b in agenda.behind
    ]
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


async def agenda_for(services: Services, rep_id: int, team_id: int) -> svc.Agenda:
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


def split_when(text: str, today: date) -> tuple[date, str] | None:
    """`明天给张伟打电话`, `in 3 days call Anna`, `5月17日 送样品`: the date first, then what."""
    clean = _SPACE.sub(" ", text).strip()
    words = clean.split(" ")
    candidates = [(" ".join(words[:n]), " ".join(words[n:])) for n in range(min(len(words) - 1, 5), 0, -1)]
    first = words[0]
    candidates += [
        (first[:n], first[n:] + clean[len(first) :]) for n in range(min(len(first) - 1, 12), 1, -1)
    ]
    for when, what in candidates:
        if not what.strip():
            continue
        try:
            parsed = parse_date(when, today=today)
        except DateParseError:
            continue
        day = parsed.next_occurrence(today) if parsed.year is None else parsed.to_date()
        return day, what.strip()
    return None


@router.command("remind", Perm.MEMBER)
async def cmd_remind(update: Update, context: BotContext) -> None:
    """/remind [when what]: a reminder at once, or a short form asking when and what."""
    message = update.effective_message
    raw = (message.text or "").partition(" ")[2] if message else ""
    if raw.strip():
        found = split_when(raw, context.services.today())
        if found is not None:
            await _save(update, context, None, found[0], found[1])
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
        return day_from_today(given.text, today=context.services.today()).isoformat()
    text = given.text.strip()
    if not text:
        raise InvalidInput("error.empty")
    if len(text) > svc.TASK_TEXT_MAX:
        raise InvalidInput("error.too_long", limit=svc.TASK_TEXT_MAX, length=len(text))
    return text


async def _finish(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    customer_id = int(data["customer_id"]) if data.get("customer_id") is not None else None
    await _save(update, context, customer_id, date.fromisoformat(data["when"]), str(data["what"]))


async def _save(update: Update, context: BotContext, customer_id: int | None, day: date, what: str) -> None:
    actor, services = context.actor, context.services
    today, now = services.today(), services.now()

    async def save(session: AsyncSession) -> Task:
        task = await svc.add_reminder(
            session, actor, due_on=day, text=what, today=today, customer_id=customer_id, now=now
        )
        await flow_store.clear_flow(session, actor.user_id)
        return task

    try:
        task = await services.db(save)
    except InvalidInput as error:
        await reply(update, context, flows.explain(context, error, what))
        return
    context.flow_state = None
    rows = [[button(context.t("btn.today"), "ag")]]
    if customer_id is not None:
        rows[0].append(button(context.t("btn.open_card"), "cv", customer_id, "basic"))
    text = context.t("remind.saved", when=task.due_on.isoformat(), text=task.text)
    await reply(update, context, text, keyboard(rows))


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
        prompt_params=lambda d: {"name": d.get("name"), "when": d.get("when")},
    )
)
