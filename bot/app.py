"""Wiring: one function builds the Application from settings, a database, a clock and a URL."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.config import Settings
from bot.domain.access import Perm
from bot.heavy import Heavy
from bot.i18n import Catalogue, catalogue
from bot.playbooks.check import load_all
from bot.playbooks.model import Playbook
from bot.practice import check as drill_check
from bot.runtime import Clock, Runtime, system_clock
from bot.scheduling import jobs
from bot.scheduling.digests import DigestJob
from bot.scheduling.dispatcher import Dispatcher
from bot.services import digest as digest_service
from bot.services import team as team_service
from bot.storage.db import SessionFactory
from bot.telegram import (  # noqa: F401  (handlers register their routes)
    agenda,
    cards,
    care,
    customer_side,
    digest,
    flows,
    inbox,
    mini_app,
    playbooks,
    practice,
    start,
    team,
)
from bot.telegram.context import AppData, BotContext
from bot.telegram.delivery import Deliveries, StoreOnReceipt
from bot.telegram.errors import on_error, report
from bot.telegram.gate import gate
from bot.telegram.ordering import OrderedUpdateProcessor
from bot.telegram.request import READ_TIMEOUT, RETRY_DELAYS, TelegramRequest
from bot.telegram.routes import Route, router

log = logging.getLogger(__name__)

CONSOLE_TOKEN = "100000001:console-token-not-secret"

SalesApp = Application[Any, BotContext, dict[Any, Any], dict[Any, Any], AppData, Any]


@dataclass
class Wiring:
    """What differs between Telegram, the console and the tests."""

    settings: Settings
    sessions: SessionFactory
    clock: Clock = system_clock
    base_url: str | None = None
    base_file_url: str | None = None
    token: str | None = None
    catalogue: Catalogue | None = None
    rate_limiter: bool = True
    retry_delays: tuple[float, ...] | None = None
    # Pauses before repeating a Bot API call Telegram refused (bot.telegram.request), and
    # how long to wait for its answer; tests shorten both.
    telegram_retry_delays: tuple[float, ...] = RETRY_DELAYS
    telegram_read_timeout: float = READ_TIMEOUT
    playbooks: dict[str, Playbook] | None = None  # the checked files of playbooks/ by default
    drills: drill_check.Drills | None = None  # the checked files of drills/ by default
    schedule: bool = True  # run the planner, dispatcher and tidy jobs (tests drive them by hand)
    # Store each update before it is confirmed to Telegram, handle at start-up those stored
    # but never handled, and never apply one twice (`salesbot run`; the console and
    # in-process tests feed updates themselves).
    once_per_update: bool = False


Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


def _reporting(handler: Handler) -> Handler:
    """The handler, with its errors told to the user from the handler's own context.

    PTB's error handler gets a fresh context, without the actor (so without their
    language) and without what the gate set aside for Retry (`context.unsaved`).
    """

    async def run(update: Update, context: BotContext) -> None:
        try:
            await handler(update, context)
        except ApplicationHandlerStop:
            raise
        except Exception as error:
            await report(update, context, error)

    return run


async def _run_route(update: Update, context: BotContext, route: Route) -> None:
    """Run an approved route; any route but the form's own ends a half-filled form.

    A user who taps or types their way elsewhere has moved on, so a later message
    is not taken as the answer to a question they no longer see.
    """
    if not route.keeps_flow and context.flow_state is not None:
        await flows.end(context)
    await route.handler(update, context)


async def _dispatch_callback(update: Update, context: BotContext) -> None:
    """Run the button route the gate resolved and approved."""
    if context.route is None or update.callback_query is None:
        return  # the gate did not approve a route: fail closed
    await _run_route(update, context, context.route)


def _command(route: Route) -> Any:
    async def run(update: Update, context: BotContext) -> None:
        # Fail closed: only the route the gate approved for this very update runs.
        if context.route is route:
            await _run_route(update, context, route)

    return run


@router.callback("rt", Perm.ANY, keeps_flow=True)
async def on_retry(update: Update, context: BotContext) -> None:
    """Replay, in order, the messages that could not be saved while the database was busy.

    They are the user's messages since their last update that went through (the gate set
    them aside for this press). One that fails again is kept, with those after it, for
    the next Retry; when nothing is waiting (the user typed again instead), nothing is
    replayed, so nothing is applied twice.
    """
    query = update.callback_query
    assert query is not None
    earlier, context.unsaved = context.unsaved, []
    if not earlier:
        await query.answer(context.alert("error.nothing_to_retry"))
        return
    await query.answer()
    pending, user_id = context.bot_data.pending, context.actor.user_id
    for index, message in enumerate(earlier):
        # Inline, in this update's turn: handed to the update processor instead, a replay
        # would wait for this user's current update (this one) to finish, which waits for it.
        await context.application.process_update(message)
        if user_id in pending:  # the database is still busy: keep the rest for later
            pending[user_id].extend(earlier[index + 1 :])
            return


def build_services(wiring: Wiring) -> Runtime:
    """The services every process shares: database, clock, texts, playbooks, drills, outbox
    senders and the digest builder."""
    services = Runtime(
        settings=wiring.settings,
        sessions=wiring.sessions,
        catalogue=wiring.catalogue or catalogue(),
        clock=wiring.clock,
        heavy=Heavy(wiring.settings.heavy_processes),
    )
    if wiring.retry_delays is not None:
        services.retry_delays = wiring.retry_delays
    # Every playbook file must pass the checker, or the bot does not start.
    services.playbooks = load_all() if wiring.playbooks is None else wiring.playbooks
    # So must every drill file (an empty drills/ is fine: no drills).
    services.drills = drill_check.load_all() if wiring.drills is None else wiring.drills
    services.senders = care.outbox_senders(services)
    services.digest_builder = digest.builder(services)
    digest_service.code_mark()  # read the code once now, not in the first /digest's turn
    return services


def build_application(wiring: Wiring) -> SalesApp:
    """The bot: handlers, access gate, error handler and services, ready to start."""
    settings = wiring.settings
    token = wiring.token or (settings.bot_token.get_secret_value() if settings.bot_token else None)
    if not token:
        raise SystemExit("BOT_TOKEN is not set (use `salesbot console` to try the bot without one)")
    services = build_services(wiring)
    builder = (
        Application.builder()
        .token(token)
        .context_types(ContextTypes(context=BotContext, bot_data=AppData))
        .defaults(
            Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True))
        )
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .request(
            TelegramRequest(
                retry_delays=wiring.telegram_retry_delays, read_timeout=wiring.telegram_read_timeout
            )
        )
        # Polling: the Updater repeats getUpdates on its own, forever (one connection, as PTB's).
        .get_updates_request(
            TelegramRequest(
                retry_delays=(), read_timeout=wiring.telegram_read_timeout, connection_pool_size=1
            )
        )
    )
    if wiring.once_per_update:
        bot_id = int(token.split(":", 1)[0])
        builder = builder.update_queue(StoreOnReceipt(services, bot_id))
        processor = OrderedUpdateProcessor(
            settings.concurrent_updates, deliveries=Deliveries(services, bot_id)
        )
    else:
        processor = OrderedUpdateProcessor(settings.concurrent_updates)
    builder = builder.concurrent_updates(processor)
    base_url = wiring.base_url or settings.telegram_api_base_url
    file_url = wiring.base_file_url or settings.telegram_file_base_url
    if base_url:
        builder = builder.base_url(base_url)
    if file_url:
        builder = builder.base_file_url(file_url)
    if wiring.rate_limiter:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))  # type: ignore[arg-type]
    application: SalesApp = builder.build()
    application.bot_data.services = services
    application.bot_data.schedule = wiring.schedule
    if settings.web_url is not None:
        # Imported only here: a bot without the Mini App (and `salesbot dispatch`) loads no aiohttp.
        from bot.telegram.files import TelegramFiles
        from bot.web.server import build_web_server

        application.bot_data.web = build_web_server(services, token, files=TelegramFiles(application.bot))
    application.add_handler(TypeHandler(Update, gate), group=-1)
    for name, route in router.commands.items():
        application.add_handler(
            CommandHandler(name, _reporting(_command(route)), filters=filters.UpdateType.MESSAGE)
        )
    application.add_handler(CallbackQueryHandler(_reporting(_dispatch_callback)))
    new = filters.UpdateType.MESSAGE  # edits of old messages are not new input
    text = new & filters.TEXT & ~filters.COMMAND
    application.add_handler(MessageHandler(text, _reporting(inbox.on_text)))
    application.add_handler(MessageHandler(new & filters.CONTACT, _reporting(inbox.on_contact)))
    media = filters.PHOTO | filters.VOICE | filters.AUDIO | filters.Document.ALL | filters.VIDEO
    application.add_handler(MessageHandler(new & media, _reporting(inbox.on_media)))
    application.add_handler(MessageHandler(new, _reporting(inbox.on_other)))
    application.add_handler(
        ChatMemberHandler(_reporting(customer_side.on_my_chat_member), ChatMemberHandler.MY_CHAT_MEMBER)
    )
    application.add_error_handler(on_error)
    return application


async def _post_init(application: SalesApp) -> None:
    services = application.bot_data.services
    assert services is not None
    services.bot_username = application.bot.username
    application.bot_data.started_at = time.monotonic()
    await _replay_unhandled(application)
    await start.set_default_commands(application.bot, services.catalogue, services.settings.default_language)
    application.bot_data.dispatcher = Dispatcher(services, application.bot)
    application.bot_data.digest_job = DigestJob(services)
    if application.job_queue is not None and application.bot_data.schedule:
        jobs.schedule(application.job_queue)
    link = await admin_claim_link(services)
    if link:
        application.bot_data.claim_link = link
        log.warning("No admin yet. Open this one-time link in Telegram to become admin: %s", link)
    if application.bot_data.web is not None:
        await application.bot_data.web.start()
        if services.settings.mini_app_url is not None:
            application.bot_data.menu_buttons = mini_app.offer_all_soon(application.bot, services)


async def _post_shutdown(application: SalesApp) -> None:
    if application.bot_data.menu_buttons is not None:
        application.bot_data.menu_buttons.cancel()
    if application.bot_data.web is not None:
        await application.bot_data.web.stop()
    services = application.bot_data.services
    if services is not None:
        services.heavy.close()


async def _replay_unhandled(application: SalesApp) -> None:
    """Queue the stored updates no process handled (one died first), before polling starts."""
    processor = application.update_processor
    if not isinstance(processor, OrderedUpdateProcessor) or processor.deliveries is None:
        return
    updates = await processor.deliveries.unhandled(application.bot)
    for update in updates:  # straight into the queue: they are stored already
        application.update_queue.put_nowait(update)
    if updates:
        log.info("handling %d updates received but not handled before", len(updates))


async def set_menu_buttons(wiring: Wiring) -> int:
    """`salesbot menu-buttons`: every staff member's chat menu button set now, to the Mini App
    when it has a public address, else back to the default (after switching it off)."""
    wiring.schedule = False
    application = build_application(wiring)
    await application.initialize()  # the bot (getMe), without post-init: nobody is answered
    try:
        services = application.bot_data.services
        assert services is not None
        return await mini_app.offer_all(application.bot, services, withdraw=True)
    finally:
        await application.shutdown()


async def run_worker(wiring: Wiring, *, once: bool = False) -> None:
    """`salesbot dispatch`: the bot as `build_application` wires it, planning and sending only."""
    wiring.schedule = False
    application = build_application(wiring)
    await application.initialize()  # the bot (getMe), without post-init: a worker answers no one
    try:
        services = application.bot_data.services
        assert services is not None
        services.bot_username = application.bot.username
        await jobs.run_worker(services, Dispatcher(services, application.bot), once=once)
    finally:
        await application.shutdown()


async def admin_claim_link(services: Runtime) -> str | None:
    """On a database with no admin (and none configured), a one-time admin claim link."""
    if services.settings.admin_ids:
        return None

    async def make(session: Any) -> str | None:
        if await team_service.has_admin(session):
            return None
        return await team_service.create_invite(
            session, None, kind="admin", team_id=None, now=services.now(), ttl=timedelta(days=7)
        )

    code = await services.db(make)
    return services.deep_link(code) if code else None


async def start_application(application: SalesApp) -> None:
    """Initialise, run post-init and start (without polling): for the console and tests."""
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()


async def stop_application(application: SalesApp) -> None:
    """Stop, shut down and run post-shutdown: what `start_application` started, ended."""
    if application.running:
        await application.stop()
    await application.shutdown()
    if application.post_shutdown is not None:
        await application.post_shutdown(application)
