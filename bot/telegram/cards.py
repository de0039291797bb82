"""Customer cards on the phone: add, find, read by section, edit, notes, purchases, stage, grade."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update

from bot.domain import card
from bot.domain.access import Perm, Role
from bot.domain.card import FieldSpec, Kind, Section, Stage
from bot.domain.dates import DateParseError, ParsedDate, format_date, parse_date
from bot.domain.errors import InvalidInput
from bot.services import customers as svc
from bot.services import flows as flow_store
from bot.storage.models import Customer, Note, User
from bot.telegram import flows
from bot.telegram.context import BotContext
from bot.telegram.flows import Flow, Input, Step, typed
from bot.telegram.routes import Target, router
from bot.telegram.ui import Button, button, chunk, keyboard, reply, shorten

PAGE = 8
TIMELINE_PAGE = 5
VALUE_PREVIEW = 300


# ---------------------------------------------------------------- rendering


def field_value(context: BotContext, customer: Customer, spec: FieldSpec) -> str | None:
    """A field's value as the card shows it, or None when empty."""
    if spec.kind is Kind.DATE:
        if customer.birthday_month is None or customer.birthday_day is None:
            return None
        parsed = ParsedDate(
            customer.birthday_year,
            customer.birthday_month,
            customer.birthday_day,
            lunar=customer.birthday_lunar,
            leap_month=customer.birthday_leap,
        )
        return format_date(parsed, context.lang)
    raw: Any = getattr(customer, spec.key) if spec.column else customer.extra.get(spec.key)
    if raw in (None, "", []):
        return None
    if spec.kind is Kind.CHOICE:
        return context.t(f"choice.{spec.key}.{raw}")
    if spec.kind is Kind.TAGS:
        return " ".join("#" + tag for tag in raw)
    if spec.kind is Kind.SCORE:
        return f"{raw}/5"
    if spec.kind is Kind.DAYS:
        return context.t("card.every_days", days=raw)
    return shorten(str(raw), VALUE_PREVIEW)


def stage_label(context: BotContext, stage: str) -> str:
    """A stage's name in the user's language."""
    return context.t(f"stage.{stage}")


async def show_card(
    update: Update,
    context: BotContext,
    customer_id: int,
    section: str = Section.BASIC,
    *,
    edit: bool = False,
    notice: str | None = None,
) -> None:
    """Send (or update) the card at one section, with its tabs and actions."""
    actor = context.actor
    try:
        sect = Section(section)
    except ValueError:
        sect = Section.BASIC

    async def load(session: AsyncSession) -> tuple[Customer, svc.History | None, str | None]:
        customer = await svc.get_customer(session, actor, customer_id)
        hist = await svc.history(session, customer) if sect is Section.HISTORY else None
        owner = None
        if actor.role is not Role.REP:
            user = await session.get(User, customer.owner_id)
            owner = user.name if user else None
        return customer, hist, owner

    customer, hist, owner = await context.services.db(load)
    rows = [
        (context.t(f"field.{spec.key}"), value)
        for spec in card.fields_of(sect)
        if spec.key != "name" and (value := field_value(context, customer, spec)) is not None
    ]
    total = card.qualification_total({key: getattr(customer, key) for key in card.QUALIFICATION})
    text = context.t(
        "card.view",
        name=customer.name,
        company=customer.company,
        stage=stage_label(context, customer.stage),
        grade=customer.grade,
        owner=owner,
        section=context.t(f"section.{sect.value}"),
        rows=rows,
        qualification=total if sect is Section.BUSINESS else None,
        history=_history_rows(context, hist) if hist else None,
        notice=notice,
    )
    await reply(update, context, text, card_keyboard(context, customer_id, sect), edit=edit)


def _history_rows(context: BotContext, hist: svc.History) -> dict[str, Any]:
    return {
        "count": hist.purchase_count,
        "revenue": _money(hist.revenue),
        "notes": hist.note_count,
        "purchases": [
            {"date": p.purchased_on.isoformat(), "amount": _money(p.amount), "what": p.items}
            for p in hist.purchases
        ],
    }


