"""Sending care messages: the planner and dispatcher jobs, and the rep's buttons.

The JobQueue only wakes these; what is due lives in the outbox table. The dispatcher
keeps within Telegram's limits itself: at most `rate` messages a second overall
(aiolimiter) and one message a second per chat (python-telegram-bot's limiter does
not do the latter), and it honours 429 `retry_after`.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from aiolimiter import AsyncLimiter
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import CopyTextButton, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.config import Settings
from bot.domain import workdays
from bot.domain.access import Perm
from bot.domain.care import CareRules, Occasion
from bot.domain.dates import day_from_today
from bot.domain.errors import InvalidInput, Stale
from bot.services import care as svc
from bot.services import customers as customer_service
from bot.services import digest as digest_service
from bot.services import flows as flow_store
from bot.services import team as team_service
from bot.storage.models import OutboxMessage
from bot.telegram import flows
from bot.telegram.cards.view import leave_to_card
from bot.telegram.context import BotContext, Services
from bot.telegram.flows import Flow, Input, Step
from bot.telegram.routes import Target, data, router
from bot.telegram.ui import Button, answer_query, button, keyboard, reply, shorten

log = logging.getLogger(__name__)

RATE_PER_SECOND = 30.0
LIMITER_BURST = 5
EXTRA_BATCHES = 3
PER_CHAT_SECONDS = 1.05  # a little over a second: network jitter must not make it less
BATCH = 150  # five seconds at the overall limit: enough different chats to keep the pace
COPY_MAX = 256


def renderer(services: Services) -> svc.Render:
    """Care texts from the catalogue, in the customer's language."""

    def render(lang: str, occasion: Occasion, params: Mapping[str, Any]) -> str:
        values = dict(params)
        if isinstance(values.get("items"), tuple):  # several purchases on one day
            values["items"] = services.text(lang, "plain.care.items", items=values["items"])
        return services.text(lang, f"plain.care.{occasion.value}", **values)

    return render


async def plan_now(services: Services) -> svc.PlanResult:
    """One planning pass over every team."""
    now = services.now()
    return await services.db(lambda s: svc.plan(s, now=now, render=renderer(services)))


