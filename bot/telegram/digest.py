"""The lead's digest and reports: `/digest`, `/report`, the lists its buttons open, CSV.

The figures come from `bot.services.digest`; this module only lays them out: the
chart first, then the text in as few messages as fit (split between sections or
lines, never inside one), with the drill-down buttons under the last.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message, Update
from telegram.constants import ChatType

from bot.domain import money
from bot.domain.access import Perm
from bot.domain.errors import NotAllowed
from bot.services import chart as chart_service
from bot.services import complaints as complaint_service
from bot.services import digest as svc
from bot.services import export as export_service
from bot.services import team as team_service
from bot.storage.models import OutboxMessage, Team
from bot.telegram import words
from bot.telegram.cards.notes import entry_text
from bot.telegram.context import BotContext, Services
from bot.telegram.playbooks import record_labels
from bot.telegram.routes import Target, router
from bot.telegram.ui import (
    MESSAGE_LIMIT,
    Button,
    answer_query,
    button,
    chunk,
    keyboard,
    reply,
    visible_length,
)

log = logging.getLogger(__name__)

KINDS = ("day", "week", "month")
LISTS = {"o": "overdue", "c": "complaints", "r": "at_risk", "q": "quiet_a"}
MESSAGE_BUDGET = MESSAGE_LIMIT - 96  # room for the joins between blocks
REPS_PER_PAGE = 20
TEAMS_MAX = 30
CAPTION_MAX = 1024


# ---------------------------------------------------------------- composing


def blocks(services: Services, lang: str, digest: svc.Digest) -> list[str]:
    """The digest as HTML blocks, each small enough for one message, in reading order."""
    t = services.text
    labels = record_labels(services, lang)

    def amount(value: Decimal) -> str:
        return money.format_money(value, digest.currency)

    out = [
        t(
            lang,
            "digest.head",
            team=digest.team,
            kind=digest.kind,
            period=_period(digest.period),
            t=digest.totals,
            amount=amount(digest.totals.amount),
        )
    ]
    listed, idle = digest.listed, [r.name for r in digest.idle_reps]
    if not listed and not idle:
        out.append(t(lang, "digest.empty_team"))
    else:
        lines = [t(lang, "digest.reps_head")]
        lines += [t(lang, "digest.rep", r=r, amount=amount(r.amount)) for r in listed]
        if idle:
            lines.append(t(lang, "digest.idle", names=t(lang, "plain.list_joiner").join(idle)))
        out.append("\n".join(lines))
    out.append(
        t(
            lang,
            "digest.pipeline",
            total=sum(digest.pipeline.values()),
            stages=[
                (t(lang, f"stage.{stage}"), count, digest.moved_in.get(stage, 0))
                for stage, count in digest.pipeline.items()
            ],
        )
    )
    won, tries = digest.closings
    out.append(
        t(
            lang,
            "digest.objections",
            rows=[
                {
                    "type": labels.get(("type", "objection", o.type), o.type),
                    "tries": o.tries,
                    "method": labels.get(("method", "objection", o.best_method), o.best_method)
                    if o.best_method
                    else None,
                    "best_wins": o.best_wins,
                    "best_tries": o.best_tries,
                }
                for o in digest.objections
            ],
            closing_won=won,
            closing_tries=tries,
        )
    )
    out.append(t(lang, "digest.care", c=digest.care))
    out.append(
        t(
            lang,
            "digest.lists",
            overdue=digest.overdue,
            complaints=digest.complaints,
            at_risk=_money_items(digest.at_risk, digest.currency),
            quiet_a=digest.quiet_a,
        )
    )
    return out


def pack(parts: Sequence[str], budget: int = MESSAGE_BUDGET) -> list[str]:
    """Join blocks into as few messages as fit; a block too long alone is split at lines."""
    messages: list[str] = []
    current = ""
    for part in parts:
        for piece in _pieces(part, budget):
            joined = f"{current}\n\n{piece}" if current else piece
            if visible_length(joined) <= budget:
                current = joined
                continue
            if current:
                messages.append(current)
            current = piece
    if current:
        messages.append(current)
    return messages


def _pieces(part: str, budget: int) -> list[str]:
    if visible_length(part) <= budget:
        return [part]
    # Templates close every tag on the line that opens it, so lines are safe cut points.
    out: list[str] = []
    current = ""
    for line in part.split("\n"):
        joined = f"{current}\n{line}" if current else line
        if current and visible_length(joined) > budget:
            out.append(current)
            current = line
        else:
            current = joined
    if current:
        out.append(current)
    return out


def digest_keyboard(services: Services, lang: str, digest: svc.Digest) -> InlineKeyboardMarkup:
    """The drill-down buttons: each list, a member's day, the reports and the settings."""
    t, team_id = services.text, digest.team_id
    lists: list[Button] = [
        button(t(lang, f"btn.digest_{name}", count=getattr(digest, name).total), "dl", team_id, key, 0, 0)
        for key, name in LISTS.items()
        if getattr(digest, name).total
    ]
    rows = chunk(lists, 2)
    rows.append([button(t(lang, "btn.digest_rep_day"), "dp", team_id, _day(digest.period.last), 0)])
    if digest.kind == "day":
        rows.append(
            [
                button(t(lang, "btn.report_week"), "dt", team_id, "week"),
                button(t(lang, "btn.report_month"), "dt", team_id, "month"),
            ]
        )
        rows.append([button(t(lang, "btn.digest_settings"), "ds", team_id)])
    else:
        rows.append([button(t(lang, "btn.report_csv"), "dc", team_id, digest.kind)])
    rows.append([button(t(lang, "btn.menu"), "m")])
    return keyboard(rows)