def _money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def card_keyboard(context: BotContext, cid: int, sect: Section) -> Any:
    """Section tabs and the card's actions."""
    tabs = [
        button(("• " if s is sect else "") + context.t(f"btn.section.{s.value}"), "cv", cid, s.value)
        for s in Section
    ]
    rows: list[list[Button]] = [tabs[:3], tabs[3:]]
    if sect is not Section.HISTORY:
        rows.append([button(context.t("btn.edit"), "ce", cid, sect.value)])
    rows += [
        [
            button(context.t("btn.note"), "cn", cid),
            button(context.t("btn.purchase"), "cp", cid),
            button(context.t("btn.timeline"), "cl", cid, 0),
        ],
        [
            button(context.t("btn.stage"), "cs", cid),
            button(context.t("btn.grade"), "cg", cid),
            button(context.t("btn.optin"), "co", cid),
        ],
        [button(context.t("btn.menu"), "m")],
    ]
    return keyboard(rows)


# ---------------------------------------------------------------- viewing


@router.callback("cv", Perm.VIEW_CUSTOMER, Target.CUSTOMER)
async def on_view(update: Update, context: BotContext) -> None:
    """Open a card at a section."""
    await _answer(update)
    args = context.route_args
    await show_card(update, context, int(args[0]), args[1] if len(args) > 1 else "basic", edit=True)


async def _answer(update: Update, text: str | None = None) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(text)


# ---------------------------------------------------------------- finding


def _filters_from(context: BotContext) -> svc.Filters | None:
    saved = context.user_data.get("search") if context.user_data is not None else None
    return saved if isinstance(saved, svc.Filters) else None


async def search_and_show(
    update: Update,
    context: BotContext,
    filters: svc.Filters,
    offset: int = 0,
    *,
    edit: bool = False,
) -> None:
    """Run a search and show one page of results (a single match opens the card)."""
    actor, now = context.actor, context.services.now()
    page = await context.services.db(
        lambda s: svc.search(s, actor, filters, offset=offset, limit=PAGE, now=now)
    )
    if context.user_data is not None:
        context.user_data["search"] = filters
    if page.total == 1 and offset == 0 and filters.query:
        await show_card(update, context, page.items[0].id)
        return
    if page.total == 0:
        key = "find.none" if filters.query else "find.empty_list"
        await reply(
            update,
            context,
            context.t(key, query=filters.query),
            keyboard([[button(context.t("btn.new"), "nw"), button(context.t("btn.menu"), "m")]]),
            edit=edit,
        )
        return
    items = [
        button(
            " · ".join(x for x in (c.name, c.company or "", stage_label(context, c.stage)) if x),
            "cv",
            c.id,
            "basic",
        )
        for c in page.items
    ]
    rows: list[list[Button]] = [[item] for item in items]
    nav: list[Button] = []
    if page.has_prev:
        nav.append(button(context.t("btn.prev"), "sp", max(0, offset - PAGE)))
    if page.has_next:
        nav.append(button(context.t("btn.next"), "sp", offset + PAGE))
    rows.append(nav)
    if not filters.query:
        rows.append(
            [
                button(context.t("btn.filter_stage"), "fl", "s"),
                button(context.t("btn.filter_grade"), "fl", "g"),
                button(context.t("btn.filter_idle"), "fl", "i", IDLE_DAYS),
            ]
        )
    rows.append([button(context.t("btn.menu"), "m")])
    text = context.t(
        "find.results",
        query=filters.query,
        total=page.total,
        first=offset + 1,
        last=offset + len(page.items),
        stage=stage_label(context, filters.stage) if filters.stage else None,
        grade=filters.grade,
        idle=filters.idle_days,
    )
    await reply(update, context, text, keyboard(rows), edit=edit)