class Dispatcher:
    """Sends due outbox rows, within Telegram's limits, one row at a time."""

    def __init__(
        self,
        services: Services,
        bot: Any,
        *,
        rate: float = RATE_PER_SECOND,
        per_chat: float = PER_CHAT_SECONDS,
        batch: int = BATCH,
        worker: str | None = None,
    ) -> None:
        self.services, self.bot = services, bot
        # A small burst at the same rate: a full second's burst on top of Telegram's own
        # bucket crosses its line now and then (a 429 pauses every send for a second).
        self.limiter = AsyncLimiter(LIMITER_BURST, LIMITER_BURST / rate)
        self.per_chat, self.batch = per_chat, batch
        self.worker = worker or f"w-{uuid.uuid4().hex[:12]}"
        self._last: dict[int, float] = {}
        self._lock = asyncio.Lock()

    @property
    def busy(self) -> bool:
        """Whether a pass is under way."""
        return self._lock.locked()

    async def run_once(self) -> int:
        """Recover expired leases, claim a batch and send it; how many rows were claimed."""
        async with self._lock:  # one pass at a time in this process
            services = self.services
            now = services.now()
            await services.db(lambda s: svc.recover(s, now=now))
            worker, batch = self.worker, self.batch
            rows = await services.db(lambda s: svc.claim(s, now=now, worker=worker, limit=batch))
            claimed = len(rows) + await self._send_in_turn(rows)
            reviews = await services.db(lambda s: svc.claim_reviews(s, now=now, limit=batch))
            for row in reviews:
                await self._ask(row)
            return claimed + len(reviews)

    async def drain(self, *, passes: int = 1000) -> int:
        """Send everything due now (for tests, the console and benchmarks)."""
        total = 0
        for _ in range(passes):
            sent = await self.run_once()
            total += sent
            if not sent:
                break
        return total

    async def _send_in_turn(self, rows: list[OutboxMessage]) -> int:
        """Send one message at a time, the earliest due whose chat is free to receive.

        A chat waiting out its second never holds up the others, and only one message
        is ever in flight, so a crash leaves at most one in doubt. When every chat at
        hand is waiting, more due rows are claimed (up to EXTRA_BATCHES more batches,
        well within their lease at the overall rate) rather than idling; returns how
        many were claimed that way.
        """
        waiting, extra, more = list(rows), 0, True
        while waiting:
            now = time.monotonic()
            ready = self._next_ready(waiting, now)
            if ready is None and more and extra < EXTRA_BATCHES * self.batch:
                claimed = await self._claim_more(self.batch)
                waiting += claimed
                extra += len(claimed)
                more = bool(claimed)
                continue
            if ready is None:
                await asyncio.sleep(min(self._free_at(r.chat_id) for r in waiting) - now)
                continue
            waiting.remove(ready)
            await self._send(ready)
        return extra

    def _next_ready(self, waiting: list[OutboxMessage], now: float) -> OutboxMessage | None:
        """The earliest due row of the free chat with the most rows waiting.

        A chat with several messages waiting needs a second between each, so it goes
        first; the others fill the gaps (all of these rows are due already).
        """
        pending: dict[int, int] = {}
        for row in waiting:
            pending[row.chat_id or 0] = pending.get(row.chat_id or 0, 0) + 1
        free = [r for r in waiting if self._free_at(r.chat_id) <= now]
        if not free:
            return None
        return min(free, key=lambda r: (-pending[r.chat_id or 0], r.due_at, r.id or 0))

    async def _claim_more(self, limit: int) -> list[OutboxMessage]:
        services, worker = self.services, self.worker
        now = services.now()
        return await services.db(lambda s: svc.claim(s, now=now, worker=worker, limit=limit))

    def _free_at(self, chat_id: int | None) -> float:
        """When a chat may receive its next message (monotonic seconds)."""
        return self._last.get(chat_id or 0, float("-inf")) + self.per_chat

    async def _send(self, row: OutboxMessage) -> None:
        assert row.id is not None and row.chat_id is not None
        services, outbox_id, chat_id = self.services, row.id, row.chat_id
        gap = self.per_chat - (time.monotonic() - self._last.get(chat_id, float("-inf")))
        if gap > 0:
            await asyncio.sleep(gap)
        async with self.limiter:
            worker = self.worker
            started = await services.db(
                lambda s: svc.start_sending(s, outbox_id=outbox_id, worker=worker, now=services.now())
            )
            if not started:
                return
            try:
                if row.occasion == digest_service.DIGEST:
                    message = await self._digest(row)
                elif row.occasion == svc.AGENDA:
                    message = await self._agenda(row)
                    if message is None:
                        await services.db(
                            lambda s: svc.skip(
                                s, outbox_id=outbox_id, now=services.now(), reason="nothing_to_do"
                            )
                        )
                        return
                else:
                    message = await self._deliver(row)
            except RetryAfter as error:
                await self._later(outbox_id, _seconds(error.retry_after), "429 retry_after")
            except Forbidden as error:
                await self._forbidden(row, str(error))
            except BadRequest as error:
                reason = str(error)
                await services.db(
                    lambda s: svc.give_up(s, outbox_id=outbox_id, now=services.now(), reason=reason)
                )
            except (TimedOut, NetworkError) as error:
                await self._later(outbox_id, svc.backoff(row.attempts), str(error))
            else:
                to_rep = row.channel == "via_rep"
                message_id = message.message_id if isinstance(message, Message) else None
                await services.db(
                    lambda s: svc.delivered(
                        s, outbox_id=outbox_id, message_id=message_id, now=services.now(), to_rep=to_rep
                    )
                )
            finally:
                self._last[chat_id] = time.monotonic()

    async def _later(self, outbox_id: int, delay: float, reason: str) -> None:
        services = self.services
        await services.db(
            lambda s: svc.retry_later(s, outbox_id=outbox_id, now=services.now(), delay=delay, reason=reason)
        )

    async def _deliver(self, row: OutboxMessage) -> Any:
        if row.channel == "telegram":
            return await self.bot.send_message(row.chat_id, row.text, parse_mode=None)
        # Not on Telegram: the rep gets the ready text to pass on, and says when it is done.
        lang = await self._rep_language(row.rep_id)
        name = await self._customer_name(row.customer_id)
        t = self.services.text
        text = t(
            lang, "care.via_rep", name=name, occasion=t(lang, f"care.occasion.{row.occasion}"), text=row.text
        )
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        t(lang, "btn.copy_message"), copy_text=CopyTextButton(shorten(row.text, COPY_MAX))
                    )
                ],
                [
                    InlineKeyboardButton(t(lang, "btn.mark_sent"), callback_data=data("cm", row.id)),
                    InlineKeyboardButton(t(lang, "btn.skip_message"), callback_data=data("ck", row.id)),
                ],
            ]
        )
        return await self.bot.send_message(row.chat_id, text, reply_markup=markup)

    async def _agenda(self, row: OutboxMessage) -> Any:
        """The morning agenda, written now so that it is current; None when there is nothing."""
        from bot.telegram import agenda

        found = await agenda.agenda_for(self.services, row.rep_id, row.team_id)
        if found.empty:
            return None
        text, markup = agenda.render(self.services, row.language, found)
        return await self.bot.send_message(row.chat_id, text, reply_markup=markup)

    async def _digest(self, row: OutboxMessage) -> Any:
        """A lead's daily digest, computed now so that its figures are current."""
        from bot.telegram import digest

        return await digest.send_planned(self.services, self.bot, row)

    async def _ask(self, row: OutboxMessage) -> None:
        """Show a message waiting for approval to its rep: approve, edit or skip."""
        assert row.id is not None
        services, outbox_id = self.services, row.id
        lang = await self._rep_language(row.rep_id)
        name = await self._customer_name(row.customer_id)
        t = services.text
        text = t(
            lang,
            "care.review",
            name=name,
            occasion=t(lang, f"care.occasion.{row.occasion}"),
            day=row.day.isoformat(),
            text=row.text,
            via_rep=row.channel == "via_rep",
        )
        try:
            message = await self.bot.send_message(
                row.rep_id, text, reply_markup=review_keyboard(services, lang, outbox_id)
            )
        except (Forbidden, BadRequest, NetworkError) as error:
            log.warning("could not ask rep %s to review message %s: %s", row.rep_id, outbox_id, error)
            return
        await services.db(lambda s: svc.asked(s, outbox_id=outbox_id, message_id=message.message_id))

    async def _forbidden(self, row: OutboxMessage, reason: str) -> None:
        services, outbox_id = self.services, row.id
        assert outbox_id is not None
        if row.channel != "telegram" or row.customer_id is None:
            # The rep themselves cannot be reached (they blocked the bot, or never started it).
            await services.db(
                lambda s: svc.give_up(s, outbox_id=outbox_id, now=services.now(), reason=reason)
            )
            return
        found = await services.db(lambda s: svc.blocked(s, outbox_id=outbox_id, now=services.now()))
        if found is None:
            return
        text = services.text(found.rep_language, "care.blocked", name=found.name)
        try:
            await self.bot.send_message(
                found.rep_id,
                text,
                reply_markup=InlineKeyboardMarkup(
                    [
                        [
                            InlineKeyboardButton(
                                services.text(found.rep_language, "btn.open_card"),
                                callback_data=data("cv", found.customer_id, "basic"),
                            )
                        ]
                    ]
                ),
            )
        except (Forbidden, BadRequest, NetworkError) as error:
            log.warning("could not tell rep %s that a customer blocked the bot: %s", found.rep_id, error)

    async def _rep_language(self, rep_id: int) -> str:
        from bot.storage.models import User

        user = await self.services.db(lambda s: s.get(User, rep_id))
        return user.language if user is not None else "zh"

    async def _customer_name(self, customer_id: int | None) -> str:
        from bot.storage.models import Customer

        if customer_id is None:
            return ""
        customer = await self.services.db(lambda s: s.get(Customer, customer_id))
        return customer.name if customer is not None else ""