def group_keyboard(services: Services, lang: str) -> InlineKeyboardMarkup:
    """In a group the lists open in a private chat, where only the team's leads get them."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(services.text(lang, "btn.digest_open"), url=services.deep_link("digest"))]]
    )


def chart_data(services: Services, lang: str, digest: svc.Digest) -> chart_service.ChartData:
    """What the chart shows, with its labels in the reader's language."""
    t = services.text
    return chart_service.ChartData(
        title=f"{digest.team} · {_period(digest.chart_period)}",
        funnel_title=t(lang, "digest.chart.funnel"),
        stages=[(t(lang, f"stage.{stage}"), count) for stage, count in digest.pipeline.items()],
        activity_title=t(lang, "digest.chart.activity"),
        days=[(day.strftime("%m-%d"), notes, wins) for day, notes, wins in digest.activity],
        notes_label=t(lang, "digest.chart.notes"),
        wins_label=t(lang, "digest.chart.wins"),
    )


async def send(
    services: Services,
    bot: Any,
    chat_id: int,
    lang: str,
    digest: svc.Digest,
    *,
    thread_id: int | None = None,
    in_group: bool = False,
) -> Message:
    """Send a digest or report: the chart, then the text; returns the last message."""
    png = await asyncio.to_thread(chart_service.render, chart_data(services, lang, digest))
    caption = services.text(lang, "digest.caption", team=digest.team, chart=_period(digest.chart_period))[
        :CAPTION_MAX
    ]
    await bot.send_photo(
        chat_id,
        InputFile(png, filename=f"digest-{_day(digest.period.last)}.png"),
        caption=caption,
        parse_mode=None,
        message_thread_id=thread_id,
    )
    messages = pack(blocks(services, lang, digest))
    markup = group_keyboard(services, lang) if in_group else digest_keyboard(services, lang, digest)
    last: Message | None = None
    for index, text in enumerate(messages):
        last = await bot.send_message(
            chat_id,
            text,
            reply_markup=markup if index == len(messages) - 1 else None,
            message_thread_id=thread_id,
        )
    assert last is not None
    return last


async def build(services: Services, *, team_id: int, kind: str, reader: int | None) -> svc.Digest:
    """A team's digest or report as of now, in the reader's timezone."""
    now = services.now()

    async def work(session: Any) -> svc.Digest:
        team = await session.get(Team, team_id)
        if team is None:
            raise NotAllowed()
        tz = await svc.lead_zone(session, team, reader)
        return await svc.build(session, team_id=team_id, kind=kind, now=now, tz=tz)

    return await services.db(work)


async def send_planned(services: Services, bot: Any, row: OutboxMessage) -> Message:
    """The daily digest the outbox planned: to its lead, or to the team group."""
    team = await services.db(lambda s: s.get(Team, row.team_id))
    if team is None:
        raise NotAllowed()
    group = svc.prefs(team, 0).group
    in_group = group is not None and row.chat_id == group["chat_id"]
    digest = await build(services, team_id=row.team_id, kind="day", reader=None if in_group else row.rep_id)
    thread = group.get("thread_id") if in_group and group is not None else None
    return await send(
        services, bot, row.chat_id or row.rep_id, row.language, digest, thread_id=thread, in_group=in_group
    )


