"""Start, deep links, menus, language, cancel, and what plain messages and files mean."""

from __future__ import annotations

import logging

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot, BotCommand, BotCommandScopeChat, Update
from telegram.error import TelegramError

from bot.domain.access import Actor, Perm, Role, can_view_customer
from bot.domain.errors import InvalidInput, Stale
from bot.i18n import LANGUAGES, Catalogue
from bot.scheduling import outbox as care_service
from bot.services import customers as svc
from bot.services import flows as flow_store
from bot.services import team as team_service
from bot.services.vcard import parse_vcards
from bot.storage.models import Customer, Note, User
from bot.telegram import cards, digest, flows, playbooks
from bot.telegram.context import BotContext
from bot.telegram.flows import Input
from bot.telegram.menu import show_menu
from bot.telegram.routes import router
from bot.telegram.ui import button, keyboard, reply

log = logging.getLogger(__name__)

# The command menu per role (texts are `cmd.<name>` in the catalogues).
COMMANDS: dict[Role, tuple[str, ...]] = {
    Role.ADMIN: ("menu", "admin", "new", "find", "digest", "report", "stats", "help", "language", "cancel"),
    Role.LEAD: (
        "menu",
        "digest",
        "report",
        "new",
        "find",
        "note",
        "play",
        "today",
        "remind",
        "stats",
        "care",
        "team",
        "export",
        "help",
        "language",
        "cancel",
    ),
    Role.REP: (
        "menu",
        "new",
        "find",
        "note",
        "play",
        "today",
        "remind",
        "stats",
        "help",
        "language",
        "cancel",
    ),
    Role.CUSTOMER: ("stop", "help", "language"),
    Role.STRANGER: ("start", "help", "language"),
}


async def set_commands(context: BotContext, actor: Actor) -> None:
    """Show this user the commands of their role, in their language."""
    role = Role.ADMIN if actor.is_admin and actor.team_id is None else actor.role
    commands = [BotCommand(name, context.t(f"cmd.{name}")) for name in COMMANDS[role]]
    await context.bot.set_my_commands(commands, scope=BotCommandScopeChat(actor.user_id))


async def set_default_commands(bot: Bot, catalogue: Catalogue, default_language: str) -> None:
    """The menu strangers see, per language (set once at start-up)."""
    for lang in LANGUAGES:
        commands = [BotCommand(n, catalogue.text(lang, f"cmd.{n}")) for n in COMMANDS[Role.STRANGER]]
        await bot.set_my_commands(commands, language_code=lang)
    fallback = [BotCommand(n, catalogue.text(default_language, f"cmd.{n}")) for n in COMMANDS[Role.STRANGER]]
    await bot.set_my_commands(fallback)


async def refresh_actor(context: BotContext) -> Actor:
    """Read the actor again after their role changed."""
    services, user_id = context.services, context.actor.user_id
    context.actor = await services.db(
        lambda s: team_service.resolve_actor(s, user_id=user_id, admin_ids=services.settings.admin_ids)
    )
    services.identities.remember(context.actor, context.flow_state)
    return context.actor


# ---------------------------------------------------------------- menu


@router.command("menu", Perm.ANY)
async def cmd_menu(update: Update, context: BotContext) -> None:
    """/menu: the main menu."""
    await show_menu(update, context)


@router.callback("m", Perm.ANY)
async def on_menu(update: Update, context: BotContext) -> None:
    """The Menu button."""
    if update.callback_query:
        await update.callback_query.answer()
    await show_menu(update, context, edit=True)


@router.command("help", Perm.ANY)
async def cmd_help(update: Update, context: BotContext) -> None:
    """/help: what this user can do here."""
    actor = context.actor
    role = Role.ADMIN if actor.is_admin and actor.team_id is None else actor.role
    await reply(update, context, context.t(f"help.{role.value}"))


# ---------------------------------------------------------------- start and deep links