def _seconds(value: Any) -> float:
    """`retry_after` as seconds (PTB gives an int or a timedelta)."""
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)


# ---------------------------------------------------------------- the rep's buttons


def review_keyboard(services: Services, lang: str, outbox_id: int) -> InlineKeyboardMarkup:
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

    async def save(session: AsyncSession) -> OutboxMessage:
        row = await svc.approve(session, actor, outbox_id, now=now, text=str(data["text"]))
        await flow_store.clear_flow(session, actor.user_id)
        return row

    row = await context.services.db(save)
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


# ---------------------------------------------------------------- a worker on its own

WORKER_IDLE_SECONDS = 2.0


async def run_worker(settings: Settings, *, once: bool = False) -> None:
    """Plan and send care messages in a process of its own (`salesbot dispatch`)."""
    from telegram.ext import AIORateLimiter, ExtBot

    from bot.i18n import catalogue
    from bot.storage.db import make_engine, make_session_factory, upgrade

    assert settings.bot_token is not None
    engine = make_engine(settings.database_url)
    await upgrade(engine)
    services = Services(settings=settings, sessions=make_session_factory(engine), catalogue=catalogue())
    options: dict[str, Any] = {}
    if settings.telegram_api_base_url:
        options["base_url"] = settings.telegram_api_base_url
    bot: ExtBot[None] = ExtBot(
        settings.bot_token.get_secret_value(),
        rate_limiter=AIORateLimiter(max_retries=3),  # type: ignore[arg-type]
        **options,
    )
    await bot.initialize()
    dispatcher = Dispatcher(services, bot)
    log.info("care worker %s started", dispatcher.worker)
    try:
        planned_at = float("-inf")
        while True:
            if time.monotonic() - planned_at >= PLAN_SECONDS:
                await plan_now(services)
                planned_at = time.monotonic()
            sent = await dispatcher.run_once()
            if once and not sent:
                return
            if not sent:
                await asyncio.sleep(WORKER_IDLE_SECONDS)
    finally:
        await bot.shutdown()
        await engine.dispose()


PLAN_SECONDS = 15 * 60


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

    async def change(session: AsyncSession) -> tuple[CareRules, workdays.WorkWeek]:
        rules = await svc.change_rule(session, actor, team_id, rule=rule, arg=arg, now=now)
        team = await team_service.get_team(session, actor, team_id)
        return rules, workdays.work_week(team.settings)

    rules, week = await context.services.db(change)
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

    async def save(session: AsyncSession) -> svc.OneOff:
        planned = await svc.one_off(session, actor, cid, day=day, text=str(data["text"]), now=now, form=form)
        await flow_store.clear_flow(session, actor.user_id)
        return planned

    try:
        planned = await context.services.db(save)
    except InvalidInput as error:
        await reply(update, context, flows.explain(context, error, str(data["text"])))
        return
    context.flow_state = None
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