def _period(period: svc.Period) -> str:
    if period.first == period.last:
        return period.first.isoformat()
    return f"{period.first.isoformat()} – {period.last.isoformat()}"


def _day(day: date) -> str:
    return day.strftime("%Y%m%d")


def _parse_day(raw: str) -> date | None:
    try:
        return datetime.strptime(raw, "%Y%m%d").date()
    except ValueError:
        return None


def _money_items(listing: svc.Listing, currency: str) -> svc.Listing:
    items = [
        svc.Item(
            i.customer_id,
            i.name,
            i.owner,
            {**i.detail, "revenue": money.format_money(i.detail["revenue"], currency)}
            if isinstance(i.detail.get("revenue"), Decimal)
            else i.detail,
        )
        for i in listing.items
    ]
    return svc.Listing(items, listing.total)


# ---------------------------------------------------------------- commands


async def _pick_team(update: Update, context: BotContext, kind: str) -> None:
    teams = await context.services.db(lambda s: team_service.teams(s, context.actor))
    rows = [[button(team.name, "dt", team.id, kind)] for team in teams[:TEAMS_MAX]]
    rows.append([button(context.t("btn.menu"), "m")])
    await reply(update, context, context.t("digest.pick_team", kind=kind, count=len(teams)), keyboard(rows))


async def show(update: Update, context: BotContext, team_id: int, kind: str) -> None:
    """Send a team's digest or report to the person asking."""
    chat = update.effective_chat
    assert chat is not None
    digest = await build(context.services, team_id=team_id, kind=kind, reader=context.actor.user_id)
    await send(context.services, context.bot, chat.id, context.lang, digest)


@router.command("digest", Perm.LEAD)
async def cmd_digest(update: Update, context: BotContext) -> None:
    """/digest: how the team is doing, now."""
    if context.actor.team_id is None:
        await _pick_team(update, context, "day")
        return
    await show(update, context, context.actor.team_id, "day")


@router.command("report", Perm.LEAD)
async def cmd_report(update: Update, context: BotContext) -> None:
    """/report week|month: the same figures over 7 or 30 days, with a CSV export."""
    arg = (context.args[0].lower() if context.args else "").strip()
    kind = {"week": "week", "w": "week", "周": "week", "周报": "week", "month": "month", "m": "month"}.get(
        arg
    )
    kind = kind or {"月": "month", "月报": "month"}.get(arg)
    team_id = context.actor.team_id
    if team_id is None:
        await _pick_team(update, context, kind or "week")
        return
    if kind is None:
        rows = [
            [
                button(context.t("btn.report_week"), "dt", team_id, "week"),
                button(context.t("btn.report_month"), "dt", team_id, "month"),
            ]
        ]
        await reply(update, context, context.t("digest.report_pick"), keyboard(rows))
        return
    await show(update, context, team_id, kind)


@router.callback("dt", Perm.LEAD, Target.TEAM)
async def on_digest(update: Update, context: BotContext) -> None:
    """A digest or report of a team (an admin's pick, or a button under a digest)."""
    kind = context.arg(1, "day")
    if kind not in KINDS:
        await answer_query(update, context.alert("error.stale"))
        return
    await answer_query(update, context.alert("digest.working"))
    await show(update, context, context.arg_id(0), kind)


@router.callback("dl", Perm.LEAD, Target.TEAM)
async def on_list(update: Update, context: BotContext) -> None:
    """One of the digest's lists, a page at a time (the first page as a new message)."""
    team_id, key, offset = context.arg_id(0), context.arg(1, ""), context.arg_id(2, default=0)
    if key not in LISTS:
        await answer_query(update, context.alert("error.stale"))
        return
    await answer_query(update)
    await _show_list(update, context, team_id, key, offset, edit=context.arg(3, "0") == "1")


@router.callback("dr", Perm.LEAD, Target.TEAM)
async def on_resolve(update: Update, context: BotContext) -> None:
    """✅ on a complaint of the list: resolved; the list shows what is still open."""
    team_id, outcome_id, offset = context.arg_id(0), context.arg_id(1), context.arg_id(2, default=0)
    actor, now = context.actor, context.services.now()
    done = await context.services.db(lambda s: complaint_service.resolve(s, actor, outcome_id, now=now))
    await answer_query(update, context.alert("complaint.resolved", name=done.name))
    await _show_list(update, context, team_id, "c", offset, edit=True)


