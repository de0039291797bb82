"""How the digest looks: its text blocks packed into messages, its chart data, its buttons, and
the screens its buttons open (a list, a member's day, the settings, the CSV files).

Pure functions from what `bot.services.digest` returns to texts and keyboards; nothing
here reads the database or sends a message (`bot.telegram.digest` does).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.domain import money
from bot.runtime import Runtime
from bot.services import chart as chart_service
from bot.services import digest as svc
from bot.services import export as export_service
from bot.services.practice import TeamPractice
from bot.telegram import mini_app, words
from bot.telegram.cards.notes import entry_text
from bot.telegram.context import BotContext
from bot.telegram.playbooks import record_labels
from bot.telegram.ui import MESSAGE_LIMIT, Button, Open, button, chunk, keyboard, visible_length

LISTS = {"o": "overdue", "c": "complaints", "r": "at_risk", "q": "quiet_a"}  # button key -> list
MESSAGE_BUDGET = MESSAGE_LIMIT - 96  # room for the joins between blocks
REPS_PER_PAGE = 20
NOTE_PREVIEW = 120


# ---------------------------------------------------------------- the digest itself


def blocks(services: Runtime, lang: str, digest: svc.Digest, *, in_group: bool = False) -> list[str]:
    """The digest as HTML blocks, each small enough for one message, in reading order.

    In the team's group it leaves out practice (each rep's weak spots are for their lead)."""
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
            period=period_label(digest.period),
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
    out.append(t(lang, "digest.care", c=digest.care, in_doubt=digest.care_in_doubt))
    out.append(
        t(
            lang,
            "digest.lists",
            overdue=digest.overdue,
            complaints=digest.complaints,
            at_risk=money_items(digest.at_risk, digest.currency),
            quiet_a=digest.quiet_a,
        )
    )
    if digest.practice is not None and not in_group:
        out.append(practice_block(services, lang, digest.practice, digest.proposals))
    return out


def practice_block(services: Runtime, lang: str, found: TeamPractice, proposals: int) -> str:
    """Who practised in the period, each one's weakest techniques with their real results beside
    them, who did not, and the floor drills waiting for the lead."""
    t = services.text
    lines = [t(lang, "digest.practice.head")]
    practised = found.practised
    if not practised:
        lines.append(t(lang, "digest.practice.nobody", reps=any(r.role == "rep" for r in found.reps)))
    for rep in practised:
        share = round(100 * (rep.share_right or 0))
        lines.append(t(lang, "digest.practice.rep", name=rep.name, drills=rep.drills, share=share))
        named: set[str] = set()
        for weak in rep.weakest:
            label = technique_label(services, lang, weak.technique)
            if label in named:  # an objection type and its wording read alike
                continue
            named.add(label)
            real = weak.real if weak.real is not None and weak.real.tries else None
            share = round(100 * weak.share_right)
            lines.append(t(lang, "digest.practice.weak", technique=label, share=share, real=real))
    idle = [rep.name for rep in found.reps if rep.role == "rep" and not rep.reviews]
    if practised and idle:
        lines.append(t(lang, "digest.practice.idle", names=t(lang, "plain.list_joiner").join(idle)))
    if proposals:
        lines.append(t(lang, "digest.practice.proposals", n=proposals))
    return "\n".join(lines)


# A technique's own name where practice shows its choices (methodology id group → label group).
NAMED = {
    ("objection", "type"): "type",
    ("objection", "wording"): "type",
    ("objection", "method"): "method",
    ("closing", "method"): "closing",
    ("closing", "signal"): "signal",
    ("complaint", "need"): "need",
    ("qualify", "factor"): "factor",
}


def technique_label(services: Runtime, lang: str, technique: str) -> str:
    """A methodology id as the lead reads it: its group, and the technique's own name where
    practice has one ("Objection type: price")."""
    area, group, *name = technique.split(".")
    if (area, group) == ("objection", "wording"):  # the wording of a type: the type, to a lead
        group = "type"
    label = services.text(lang, f"practice.technique.{area}.{group}")
    named = NAMED.get((area, group))
    if named and name:
        own = services.text(lang, f"practice.label.{named}.{name[0]}")
        return services.text(lang, "plain.technique_named", group=label, name=own)
    return label


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


def digest_keyboard(services: Runtime, lang: str, digest: svc.Digest) -> InlineKeyboardMarkup:
    """The drill-down buttons: each list, a member's day, the reports and the settings."""
    t, team_id = services.text, digest.team_id
    lists: list[Button] = [
        button(t(lang, f"btn.digest_{name}", count=getattr(digest, name).total), "dl", team_id, key, 0, 0)
        for key, name in LISTS.items()
        if getattr(digest, name).total
    ]
    rows: list[list[Button | Open]] = [*chunk(lists, 2)]
    rows.append([button(t(lang, "btn.digest_rep_day"), "dp", team_id, day_code(digest.period.last), 0)])
    dashboard = mini_app.button(services, lang, "btn.mini_app_dashboard", "dashboard")
    if dashboard is not None:
        rows.append([dashboard])
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
    if digest.proposals:
        proposals = t(lang, "practice.chat.proposals", n=digest.proposals)
        rows.append([button(proposals, "xs", "prop", team_id)])
    rows.append([button(t(lang, "btn.menu"), "m")])
    return keyboard(rows)


