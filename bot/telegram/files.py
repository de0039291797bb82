"""Files downloaded through the bot by their file_id (getFile, then the file's URL), for the
Mini App's timeline (bot.services.note_files)."""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot
from telegram.error import BadRequest, NetworkError, RetryAfter

from bot.services.note_files import Fetched, FileGone, FileTooBig, FileUnreachable

log = logging.getLogger(__name__)

# A download may be 20 MB: longer than an API call's read timeout allows.
DOWNLOAD_TIMEOUT = 60.0


class TelegramFiles:
    """A FileSource over the bot's own connection to Telegram.

    At most `at_once` downloads run together, so a screen of photos opened by many people
    holds at most that many files (20 MB each at worst) in memory at a time; the others wait.
    """

    def __init__(self, bot: Bot, *, at_once: int = 4) -> None:
        self.bot = bot
        self._slots = asyncio.Semaphore(at_once)

    async def fetch(self, file_id: str) -> Fetched:
        """The file's bytes and its path at Telegram."""
        async with self._slots:
            try:
                file = await self.bot.get_file(file_id)
                content = await file.download_as_bytearray(read_timeout=DOWNLOAD_TIMEOUT)
            except BadRequest as error:
                if "too big" in error.message.lower():
                    raise FileTooBig() from error
                log.warning("file %s: Telegram refused it: %s", file_id, error.message)
                raise FileGone() from error
            except (NetworkError, RetryAfter) as error:
                log.warning("file %s: Telegram not reached: %s", file_id, error)
                raise FileUnreachable() from error
        return Fetched(bytes(content), file.file_path)