async def _show_list(
    update: Update, context: BotContext, team_id: int, key: str, offset: int, *, edit: bool
) -> None:
    name = LISTS[key]
    services, now = context.services, context.services.now()

    async def load(session: Any) -> svc.Listing:
        team = await session.get(Team, team_id)
        if team is None:
            raise NotAllowed()
        tz = await svc.lead_zone(session, team, context.actor.user_id)
        today = svc.period_for("week", now=now, tz=tz).last
        if name == "overdue":
            return await svc.overdue(session, team_id=team_id, today=today, offset=offset)
        if name == "complaints":
            return await svc.complaints(session, team_id=team_id, today=today, offset=offset)
        if name == "at_risk":
            found = await svc.at_risk(session, team=team, today=today, offset=offset)
            return _money_items(found, money.currency_of(team.settings))
        return await svc.quiet_a(session, team=team, now=now, offset=offset)

    listing = await services.db(load)
    text = (
        context.t(f"digest.list_{name}", items=listing.items, total=listing.total)
        if listing.total
        else context.t("digest.list_empty")
    )
    rows = _customer_buttons(listing.items)
    if name == "complaints":
        rows += [
            [button(context.t("btn.complaint_resolved", name=i.name), "dr", team_id, i.ref, offset)]
            for i in listing.items
            if i.ref is not None
        ]
    rows.append(_pager("dl", listing.total, offset, svc.PAGE, team_id, key, context))
    rows.append([button(context.t("btn.menu"), "m")])
    await reply(update, context, text, keyboard(rows), edit=edit)


def _customer_buttons(items: list[svc.Item]) -> list[list[Button]]:
    seen: list[Button] = []
    ids: set[int] = set()
    for item in items:
        if item.customer_id is not None and item.customer_id not in ids:
            ids.add(item.customer_id)
            seen.append(button("📇 " + item.name, "cv", item.customer_id, "basic"))
    return chunk(seen, 2)


def _pager(
    prefix: str, total: int, offset: int, size: int, team_id: int, arg: object, context: BotContext
) -> list[Button]:
    nav: list[Button] = []
    if offset > 0:
        nav.append(button(context.t("btn.prev"), prefix, team_id, arg, max(0, offset - size), 1))
    if offset + size < total:
        nav.append(button(context.t("btn.next"), prefix, team_id, arg, offset + size, 1))
    return nav


@router.callback("dp", Perm.LEAD, Target.TEAM)
async def on_pick_rep(update: Update, context: BotContext) -> None:
    """Whose day to open: the team's members, a page at a time."""
    team_id, day, offset = context.arg_id(0), _parse_day(context.arg(1, "")), context.arg_id(2, default=0)
    if day is None:
        await answer_query(update, context.alert("error.stale"))
        return
    await answer_query(update)
    people = await context.services.db(lambda s: svc.members(s, team_id))
    page = people[offset : offset + REPS_PER_PAGE]
    rows = chunk([button(name, "dd", team_id, uid, _day(day), 0) for uid, name, _ in page], 2)
    rows.append(_pager("dp", len(people), offset, REPS_PER_PAGE, team_id, _day(day), context))
    await reply(
        update, context, context.t("digest.pick_rep", period=day.isoformat()), keyboard(rows), edit=offset > 0
    )