@router.command("start", Perm.ANY, keeps_flow=True)
async def cmd_start(update: Update, context: BotContext) -> None:
    """/start, with an invite or opt-in payload from a deep link, or plain."""
    payload = (context.args or [""])[0] if context.args else ""
    if payload[:2] in ("a_", "l_", "r_"):
        await _accept_invite(update, context, payload)
        return
    if payload.startswith("c_"):
        await _customer_optin(update, context, payload[2:])
        return
    if payload == "digest" and context.actor.is_lead:
        # The button under a digest sent to a team group opens it here, privately.
        await digest.cmd_digest(update, context)
        return
    if payload:
        await reply(update, context, context.t("error.invite_used"))
    state = await flows.current(context) if context.actor.is_staff else None
    if state is not None and not await flows.still_allowed(context, state):
        await context.services.db(lambda s: flow_store.clear_flow(s, context.actor.user_id))
        context.flow_state = state = None
    if state is not None and state.flow == playbooks.PLAY_FLOW:
        await reply(update, context, context.t("flow.resume"))
        await playbooks.resume(update, context, state)
        return
    if state is not None and state.flow in flows.FLOWS:
        await reply(update, context, context.t("flow.resume"))
        await flows.prompt(update, context, flows.FLOWS[state.flow], state)
        return
    if context.actor.is_staff:
        await set_commands(context, context.actor)
    await show_menu(update, context)


async def _accept_invite(update: Update, context: BotContext, code: str) -> None:
    services, user_id = context.services, context.actor.user_id
    try:
        joined = await services.db(
            lambda s: team_service.accept_invite(s, code=code, user_id=user_id, now=services.now())
        )
    except (Stale, InvalidInput) as error:
        await reply(update, context, context.t(error.key, **error.params))
        if context.actor.is_staff:
            await show_menu(update, context)
        return
    actor = await refresh_actor(context)
    await set_commands(context, actor)
    await reply(update, context, context.t(f"welcome.{joined.kind}", team=joined.team_name))
    await show_menu(update, context)


async def _customer_optin(update: Update, context: BotContext, code: str) -> None:
    actor, now = context.actor, context.services.now()
    if actor.is_staff:
        await reply(update, context, context.t("optin.staff"))
        return
    lang = actor.language

    async def opt_in(session: AsyncSession) -> tuple[Customer, User | None]:
        customer = (await session.exec(select(Customer).where(col(Customer.optin_code) == code))).first()
        if customer is None or customer.archived_at is not None:
            raise Stale("error.invite_used")
        if customer.telegram_chat_id not in (None, actor.user_id):
            raise Stale("error.optin_taken")
        customer.telegram_chat_id, customer.optin_state = actor.user_id, "in"
        customer.language = customer.language or lang
        session.add(customer)
        assert customer.id is not None
        session.add(
            Note(
                customer_id=customer.id,
                team_id=customer.team_id,
                kind="system",
                meta={"event": "optin"},
                created_at=now,
            )
        )
        return customer, await session.get(User, customer.owner_id)

    try:
        customer, rep = await context.services.db(opt_in)
    except Stale as error:
        await reply(update, context, context.t(error.key))
        return
    context.services.identities.forget(actor.user_id)  # a stranger no more: a customer
    await reply(update, context, context.t("optin.welcome", name=customer.name, rep=rep.name if rep else ""))
    if rep is not None:
        rep_text = context.services.text(rep.language, "optin.rep_told", name=customer.name)
        await _notify(context, rep.telegram_id, rep_text)


async def _notify(context: BotContext, chat_id: int, text: str) -> None:
    """Tell another user something; a rep who blocked the bot must not break this update."""
    try:
        await context.bot.send_message(chat_id, text)
    except TelegramError as error:
        log.warning("could not notify %s: %s", chat_id, error)


@router.command("stop", Perm.ANY)
async def cmd_stop(update: Update, context: BotContext) -> None:
    """/stop: a customer opts out of all messages at once."""
    actor, now = context.actor, context.services.now()
    if actor.role is not Role.CUSTOMER:
        await reply(update, context, context.t("stop.not_customer"))
        return

    async def opt_out(session: AsyncSession) -> int:
        rows = (
            await session.exec(select(Customer).where(col(Customer.telegram_chat_id) == actor.user_id))
        ).all()
        for customer in rows:
            customer.optin_state = "out"
            session.add(customer)
            assert customer.id is not None
            await care_service.skip_opted_out(session, customer_id=customer.id, now=now)
            session.add(
                Note(
                    customer_id=customer.id,
                    team_id=customer.team_id,
                    kind="system",
                    meta={"event": "optout"},
                    created_at=now,
                )
            )
        return len(rows)

    await context.services.db(opt_out)
    await reply(update, context, context.t("stop.done"))


# ---------------------------------------------------------------- language and cancel


@router.command("language", Perm.ANY)
async def cmd_language(update: Update, context: BotContext) -> None:
    """/language: choose 中文 or English."""
    await _language_menu(update, context)