def group_keyboard(services: Runtime, lang: str) -> InlineKeyboardMarkup:
    """In a group the lists open in a private chat, where only the team's leads get them."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(services.text(lang, "btn.digest_open"), url=services.deep_link("digest"))]]
    )


def chart_data(services: Runtime, lang: str, digest: svc.Digest) -> chart_service.ChartData:
    """What the chart shows, with its labels in the reader's language."""
    t = services.text
    return chart_service.ChartData(
        title=f"{digest.team} · {period_label(digest.chart_period)}",
        funnel_title=t(lang, "digest.chart.funnel"),
        stages=[(t(lang, f"stage.{stage}"), count) for stage, count in digest.pipeline.items()],
        activity_title=t(lang, "digest.chart.activity"),
        days=[(day.strftime("%m-%d"), notes, wins) for day, notes, wins in digest.activity],
        notes_label=t(lang, "digest.chart.notes"),
        wins_label=t(lang, "digest.chart.wins"),
    )


def period_label(period: svc.Period) -> str:
    """A period as the digest names it: one day, or first – last."""
    if period.first == period.last:
        return period.first.isoformat()
    return f"{period.first.isoformat()} – {period.last.isoformat()}"


def day_code(day: date) -> str:
    """A day as buttons carry it: YYYYMMDD."""
    return day.strftime("%Y%m%d")


def parse_day(raw: str) -> date | None:
    """A day from a button (YYYYMMDD), None if it is not one."""
    try:
        return datetime.strptime(raw, "%Y%m%d").date()
    except ValueError:
        return None


def money_items(listing: svc.Listing, currency: str) -> svc.Listing:
    """A list's amounts written in the team's currency."""
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


# ---------------------------------------------------------------- the screens its buttons open


def customer_buttons(items: list[svc.Item]) -> list[list[Button]]:
    """A 📇 button for each customer the items name, once each, two to a row."""
    seen: list[Button] = []
    ids: set[int] = set()
    for item in items:
        if item.customer_id is not None and item.customer_id not in ids:
            ids.add(item.customer_id)
            seen.append(button("📇 " + item.name, "cv", item.customer_id, "basic"))
    return chunk(seen, 2)


def pager(
    prefix: str, total: int, offset: int, size: int, team_id: int, arg: object, context: BotContext
) -> list[Button]:
    """◀ and ▶ buttons around a page of `size` items, where there is more to see."""
    nav: list[Button] = []
    if offset > 0:
        nav.append(button(context.t("btn.prev"), prefix, team_id, arg, max(0, offset - size), 1))
    if offset + size < total:
        nav.append(button(context.t("btn.next"), prefix, team_id, arg, offset + size, 1))
    return nav


def list_screen(
    context: BotContext, page: svc.ListPage, *, team_id: int, key: str, offset: int
) -> tuple[str, InlineKeyboardMarkup]:
    """A page of one of the digest's lists, its customers' buttons, ✅ for complaints, and paging."""
    name = page.name
    listing = money_items(page.listing, page.currency) if name == "at_risk" else page.listing
    text = (
        context.t(f"digest.list_{name}", items=listing.items, total=listing.total)
        if listing.total
        else context.t("digest.list_empty")
    )
    rows = customer_buttons(listing.items)
    if name == "complaints":
        rows += [
            [button(context.t("btn.complaint_resolved", name=i.name), "dr", team_id, i.ref, offset)]
            for i in listing.items
            if i.ref is not None
        ]
    rows.append(pager("dl", listing.total, offset, svc.PAGE, team_id, key, context))
    rows.append([button(context.t("btn.menu"), "m")])
    return text, keyboard(rows)


