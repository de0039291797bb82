"""The lead's digest and reports: `/digest`, `/report`, the lists its buttons open, CSV.

The figures come from `bot.services.digest` and the layout from `bot.telegram.digest_render`.
A digest is built (`builder`: figures, then texts, buttons and chart in a worker thread) into
what is sent, as JSON and a PNG, and sent as built (`send_stored`): the chart first, then the
text in as few messages as fit, with the drill-down buttons under the last. The daily digest
is built ahead by `bot.scheduling.digests` and `/digest` answers from that build while it is
fresh (`latest`); each handler here reads the update, calls one service function and sends.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from telegram import InlineKeyboardMarkup, InputFile, Message, Update
from telegram.constants import ChatType

from bot.domain.access import Actor, Perm
from bot.runtime import Runtime
from bot.services import chart as chart_service
from bot.services import complaints as complaint_service
from bot.services import digest as svc
from bot.services import team as team_service
from bot.telegram.context import BotContext
from bot.telegram.digest_render import (
    LISTS,
    blocks,
    chart_data,
    csv_files,
    day_code,
    digest_keyboard,
    group_keyboard,
    list_screen,
    pack,
    parse_day,
    period_label,
    rep_day_screen,
    rep_picker,
    report_pick,
    settings_screen,
)
from bot.telegram.request import Unconfirmed
from bot.telegram.routes import Target, router
from bot.telegram.ui import answer_query, button, keyboard, reply

if TYPE_CHECKING:
    from bot.storage.models import OutboxMessage

log = logging.getLogger(__name__)

KINDS = ("day", "week", "month")
TEAMS_MAX = 30
CAPTION_MAX = 1024


# ---------------------------------------------------------------- building and sending a digest


def builder(services: Runtime) -> svc.DigestBuilder:
    """The digest builder the wiring registers: figures from the database, then its texts and
    buttons in a worker thread and its chart in a worker process (`bot.heavy`): drawing it is
    a few hundred ms of Python, which in a thread made reps' updates wait meanwhile."""

    async def build_digest(
        *, team_id: int, kind: str, reader: int | None, language: str, now: datetime
    ) -> svc.Built:
        snap = await services.db(
            lambda s: svc.snapshot(s, team_id=team_id, kind=kind, reader=reader, language=language, now=now)
        )
        payload, chart = await asyncio.to_thread(render, services, language, snap.digest)
        png = await services.heavy.run(chart_service.render, chart)
        return svc.Built(snap.key, payload, png, now, snap.valid_until, snap.fingerprint)

    return build_digest


def render(
    services: Runtime, lang: str, digest: svc.Digest
) -> tuple[dict[str, Any], chart_service.ChartData]:
    """A digest or report as it is sent: its texts and buttons (as JSON), and what its chart
    shows (drawn by `chart_service.render`, in a worker process).

    CPU work and no database: the builder runs it in a worker thread.
    """
    chart = chart_data(services, lang, digest)
    caption = services.text(
        lang, "digest.caption", team=digest.team, chart=period_label(digest.chart_period)
    )[:CAPTION_MAX]
    payload = {
        "caption": caption,
        "filename": f"digest-{day_code(digest.period.last)}.png",
        "messages": pack(blocks(services, lang, digest)),
        "group_messages": pack(blocks(services, lang, digest, in_group=True)),
        "markup": digest_keyboard(services, lang, digest).to_dict(),
        "group_markup": group_keyboard(services, lang).to_dict(),
    }
    return payload, chart


async def send_stored(
    bot: Any,
    chat_id: int,
    payload: dict[str, Any],
    chart: bytes,
    *,
    thread_id: int | None = None,
    in_group: bool = False,
) -> Message:
    """Send a digest or report as built: the chart, then the texts, the buttons under the last.

    A chart Telegram may have sent without saying so does not stop the text.
    """
    try:
        await bot.send_photo(
            chat_id,
            InputFile(chart, filename=payload["filename"]),
            caption=payload["caption"],
            parse_mode=None,
            message_thread_id=thread_id,
        )
    except Unconfirmed as error:
        # The chart may well have arrived: the text goes on, and the chart is not sent twice.
        log.warning("digest chart to %s not confirmed by Telegram: %s", chat_id, error)
    # A build stored before group_messages existed is sent to a group as it was.
    messages: list[str] = (
        payload.get("group_messages", payload["messages"]) if in_group else payload["messages"]
    )
    markup = InlineKeyboardMarkup.de_json(payload["group_markup" if in_group else "markup"], bot)
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


async def build(services: Runtime, *, team_id: int, kind: str, reader: int | None) -> svc.Digest:
    """A team's digest or report as of now, in the reader's timezone (its figures only)."""
    now = services.now()
    return await services.db(
        lambda s: svc.reader_digest(s, team_id=team_id, kind=kind, reader=reader, now=now)
    )