@router.command("find", Perm.MEMBER)
async def cmd_find(update: Update, context: BotContext) -> None:
    """/find [words]: search now, or ask what to look for."""
    query = " ".join(context.args or [])
    if query:
        await search_and_show(update, context, svc.Filters(query=query))
    else:
        await flows.start(update, context, "find", {})


@router.callback("fd", Perm.MEMBER)
async def on_find(update: Update, context: BotContext) -> None:
    """The Find button: ask what to look for."""
    await _answer(update)
    await flows.start(update, context, "find", {})


@router.callback("my", Perm.MEMBER)
async def on_my_customers(update: Update, context: BotContext) -> None:
    """List the customers the actor sees, most recently updated first."""
    await _answer(update)
    offset = int(context.route_args[0]) if context.route_args and context.route_args[0].isdigit() else 0
    await search_and_show(update, context, svc.Filters(), offset, edit=True)


IDLE_DAYS = 30


@router.callback("fl", Perm.MEMBER)
async def on_filter(update: Update, context: BotContext) -> None:
    """Filter the list by stage, grade, or customers not contacted lately."""
    await _answer(update)
    args = context.route_args
    kind, value = (args[0] if args else ""), (args[1] if len(args) > 1 else None)
    if kind == "s" and value is None:
        stages = [button(stage_label(context, s.value), "fl", "s", s.value) for s in Stage]
        rows = [*chunk(stages, 3), [button(context.t("btn.back"), "my", 0)]]
        await reply(update, context, context.t("stage.filter"), keyboard(rows), edit=True)
        return
    if kind == "g" and value is None:
        grades = [button(g, "fl", "g", g) for g in card.GRADES]
        await reply(
            update,
            context,
            context.t("grade.filter"),
            keyboard([grades, [button(context.t("btn.back"), "my", 0)]]),
            edit=True,
        )
        return
    if kind == "s" and value in {s.value for s in Stage}:
        filters = svc.Filters(stage=value)
    elif kind == "g" and value in card.GRADES:
        filters = svc.Filters(grade=value)
    elif kind == "i" and value is not None and value.isdigit() and 1 <= int(value) <= 365:
        filters = svc.Filters(idle_days=int(value))
    else:
        await reply(update, context, context.t("error.stale"))
        return
    await search_and_show(update, context, filters, edit=True)


@router.callback("sp", Perm.MEMBER)
async def on_search_page(update: Update, context: BotContext) -> None:
    """Another page of the last search."""
    filters = _filters_from(context)
    args = context.route_args
    if filters is None or not args or not args[0].isdigit():
        await _answer(update, context.t("error.search_again"))
        return
    await _answer(update)
    await search_and_show(update, context, filters, int(args[0]), edit=True)


async def _check_find(context: BotContext, data: dict[str, Any], step: Step, given: Input) -> str:
    query = given.text.strip()
    if not query:
        raise InvalidInput("error.empty")
    if len(query) > 100:
        raise InvalidInput("error.too_long", limit=100, length=len(query))
    return query