def rep_picker(
    context: BotContext, people: list[tuple[int, str, str]], *, team_id: int, day: date, offset: int
) -> tuple[str, InlineKeyboardMarkup]:
    """Whose day to open: a page of the team's members."""
    page = people[offset : offset + REPS_PER_PAGE]
    rows = chunk([button(name, "dd", team_id, uid, day_code(day), 0) for uid, name, _ in page], 2)
    rows.append(pager("dp", len(people), offset, REPS_PER_PAGE, team_id, day_code(day), context))
    return context.t("digest.pick_rep", period=day.isoformat()), keyboard(rows)


def rep_day_screen(
    context: BotContext, found: svc.RepDay, *, team_id: int, user_id: int, day: date, offset: int
) -> tuple[str, InlineKeyboardMarkup]:
    """What one member wrote on a day: each entry shortened, its customers' buttons, paging."""
    listing = found.listing
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
    text = context.t(
        "digest.rep_day", name=found.name, period=day.isoformat(), items=items, total=listing.total
    )
    rows = customer_buttons(listing.items)
    nav: list[Button] = []
    if offset > 0:
        nav.append(
            button(context.t("btn.prev"), "dd", team_id, user_id, day_code(day), max(0, offset - svc.PAGE))
        )
    if offset + svc.PAGE < listing.total:
        nav.append(button(context.t("btn.next"), "dd", team_id, user_id, day_code(day), offset + svc.PAGE))
    rows.append(nav)
    rows.append([button(context.t("btn.menu"), "m")])
    return text, keyboard(rows)


def _shorten(text: str) -> str:
    return text if len(text) <= NOTE_PREVIEW else text[: NOTE_PREVIEW - 1] + "…"


def csv_files(context: BotContext, export: svc.Export) -> list[tuple[str, bytes, str | None]]:
    """The report's two CSV files (members, customers): file name, contents, caption."""
    digest, services, lang = export.digest, context.services, context.lang
    stamp = f"{day_code(digest.period.first)}-{day_code(digest.period.last)}"

    def label(key: str) -> str:
        return context.t(f"digest.col.{key}", currency=digest.currency)

    def cell(column: str, value: Any) -> Any:
        """Words in the reader's language for roles, stages and yes/no."""
        return words.stored(services, lang, column, value)

    out: list[tuple[str, bytes, str | None]] = []
    for name, columns, rows in (
        ("members", export.rep_columns, export.rep_rows),
        ("customers", export.customer_columns, export.customer_rows),
    ):
        shown = [[cell(c, v) for c, v in zip(columns, row, strict=True)] for row in rows]
        table = export_service.Table(name, [label(c) for c in columns], shown)
        caption = (
            context.t("digest.csv_caption", team=digest.team, period=period_label(digest.period))
            if name == "members"
            else None
        )
        out.append((f"report-{name}-{stamp}.csv", export_service.to_csv(table), caption))
    return out


def settings_screen(
    context: BotContext, view: svc.SettingsView, *, team_id: int
) -> tuple[str, InlineKeyboardMarkup]:
    """The digest's settings: its hour, on or off, the team group, the grade and churn rules, currency."""
    mine, rules, currency = view.prefs, view.rules, view.currency
    text = context.t(
        "digest.settings",
        off=mine.off,
        hour=mine.hour,
        zone=view.zone,
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
    on_off = "btn.digest_on" if mine.off else "btn.digest_off"
    rows.append([button(context.t(on_off), "do", team_id, 0 if mine.off else 1)])
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
    return text, keyboard(rows)


def report_pick(context: BotContext, team_id: int) -> InlineKeyboardMarkup:
    """The week and month buttons of `/report` without a period."""
    return keyboard(
        [
            [
                button(context.t("btn.report_week"), "dt", team_id, "week"),
                button(context.t("btn.report_month"), "dt", team_id, "month"),
            ]
        ]
    )