async def latest(
    services: Runtime, actor: Actor, *, team_id: int, kind: str, language: str
) -> svc.Stored | svc.Built:
    """The digest or report the actor asks for: yesterday's digest as built earlier while it is
    fresh, else built now (and kept for the next reader); a report is always built now."""
    now = services.now()
    if kind == "day":
        stored = await services.db(
            lambda s: svc.fresh_for(s, actor, team_id=team_id, language=language, now=now)
        )
        if stored is not None:
            return stored
    else:
        svc.check_team(actor, team_id)
    built = await digest_builder(services)(
        team_id=team_id, kind=kind, reader=actor.user_id, language=language, now=now
    )
    if kind == "day":
        await services.db(lambda s: svc.store(s, built))
    return built


def digest_builder(services: Runtime) -> svc.DigestBuilder:
    """The builder the wiring registered."""
    if services.digest_builder is None:
        raise RuntimeError("no digest builder: the wiring registers it (bot.app.build_services)")
    return services.digest_builder


async def send_planned(services: Runtime, bot: Any, row: OutboxMessage) -> Message | None:
    """The daily digest the outbox planned, as it was built ahead: to its lead, or to the team group.

    Nothing is built here: the dispatcher takes a digest row only once it has a build
    (None, and nothing sent, if that build has gone since).
    """
    found = await services.db(lambda s: svc.ready(s, row))
    if found is None:
        log.warning("digest %s lost its build before it went: not sent", row.id)
        return None
    return await send_stored(
        bot, found.chat_id, found.payload, found.chart, thread_id=found.thread_id, in_group=found.in_group
    )


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
    found = await latest(context.services, context.actor, team_id=team_id, kind=kind, language=context.lang)
    await send_stored(context.bot, chat.id, found.payload, found.chart)


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
        await reply(update, context, context.t("digest.report_pick"), report_pick(context, team_id))
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


# ---------------------------------------------------------------- lists and a member's day


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
    actor, now, name = context.actor, context.services.now(), LISTS[key]
    page = await context.services.db(
        lambda s: svc.list_page(s, actor, team_id=team_id, name=name, offset=offset, now=now)
    )
    text, markup = list_screen(context, page, team_id=team_id, key=key, offset=offset)
    await reply(update, context, text, markup, edit=edit)


@router.callback("dp", Perm.LEAD, Target.TEAM)
async def on_pick_rep(update: Update, context: BotContext) -> None:
    """Whose day to open: the team's members, a page at a time."""
    team_id, day, offset = context.arg_id(0), parse_day(context.arg(1, "")), context.arg_id(2, default=0)
    if day is None:
        await answer_query(update, context.alert("error.stale"))
        return
    await answer_query(update)
    actor = context.actor
    people = await context.services.db(lambda s: svc.team_members(s, actor, team_id=team_id))
    text, markup = rep_picker(context, people, team_id=team_id, day=day, offset=offset)
    await reply(update, context, text, markup, edit=offset > 0)


@router.callback("dd", Perm.LEAD, Target.TEAM)
async def on_rep_day(update: Update, context: BotContext) -> None:
    """What one member wrote on a day."""
    team_id, user_id = context.arg_id(0), context.arg_id(1, user=True)
    day, offset = parse_day(context.arg(2, "")), context.arg_id(3, default=0)
    if day is None:
        await answer_query(update, context.alert("error.stale"))
        return
    await answer_query(update)
    actor, now = context.actor, context.services.now()
    found = await context.services.db(
        lambda s: svc.rep_day_page(
            s, actor, team_id=team_id, user_id=user_id, day=day, offset=offset, now=now
        )
    )
    text, markup = rep_day_screen(context, found, team_id=team_id, user_id=user_id, day=day, offset=offset)
    await reply(update, context, text, markup, edit=offset > 0)


@router.callback("dc", Perm.LEAD, Target.TEAM)
async def on_csv(update: Update, context: BotContext) -> None:
    """The report's figures as two CSV files: members and customers."""
    team_id, kind = context.arg_id(0), context.arg(1, "week")
    if kind not in KINDS:
        await answer_query(update, context.alert("error.stale"))
        return
    await answer_query(update, context.alert("export.working"))
    actor, now, chat = context.actor, context.services.now(), update.effective_chat
    assert chat is not None
    export = await context.services.db(
        lambda s: svc.report_export(s, actor, team_id=team_id, kind=kind, now=now)
    )
    for filename, data, caption in await asyncio.to_thread(csv_files, context, export):
        await context.bot.send_document(chat.id, InputFile(data, filename=filename), caption=caption)


# ---------------------------------------------------------------- settings


async def _show_settings(update: Update, context: BotContext, team_id: int) -> None:
    actor, now = context.actor, context.services.now()
    view = await context.services.db(lambda s: svc.settings_view(s, actor, team_id=team_id, now=now))
    text, markup = settings_screen(context, view, team_id=team_id)
    await reply(update, context, text, markup, edit=update.callback_query is not None)


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


__all__ = [
    "blocks",
    "build",
    "builder",
    "chart_data",
    "latest",
    "pack",
    "render",
    "send_planned",
    "send_stored",
]