@router.callback("dd", Perm.LEAD, Target.TEAM)
async def on_rep_day(update: Update, context: BotContext) -> None:
    """What one member wrote on a day."""
    team_id, user_id = context.arg_id(0), context.arg_id(1, user=True)
    day, offset = _parse_day(context.arg(2, "")), context.arg_id(3, default=0)
    if day is None:
        await answer_query(update, context.alert("error.stale"))
        return
    await answer_query(update)

    async def load(session: Any) -> tuple[str, svc.Listing]:
        team = await session.get(Team, team_id)
        if team is None:
            raise NotAllowed()
        people = {uid: name for uid, name, _ in await svc.members(session, team_id)}
        if user_id not in people:
            raise NotAllowed()
        tz = await svc.lead_zone(session, team, context.actor.user_id)
        period = svc.Period(day, day, tz)
        return people[user_id], await svc.rep_day(
            session, team_id=team_id, user_id=user_id, period=period, offset=offset
        )

    name, listing = await context.services.db(load)
    items = [
        svc.Item(
            i.customer_id,
            i.name,
            i.owner,
            {
                **i.detail,
                "kind": context.t(f"note_kind.{i.detail['kind']}"),
                "text": _shorten(entry_text(context, i.detail["kind"], i.detail["text"], i.detail["meta"])),
                "file": words.file_kind(context.services, context.lang, i.detail.get("file")),
            },
        )
        for i in listing.items
    ]
    text = context.t("digest.rep_day", name=name, period=day.isoformat(), items=items, total=listing.total)
    rows = _customer_buttons(listing.items)
    nav: list[Button] = []
    if offset > 0:
        nav.append(
            button(context.t("btn.prev"), "dd", team_id, user_id, _day(day), max(0, offset - svc.PAGE))
        )
    if offset + svc.PAGE < listing.total:
        nav.append(button(context.t("btn.next"), "dd", team_id, user_id, _day(day), offset + svc.PAGE))
    rows.append(nav)
    rows.append([button(context.t("btn.menu"), "m")])
    await reply(update, context, text, keyboard(rows), edit=offset > 0)


NOTE_PREVIEW = 120


def _kind_label(context: BotContext, kind: str) -> str:
    key = f"note_kind.{kind}"
    return context.t(key) if context.services.catalogue.has(key) else kind


def _shorten(text: str) -> str:
    return text if len(text) <= NOTE_PREVIEW else text[: NOTE_PREVIEW - 1] + "…"


@router.callback("dc", Perm.LEAD, Target.TEAM)
async def on_csv(update: Update, context: BotContext) -> None:
    """The report's figures as two CSV files: members and customers."""
    team_id, kind = context.arg_id(0), context.arg(1, "week")
    if kind not in KINDS:
        await answer_query(update, context.alert("error.stale"))
        return
    await answer_query(update, context.alert("export.working"))
    services, now, reader = context.services, context.services.now(), context.actor.user_id

    async def work(session: Any) -> tuple[svc.Digest, Any]:
        team = await session.get(Team, team_id)
        if team is None:
            raise NotAllowed()
        tz = await svc.lead_zone(session, team, reader)
        digest = await svc.build(session, team_id=team_id, kind=kind, now=now, tz=tz)
        return digest, await svc.report_tables(session, digest, now=now)

    digest, (rep_cols, rep_rows, customer_cols, customer_rows) = await services.db(work)
    stamp = f"{_day(digest.period.first)}-{_day(digest.period.last)}"
    chat = update.effective_chat
    assert chat is not None

    def label(key: str) -> str:
        return context.t(f"digest.col.{key}", currency=digest.currency)

    def cell(column: str, value: Any) -> Any:
        """Words in the reader's language for roles, stages and yes/no."""
        return words.stored(services, context.lang, column, value)

    rep_rows = [[cell(c, v) for c, v in zip(rep_cols, row, strict=True)] for row in rep_rows]
    customer_rows = [[cell(c, v) for c, v in zip(customer_cols, row, strict=True)] for row in customer_rows]

    for name, columns, rows in (("members", rep_cols, rep_rows), ("customers", customer_cols, customer_rows)):
        table = export_service.Table(name, [label(c) for c in columns], rows)
        await context.bot.send_document(
            chat.id,
            InputFile(export_service.to_csv(table), filename=f"report-{name}-{stamp}.csv"),
            caption=context.t("digest.csv_caption", team=digest.team, period=_period(digest.period))
            if name == "members"
            else None,
        )


# ---------------------------------------------------------------- settings