async def _finish_find(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    user_id = context.actor.user_id
    await context.services.db(lambda s: flow_store.clear_flow(s, user_id))
    await search_and_show(update, context, svc.Filters(query=data["query"]))


flows.register(Flow("find", (Step("query", "find.prompt"),), _check_find, _finish_find))


# ---------------------------------------------------------------- adding


@router.command("new", Perm.MEMBER)
async def cmd_new(update: Update, context: BotContext) -> None:
    """/new: the guided form for a new customer."""
    await _start_new(update, context)


@router.callback("nw", Perm.MEMBER)
async def on_new(update: Update, context: BotContext) -> None:
    """The New customer button."""
    await _answer(update)
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
        same = await context.services.db(lambda s: svc.find_by_phone(s, team_id=team_id, digits=digits))
        if same is not None:
            raise InvalidInput("error.phone_exists", name=same.name)
    return value


async def _finish_new(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    actor, now = context.actor, context.services.now()
    values = {key: data[key] for key in card.NEW_CUSTOMER_FORM if data.get(key)}

    async def create(session: AsyncSession) -> Customer:
        customer = await svc.create_customer(session, actor, values=values, now=now)
        await flow_store.clear_flow(session, actor.user_id)
        return customer

    customer = await context.services.db(create)
    assert customer.id is not None
    await show_card(update, context, customer.id, notice=context.t("card.created"))


async def _leave_to_menu(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    from bot.telegram.onboarding import show_menu

    await show_menu(update, context)


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
        leave=_leave_to_menu,
    )
)


# ---------------------------------------------------------------- editing


@router.callback("ce", Perm.EDIT_CUSTOMER, Target.CUSTOMER, edit=True)
async def on_edit_section(update: Update, context: BotContext) -> None:
    """Pick which field of a section to edit."""
    await _answer(update)
    args = context.route_args
    cid = int(args[0])
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
    await _answer(update)
    args = context.route_args
    if len(args) < 2 or args[1] not in card.FIELDS_BY_KEY:
        await reply(update, context, context.t("error.stale"))
        return
    cid, spec = int(args[0]), card.FIELDS_BY_KEY[args[1]]
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

    async def save(session: AsyncSession) -> None:
        await svc.update_field(session, actor, cid, key=key, raw=raw, now=now)
        await flow_store.clear_flow(session, actor.user_id)

    await context.services.db(save)
    await show_card(update, context, cid, data.get("section", "basic"), notice=context.t("card.saved"))


async def _leave_to_card(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    if "customer_id" in data:
        await show_card(update, context, int(data["customer_id"]), data.get("section", "basic"))


flows.register(
    Flow(
        "edit",
        (Step("value", "edit.prompt", optional=True),),
        _check_edit,
        _finish_edit,
        leave=_leave_to_card,
    )
)
flows.register(
    Flow(
        "edit_required",
        (Step("value", "edit.prompt"),),
        _check_edit,
        _finish_edit,
        leave=_leave_to_card,
    )
)
flows.register(
    Flow(
        "edit_choice",
        (Step("value", "edit.prompt_choice", optional=True, choices=(), choice_label=""),),
        _check_edit,
        _finish_edit,
        leave=_leave_to_card,
    )
)


# ---------------------------------------------------------------- stage and grade


@router.callback("cs", Perm.EDIT_CUSTOMER, Target.CUSTOMER, edit=True)
async def on_stage_menu(update: Update, context: BotContext) -> None:
    """Offer the stages."""
    await _answer(update)
    cid = int(context.route_args[0])
    stages = [button(stage_label(context, s.value), "ss", cid, s.value) for s in Stage]
    rows = [*chunk(stages, 3), [button(context.t("btn.back"), "cv", cid, "basic")]]
    await reply(update, context, context.t("stage.pick"), keyboard(rows), edit=True)


@router.callback("ss", Perm.EDIT_CUSTOMER, Target.CUSTOMER, edit=True)
async def on_set_stage(update: Update, context: BotContext) -> None:
    """Move the customer to the chosen stage."""
    args = context.route_args
    if len(args) < 2:
        await _answer(update, context.t("error.stale"))
        return
    actor, now = context.actor, context.services.now()
    cid = int(args[0])
    await context.services.db(lambda s: svc.set_stage(s, actor, cid, stage=args[1], now=now))
    await _answer(update, context.t("card.saved_short"))
    await show_card(update, context, cid, edit=True)


@router.callback("cg", Perm.EDIT_CUSTOMER, Target.CUSTOMER, edit=True)
async def on_grade_menu(update: Update, context: BotContext) -> None:
    """Offer A, B, C or automatic grading."""
    await _answer(update)
    cid = int(context.route_args[0])
    grades = [button(g, "sg", cid, g) for g in card.GRADES]
    grades.append(button(context.t("btn.grade_auto"), "sg", cid, "auto"))
    rows = [grades, [button(context.t("btn.back"), "cv", cid, "basic")]]
    await reply(update, context, context.t("grade.pick"), keyboard(rows), edit=True)


@router.callback("sg", Perm.EDIT_CUSTOMER, Target.CUSTOMER, edit=True)
async def on_set_grade(update: Update, context: BotContext) -> None:
    """Set the grade by hand (or back to automatic)."""
    args = context.route_args
    if len(args) < 2:
        await _answer(update, context.t("error.stale"))
        return
    actor, now = context.actor, context.services.now()
    cid, grade = int(args[0]), (None if args[1] == "auto" else args[1])
    await context.services.db(lambda s: svc.set_grade(s, actor, cid, grade=grade, now=now))
    await _answer(update, context.t("card.saved_short"))
    await show_card(update, context, cid, edit=True)


# ---------------------------------------------------------------- notes


@router.callback("cn", Perm.EDIT_CUSTOMER, Target.CUSTOMER, edit=True)
async def on_note(update: Update, context: BotContext) -> None:
    """Ask for a note: text, photo, voice note or file."""
    await _answer(update)
    await start_note(update, context, int(context.route_args[0]))


async def start_note(update: Update, context: BotContext, cid: int) -> None:
    """Begin the note flow for a customer."""
    actor = context.actor
    customer = await context.services.db(lambda s: svc.get_customer(s, actor, cid, edit=True))
    await flows.start(update, context, "note", {"customer_id": cid, "name": customer.name})


@router.command("note", Perm.MEMBER)
async def cmd_note(update: Update, context: BotContext) -> None:
    """/note: pick a recent customer, then write the note."""
    actor, now = context.actor, context.services.now()
    page = await context.services.db(
        lambda s: svc.search(s, actor, svc.Filters(), offset=0, limit=PAGE, now=now)
    )
    if not page.items:
        await reply(
            update,
            context,
            context.t("find.empty_list"),
            keyboard([[button(context.t("btn.new"), "nw")]]),
        )
        return
    rows = [[button(c.name, "cn", c.id)] for c in page.items]
    rows.append([button(context.t("btn.find"), "fd")])
    await reply(update, context, context.t("note.pick_customer"), keyboard(rows))


async def _check_note(context: BotContext, data: dict[str, Any], step: Step, given: Input) -> Any:
    if given.file_id:
        return {"text": given.text, "file_id": given.file_id, "file_kind": given.file_kind}
    text = given.text.strip()
    if not text:
        raise InvalidInput("error.empty")
    if len(text) > svc.NOTE_MAX:
        raise InvalidInput("error.too_long", limit=svc.NOTE_MAX, length=len(text))
    return {"text": text, "file_id": None, "file_kind": None}


async def _finish_note(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    actor, now = context.actor, context.services.now()
    cid, body = int(data["customer_id"]), data["body"]

    async def save(session: AsyncSession) -> Note:
        note = await svc.add_note(
            session,
            actor,
            cid,
            text=body["text"],
            file_id=body["file_id"],
            file_kind=body["file_kind"],
            now=now,
        )
        await flow_store.clear_flow(session, actor.user_id)
        return note

    note = await context.services.db(save)
    kinds = [button(context.t(f"note_kind.{k}"), "nk", cid, note.id, k) for k in svc.CONTACT_KINDS]
    rows = [
        kinds,
        [
            button(context.t("btn.note_more"), "cn", cid),
            button(context.t("btn.open_card"), "cv", cid, "basic"),
        ],
    ]
    await reply(update, context, context.t("note.saved", name=data["name"]), keyboard(rows))


flows.register(
    Flow(
        "note",
        (Step("body", "note.prompt", media=True),),
        _check_note,
        _finish_note,
        leave=_leave_to_card,
    )
)


@router.callback("nk", Perm.EDIT_CUSTOMER, Target.CUSTOMER, edit=True)
async def on_note_kind(update: Update, context: BotContext) -> None:
    """Tag the note just written as a call, visit or message."""
    args = context.route_args
    if len(args) < 3 or not args[1].isdigit():
        await _answer(update, context.t("error.stale"))
        return
    actor, now = context.actor, context.services.now()
    cid, note_id, kind = int(args[0]), int(args[1]), args[2]

    async def tag(session: AsyncSession) -> Note:
        note = await svc.set_note_kind(session, actor, note_id, kind=kind, now=now)
        if note.customer_id != cid:
            raise InvalidInput("error.stale")
        return note

    await context.services.db(tag)
    await _answer(update, context.t("note.kind_set", kind=context.t(f"note_kind.{kind}")))
    rows = [
        [
            button(context.t("btn.note_more"), "cn", cid),
            button(context.t("btn.open_card"), "cv", cid, "basic"),
        ]
    ]
    await reply(
        update,
        context,
        context.t("note.kind_saved", kind=context.t(f"note_kind.{kind}")),
        keyboard(rows),
        edit=True,
    )


@router.callback("cl", Perm.VIEW_CUSTOMER, Target.CUSTOMER)
async def on_timeline(update: Update, context: BotContext) -> None:
    """A page of the customer's timeline, newest first."""
    await _answer(update)
    args = context.route_args
    cid = int(args[0])
    offset = int(args[1]) if len(args) > 1 and args[1].isdigit() else 0
    actor = context.actor

    async def load(session: AsyncSession) -> tuple[Customer, svc.Page, dict[int, str]]:
        customer = await svc.get_customer(session, actor, cid)
        page = await svc.notes_page(session, actor, cid, offset=offset, limit=TIMELINE_PAGE)
        authors: dict[int, str] = {}
        for note in page.items:
            if note.author_id and note.author_id not in authors:
                user = await session.get(User, note.author_id)
                authors[note.author_id] = user.name if user else "?"
        return customer, page, authors

    customer, page, authors = await context.services.db(load)
    tz = context.services.settings.default_timezone
    entries = [
        {
            "when": _local(note.created_at, tz),
            "kind": context.t(f"note_kind.{note.kind}"),
            "author": authors.get(note.author_id or 0, ""),
            "text": _note_text(context, note),
            "file": note.file_kind,
        }
        for note in page.items
    ]
    text = context.t(
        "timeline.view",
        name=customer.name,
        entries=entries,
        total=page.total,
        first=offset + 1,
        last=offset + len(page.items),
    )
    rows: list[list[Button]] = []
    files = [button(context.t(f"btn.file.{n.file_kind}"), "nf", cid, n.id) for n in page.items if n.file_id]
    rows += chunk(files, 3)
    nav: list[Button] = []
    if page.has_prev:
        nav.append(button(context.t("btn.prev"), "cl", cid, max(0, offset - TIMELINE_PAGE)))
    if page.has_next:
        nav.append(button(context.t("btn.next"), "cl", cid, offset + TIMELINE_PAGE))
    rows += [
        nav,
        [
            button(context.t("btn.note"), "cn", cid),
            button(context.t("btn.open_card"), "cv", cid, "basic"),
        ],
    ]
    await reply(update, context, text, keyboard(rows), edit=True)


def _note_text(context: BotContext, note: Note) -> str:
    """Notes as written; system notes (`what:old>new`) in the reader's language."""
    if note.kind == "system" and ":" in note.text:
        what, _, rest = note.text.partition(":")
        old, _, new = rest.partition(">")
        if what == "stage":
            old, new = stage_label(context, old), stage_label(context, new)
        key = f"timeline.system.{what}"
        if context.services.catalogue.has(key):
            return context.t(key, old=old, new=new)
    return shorten(note.text, 600)


def _local(moment: Any, tz: str) -> str:
    from zoneinfo import ZoneInfo

    return str(moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M"))


@router.callback("nf", Perm.VIEW_CUSTOMER, Target.CUSTOMER)
async def on_note_file(update: Update, context: BotContext) -> None:
    """Send a note's photo, voice note or file again."""
    args = context.route_args
    if len(args) < 2 or not args[1].isdigit():
        await _answer(update, context.t("error.stale"))
        return
    cid, note_id = int(args[0]), int(args[1])
    note = await context.services.db(lambda s: s.get(Note, note_id))
    if note is None or note.customer_id != cid or not note.file_id:
        await _answer(update, context.t("error.stale"))
        return
    await _answer(update)
    chat_id = update.effective_chat.id if update.effective_chat else context.actor.user_id
    caption = shorten(note.text, 1000) or None
    if note.file_kind == "photo":
        await context.bot.send_photo(chat_id, note.file_id, caption=caption, parse_mode=None)
    elif note.file_kind == "voice":
        await context.bot.send_voice(chat_id, note.file_id, caption=caption, parse_mode=None)
    else:
        await context.bot.send_document(chat_id, note.file_id, caption=caption, parse_mode=None)


# ---------------------------------------------------------------- purchases


@router.callback("cp", Perm.EDIT_CUSTOMER, Target.CUSTOMER, edit=True)
async def on_purchase(update: Update, context: BotContext) -> None:
    """Record a purchase: amount, items, date."""
    await _answer(update)
    cid = int(context.route_args[0])
    actor = context.actor
    customer = await context.services.db(lambda s: svc.get_customer(s, actor, cid, edit=True))
    await flows.start(update, context, "purchase", {"customer_id": cid, "name": customer.name})


async def _check_purchase(context: BotContext, data: dict[str, Any], step: Step, given: Input) -> Any:
    text = given.text
    if step.key == "amount":
        return str(svc.parse_amount(text))
    if step.key == "items":
        return card.check_text(text, max_length=500)
    try:
        parsed = parse_date(text, today=context.services.now().date())
    except DateParseError:
        raise InvalidInput("error.date") from None
    if parsed.lunar:
        raise InvalidInput("error.date")
    when = parsed.to_date() if parsed.year is not None else _this_year(parsed, context)
    if when > context.services.now().date():
        raise InvalidInput("error.purchase_future")
    return when.isoformat()


def _this_year(parsed: ParsedDate, context: BotContext) -> date:
    today = context.services.now().date()
    try:
        return date(today.year, parsed.month, parsed.day)
    except ValueError:
        raise InvalidInput("error.date") from None


async def _finish_purchase(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    actor, now = context.actor, context.services.now()
    cid = int(data["customer_id"])
    amount = Decimal(data["amount"])
    when = date.fromisoformat(data["date"]) if data.get("date") else now.date()
    items = data.get("items") or ""
    note_text = context.t("purchase.note", amount=_money(amount), items=items, date=when.isoformat())

    async def save(session: AsyncSession) -> None:
        await svc.add_purchase(
            session,
            actor,
            cid,
            amount=amount,
            items=items,
            purchased_on=when,
            now=now,
            note_text=note_text,
        )
        await flow_store.clear_flow(session, actor.user_id)

    await context.services.db(save)
    await show_card(update, context, cid, "history", notice=context.t("purchase.saved"))


flows.register(
    Flow(
        "purchase",
        (
            Step("amount", "purchase.amount"),
            Step("items", "purchase.items", optional=True),
            Step("date", "purchase.date", optional=True),
        ),
        _check_purchase,
        _finish_purchase,
        leave=_leave_to_card,
    )
)


# ---------------------------------------------------------------- opt-in link


@router.callback("co", Perm.EDIT_CUSTOMER, Target.CUSTOMER, edit=True)
async def on_optin_link(update: Update, context: BotContext) -> None:
    """Show the personal link the rep sends the customer to receive care messages."""
    await _answer(update)
    cid = int(context.route_args[0])
    actor = context.actor
    customer = await context.services.db(lambda s: svc.get_customer(s, actor, cid, edit=True))
    link = context.services.deep_link(f"c_{customer.optin_code}")
    text = context.t("optin.link", name=customer.name, link=link, state=customer.optin_state)
    await reply(update, context, text, keyboard([[button(context.t("btn.open_card"), "cv", cid, "basic")]]))
