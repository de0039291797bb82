"""Drive the real Application as a person would: type, tap buttons, share files.

The console and the end-to-end tests both use this. Updates are built by the Bot API
stand-in (the `botapi_standin` package) as Telegram would send them and fed through the
Application's update processor, as polling and webhooks feed them (so one user's updates
wait for each other and different users' run side by side); everything the bot sends
goes over HTTP to the stand-in, which records it.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.error import TelegramError

from bot.app import CONSOLE_TOKEN, SalesApp, Wiring, build_application, start_application, stop_application
from bot.config import Settings
from bot.runtime import Clock, Runtime, system_clock
from bot.storage.db import make_engine, make_session_factory, upgrade
from botapi_standin import SPEC_PATH, BotApiStandIn, BotEvent, Limits, SentMessage

# The Bot API specification the stand-in validates against (shipped with the stand-in).
SPEC = SPEC_PATH
BOT_USERNAME = "salesbot_console_bot"


@dataclass
class Driver:
    """A running bot with a stand-in Telegram and simulated users.

    Each action returns the bot messages that the action sent or edited in the acting
    user's chat, in the order they were first touched, as they look afterwards.
    """

    app: SalesApp
    standin: BotApiStandIn
    engine: AsyncEngine
    inbox: dict[int, dict[int, SentMessage]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.standin.subscribe(self._record)

    def _record(self, event: BotEvent) -> None:
        if event.kind in ("send", "edit") and event.message is not None and event.chat_id is not None:
            self.inbox.setdefault(event.chat_id, {})[event.message.message_id] = event.message

    @property
    def services(self) -> Runtime:
        """The bot's services (database, clock, catalogue)."""
        services = self.app.bot_data.services
        assert services is not None
        return services

    def user(self, user_id: int, name: str, language: str = "zh-hans", username: str | None = None) -> int:
        """Make a simulated Telegram user known to the stand-in."""
        self.standin.add_user(user_id, name, language_code=language, username=username)
        return user_id

    async def feed(self, payload: dict[str, Any]) -> None:
        """Hand one update to the Application and wait until it is fully handled.

        It takes the way polling's updates take (PTB's update fetcher does the same for
        each one), less the queue, so that the caller can wait for this very update.
        """
        update = Update.de_json(payload, self.app.bot)
        await self.app.update_processor.process_update(update, self.app.process_update(update))

    def new_messages(self, chat_id: int) -> list[SentMessage]:
        """Bot messages sent or edited in the chat since the last look."""
        return list(self.inbox.pop(chat_id, {}).values())

    async def _act(self, user_id: int, payload: dict[str, Any]) -> list[SentMessage]:
        self.inbox.pop(user_id, None)
        await self.feed(payload)
        return self.new_messages(user_id)

    async def send(self, user_id: int, text: str) -> list[SentMessage]:
        """Type a message (or /command) and return what the bot answered."""
        return await self._act(user_id, self.standin.text_update(user_id, text))

    async def press(self, user_id: int, label: str | int) -> list[SentMessage]:
        """Tap a button on the latest message with buttons, by (part of) its label or number."""
        return await self._act(user_id, self.standin.press(user_id, label))

    async def callback(self, user_id: int, message_id: int, data: str) -> list[SentMessage]:
        """Send arbitrary callback data (a forged or stale button)."""
        return await self._act(user_id, self.standin.callback_update(user_id, message_id, data, forged=True))

    async def share_contact(
        self, user_id: int, phone: str, first: str, last: str | None = None
    ) -> list[SentMessage]:
        """Share a Telegram contact."""
        return await self._act(user_id, self.standin.contact_update(user_id, phone, first, last))

    async def send_file(self, user_id: int, name: str, content: bytes, mime: str) -> list[SentMessage]:
        """Send a document."""
        return await self._act(user_id, self.standin.document_update(user_id, name, content, mime))

    async def send_photo(self, user_id: int, content: bytes, caption: str | None = None) -> list[SentMessage]:
        """Send a photo."""
        return await self._act(user_id, self.standin.photo_update(user_id, content, caption=caption))

    async def send_voice(self, user_id: int, content: bytes, duration: int = 3) -> list[SentMessage]:
        """Send a voice message."""
        return await self._act(user_id, self.standin.voice_update(user_id, content, duration))

    @asynccontextmanager
    async def polling(self, *, timeout: int = 1) -> AsyncIterator[None]:
        """Receive updates by long polling, as `salesbot run` does, until the block ends.

        As in `Application.run_polling`, a failed getUpdates goes to the bot's error
        handler and the Updater polls again.
        """
        app = self.app
        assert app.updater is not None

        def polling_failed(error: TelegramError) -> None:
            app.create_task(app.process_error(update=None, error=error))

        await app.updater.start_polling(
            poll_interval=0.0,
            timeout=timeout,
            allowed_updates=Update.ALL_TYPES,
            error_callback=polling_failed,
        )
        try:
            yield
        finally:
            await app.updater.stop()

    def last(self, chat_id: int) -> SentMessage:
        """The bot's latest message in a chat."""
        return self.standin.messages(chat_id)[-1]


@asynccontextmanager
async def running_bot(
    *,
    database_url: str | None = None,
    settings: Settings | None = None,
    clock: Clock = system_clock,
    limits: Limits | None = None,
    retry_delays: tuple[float, ...] | None = None,
    telegram_retry_delays: tuple[float, ...] | None = None,
    telegram_read_timeout: float | None = None,
    engine: AsyncEngine | None = None,
    schedule: bool = False,
) -> AsyncIterator[Driver]:
    """Start the stand-in and the real Application on a migrated database; stop both after."""
    scratch = None
    if database_url is None and engine is None:
        scratch = tempfile.TemporaryDirectory(prefix="salesbot-")
        database_url = f"sqlite+aiosqlite:///{scratch.name}/salesbot.db"
    own_engine = engine is None
    if engine is None:
        assert database_url is not None
        engine = make_engine(database_url)
        await upgrade(engine)
    settings = settings or Settings(DATABASE_URL=str(engine.url.render_as_string(hide_password=False)))
    standin = BotApiStandIn(
        SPEC, token=CONSOLE_TOKEN, bot_username=BOT_USERNAME, limits=limits or Limits.unlimited()
    )
    await standin.start()
    wiring = Wiring(
        settings=settings,
        sessions=make_session_factory(engine),
        clock=clock,
        base_url=standin.base_url,
        base_file_url=standin.base_file_url,
        token=CONSOLE_TOKEN,
        retry_delays=retry_delays,
        schedule=schedule,
    )
    if telegram_retry_delays is not None:
        wiring.telegram_retry_delays = telegram_retry_delays
    if telegram_read_timeout is not None:
        wiring.telegram_read_timeout = telegram_read_timeout
    app = build_application(wiring)
    try:
        await start_application(app)
        yield Driver(app=app, standin=standin, engine=engine)
    finally:
        await stop_application(app)
        await standin.stop()
        if own_engine:
            await engine.dispose()
        if scratch is not None:
            scratch.cleanup()