@router.callback("lm", Perm.ANY)
async def on_language_menu(update: Update, context: BotContext) -> None:
    """The Language button."""
    if update.callback_query:
        await update.callback_query.answer()
    await _language_menu(update, context, edit=True)


async def _language_menu(update: Update, context: BotContext, *, edit: bool = False) -> None:
    rows = [[button(context.services.text(lang, "plain.language_name"), "lg", lang) for lang in LANGUAGES]]
    await reply(update, context, context.t("language.pick"), keyboard(rows), edit=edit)


@router.callback("lg", Perm.ANY)
async def on_language(update: Update, context: BotContext) -> None:
    """Switch the user's language."""
    args = context.route_args
    if not args or args[0] not in LANGUAGES:
        if update.callback_query:
            await update.callback_query.answer(context.alert("error.stale"), show_alert=True)
        return
    user_id, lang = context.actor.user_id, args[0]
    await context.services.db(lambda s: team_service.set_language(s, user_id=user_id, language=lang))
    actor = await refresh_actor(context)
    if update.callback_query:
        await update.callback_query.answer()
    if actor.is_staff:
        await set_commands(context, actor)
    await reply(update, context, context.t("language.set"), edit=True)
    await show_menu(update, context)


@router.command("cancel", Perm.ANY, keeps_flow=True)
async def cmd_cancel(update: Update, context: BotContext) -> None:
    """/cancel: leave whatever flow the user is in."""
    state = await flows.current(context)
    if state is None:
        await reply(update, context, context.t("flow.nothing_to_cancel"))
        await show_menu(update, context)
        return
    await flows.cancel(update, context, state)


# ---------------------------------------------------------------- plain messages and files


async def on_text(update: Update, context: BotContext) -> None:
    """Text goes to the current flow; otherwise staff search, customers reach their rep."""
    message = update.effective_message
    assert message is not None and message.text is not None
    actor = context.actor
    if actor.is_staff:
        state = await flows.current(context)
        if state is not None and state.flow == playbooks.PLAY_FLOW:
            await playbooks.on_typed(update, context, state, message.text)
            return
        if state is not None:
            await flows.feed(update, context, state, Input(text=message.text))
            return
        if actor.team_id is None and not actor.is_admin:
            await show_menu(update, context)
            return
        query = message.text.strip()
        if len(query) > 100:
            # Too long to be a search: most likely a note typed without opening a card.
            await reply(update, context, context.t("find.too_long"))
            return
        await cards.search_and_show(update, context, svc.Filters(query=query))
        return
    if actor.role is Role.CUSTOMER:
        await _relay_to_rep(update, context, message.text)
        return
    await reply(update, context, context.t("stranger.intro"))


async def _relay_to_rep(update: Update, context: BotContext, text: str) -> None:
    actor, now = context.actor, context.services.now()

    async def record(session: AsyncSession) -> list[tuple[int, str, int, str]]:
        found = (
            await session.exec(select(Customer).where(col(Customer.telegram_chat_id) == actor.user_id))
        ).all()
        out = []
        for customer in found:
            assert customer.id is not None
            session.add(
                Note(
                    customer_id=customer.id,
                    team_id=customer.team_id,
                    kind="message",
                    text=text[: svc.NOTE_MAX],
                    created_at=now,
                )
            )
            customer.last_contact_at = now
            session.add(customer)
            rep = await session.get(User, customer.owner_id)
            if rep is not None:
                out.append((rep.telegram_id, rep.language, customer.id, customer.name))
        return out

    for rep_id, lang, cid, name in await context.services.db(record):
        text_for_rep = context.services.text(lang, "relay.to_rep", name=name, text=text[:3500])
        try:
            await context.bot.send_message(
                rep_id,
                text_for_rep,
                reply_markup=keyboard(
                    [[button(context.services.text(lang, "btn.open_card"), "cv", cid, "basic")]]
                ),
            )
        except TelegramError as error:
            log.warning("could not relay to rep %s: %s", rep_id, error)
    await reply(update, context, context.t("relay.thanks"))