async def _show_settings(update: Update, context: BotContext, team_id: int) -> None:
    actor = context.actor

    async def load(session: Any) -> tuple[svc.Prefs, str, svc.AnalyticsRules, str]:
        team = await session.get(Team, team_id)
        if team is None:
            raise NotAllowed()
        zone = await svc.lead_zone(session, team, actor.user_id)
        return (
            svc.prefs(team, actor.user_id),
            zone,
            svc.analytics_rules(team),
            money.currency_of(team.settings),
        )

    mine, zone, rules, currency = await context.services.db(load)
    text = context.t(
        "digest.settings",
        off=mine.off,
        hour=mine.hour,
        zone=zone,
        group=mine.group.get("title") if mine.group else None,
        a=rules.a_share,
        b=rules.ab_share - rules.a_share,
        churn=f"{rules.churn / 10:g}",
        currency=currency,
    )
    hours = [
        button(
            context.t("btn.digest_hour", hour=h, current=h == mine.hour and not mine.off), "dh", team_id, h
        )
        for h in svc.HOURS
    ]
    rows = chunk(hours, 3)
    rows.append(
        [
            button(
                context.t("btn.digest_on" if mine.off else "btn.digest_off"),
                "do",
                team_id,
                0 if mine.off else 1,
            )
        ]
    )
    if mine.group:
        rows.append([button(context.t("btn.digest_private"), "dg", team_id)])
    for rule, values, current in (
        ("a", svc.A_SHARES, rules.a_share),
        ("b", svc.AB_SHARES, rules.ab_share),
        ("c", svc.CHURN_FACTORS, rules.churn),
    ):
        rows.append(
            [
                button(
                    context.t(f"btn.rule_{rule}", value=v, shown=f"{v / 10:g}", current=v == current),
                    "da",
                    team_id,
                    rule,
                    v,
                )
                for v in values
            ]
        )
    rows.append(
        [
            button(context.t("btn.currency", sign=sign, current=sign == currency), "da", team_id, "m", index)
            for index, sign in enumerate(money.CURRENCIES)
        ]
    )
    rows.append([button(context.t("btn.menu"), "m")])
    await reply(update, context, text, keyboard(rows), edit=update.callback_query is not None)


@router.callback("da", Perm.LEAD, Target.TEAM)
async def on_rule(update: Update, context: BotContext) -> None:
    """Change a grade cut-off, the churn factor or the currency."""
    team_id, rule, value, actor = context.arg_id(0), context.arg(1, ""), context.arg_id(2), context.actor
    await context.services.db(lambda s: svc.set_rule(s, actor, team_id=team_id, rule=rule, value=value))
    await answer_query(update)
    await _show_settings(update, context, team_id)


@router.callback("ds", Perm.LEAD, Target.TEAM)
async def on_settings(update: Update, context: BotContext) -> None:
    """When the daily digest comes, and where."""
    await answer_query(update)
    await _show_settings(update, context, context.arg_id(0))


@router.callback("dh", Perm.LEAD, Target.TEAM)
async def on_hour(update: Update, context: BotContext) -> None:
    """Set the hour of the daily digest."""
    team_id, hour, actor = context.arg_id(0), context.arg_id(1), context.actor
    services = context.services
    await services.db(lambda s: svc.set_hour(s, actor, team_id=team_id, hour=hour, now=services.now()))
    await answer_query(update)
    await _show_settings(update, context, team_id)


@router.callback("do", Perm.LEAD, Target.TEAM)
async def on_off(update: Update, context: BotContext) -> None:
    """Turn the daily digest off, or on again."""
    team_id, off, actor = context.arg_id(0), context.arg(1) == "1", context.actor
    services = context.services
    await services.db(lambda s: svc.set_off(s, actor, team_id=team_id, off=off, now=services.now()))
    await answer_query(update)
    await _show_settings(update, context, team_id)


@router.callback("dg", Perm.LEAD, Target.TEAM)
async def on_private(update: Update, context: BotContext) -> None:
    """Send the digest privately again instead of to the team group."""
    actor = context.actor
    await context.services.db(lambda s: svc.set_group(s, actor, chat_id=None, thread_id=None, title=""))
    await answer_query(update, context.alert("digest.group_removed"))
    await _show_settings(update, context, context.arg_id(0))


@router.command("digest_here", Perm.LEAD)
async def cmd_digest_here(update: Update, context: BotContext) -> None:
    """/digest_here in a team group (or a forum topic): the daily digest goes there."""
    chat, message, actor = update.effective_chat, update.message, context.actor
    assert chat is not None and message is not None
    if chat.type == ChatType.PRIVATE or actor.team_id is None:
        await reply(update, context, context.t("digest.group_only_leads"))
        return
    thread = message.message_thread_id if message.is_topic_message else None
    team = await context.services.db(
        lambda s: svc.set_group(s, actor, chat_id=chat.id, thread_id=thread, title=chat.title or "")
    )
    hour = svc.prefs(team, actor.user_id).hour
    await context.bot.send_message(
        chat.id, context.t("digest.group_set", team=team.name, hour=hour), message_thread_id=thread
    )


__all__ = ["blocks", "pack", "send", "send_planned"]