async def on_media(update: Update, context: BotContext) -> None:
    """A photo, voice note or file: attach it to the note being written, or import contacts."""
    message = update.effective_message
    assert message is not None
    actor = context.actor
    if not actor.is_staff:
        await reply(
            update,
            context,
            context.t("stranger.intro" if actor.role is Role.STRANGER else "relay.text_only"),
        )
        return
    given = _media_input(update)
    state = await flows.current(context)
    if state is not None and state.flow == playbooks.PLAY_FLOW:
        await reply(update, context, context.t("error.text_expected"))
        await playbooks.resume(update, context, state)
        return
    if state is not None:
        await flows.feed(update, context, state, given)
        return
    document = message.document
    if document is not None:
        await _import_vcf(update, context)
        return
    await reply(update, context, context.t("note.open_card_first"))


def _media_input(update: Update) -> Input:
    message = update.effective_message
    assert message is not None
    caption = message.caption or ""
    if message.photo:
        return Input(text=caption, file_id=message.photo[-1].file_id, file_kind="photo")
    if message.voice:
        return Input(text=caption, file_id=message.voice.file_id, file_kind="voice")
    if message.audio:
        return Input(text=caption, file_id=message.audio.file_id, file_kind="voice")
    if message.document:
        return Input(text=caption, file_id=message.document.file_id, file_kind="document")
    if message.video:
        return Input(text=caption, file_id=message.video.file_id, file_kind="document")
    return Input(text=caption)


VCF_MAX_BYTES = 2 * 1024 * 1024


async def _import_vcf(update: Update, context: BotContext) -> None:
    message = update.effective_message
    assert message is not None and message.document is not None
    document = message.document
    name = (document.file_name or "").lower()
    mime = (document.mime_type or "").lower()
    if not (name.endswith((".vcf", ".vcard")) or "vcard" in mime):
        await reply(update, context, context.t("import.wrong_type", name=document.file_name or mime or "?"))
        return
    if context.actor.team_id is None:
        await reply(update, context, context.t("error.need_team"))
        return
    if (document.file_size or 0) > VCF_MAX_BYTES:
        await reply(update, context, context.t("import.too_big"))
        return
    file = await document.get_file()
    content = bytes(await file.download_as_bytearray())
    contacts = parse_vcards(content)
    if not contacts:
        await reply(update, context, context.t("import.nothing"))
        return
    await _create_contacts(update, context, contacts)


async def _create_contacts(update: Update, context: BotContext, contacts: list[dict[str, str]]) -> None:
    actor, now = context.actor, context.services.now()
    team_id = actor.team_id
    assert team_id is not None

    hidden = context.t("import.someone_elses")

    async def create(session: AsyncSession) -> tuple[list[Customer], list[str], list[str]]:
        created: list[Customer] = []
        duplicates: list[str] = []
        rejected: list[str] = []
        for values in contacts:
            try:
                if values.get("phone"):
                    probe = svc.validate_field("phone", values["phone"], today=now.date())
                    existing = await svc.find_by_phone(
                        session, team_id=team_id, digits=probe.phone_digits or ""
                    )
                    if existing is not None:
                        # Another rep's customer is not named to this rep.
                        visible = can_view_customer(actor, svc.ref(existing))
                        duplicates.append(existing.name if visible else hidden)
                        continue
                created.append(
                    await svc.create_customer(session, actor, values=values, now=now, lenient=True)
                )
            except InvalidInput:
                rejected.append(values.get("name") or "?")
        return created, duplicates, rejected

    created, duplicates, rejected = await context.services.db(create)
    if len(created) == 1 and not duplicates and not rejected:
        assert created[0].id is not None
        await cards.show_card(update, context, created[0].id, notice=context.t("card.created"))
        return
    rows = [[button(c.name, "cv", c.id, "basic")] for c in created[:8]]
    rows.append([button(context.t("btn.menu"), "m")])
    await reply(
        update,
        context,
        context.t("import.done", created=len(created), duplicates=duplicates, rejected=rejected),
        keyboard(rows),
    )


async def on_contact(update: Update, context: BotContext) -> None:
    """A shared Telegram contact becomes a customer card in one tap."""
    message = update.effective_message
    assert message is not None and message.contact is not None
    if not context.actor.is_staff:
        await reply(update, context, context.t("stranger.intro"))
        return
    if context.actor.team_id is None:
        await reply(update, context, context.t("error.need_team"))
        return
    contact = message.contact
    name = " ".join(x for x in (contact.first_name, contact.last_name) if x)
    await _create_contacts(update, context, [{"name": name, "phone": contact.phone_number}])


async def on_other(update: Update, context: BotContext) -> None:
    """Stickers, locations and the like: say what the bot understands."""
    await reply(update, context, context.t("error.unsupported_message"))
