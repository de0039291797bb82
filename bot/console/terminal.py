"""`salesbot console`: the terminal plays the phone.

Lines you type go to the bot as messages. `#2` taps button 2 of the latest message with
buttons. Lines starting with `:` are console commands (`:help` lists them). With
`--script FILE` the lines come from a file and the transcript is printed.
"""

from __future__ import annotations

import asyncio
import html
import re
import shlex
import socket
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from bot.app import CONSOLE_TOKEN
from bot.config import Settings
from bot.console.demo import load_demo, rep_invite
from bot.console.driver import Driver, running_bot
from bot.scheduling.jobs import plan_now
from bot.storage.db import transaction
from bot.web import initdata
from botapi_standin import BotEvent, Copied, SentMessage

YOU = 1001
PEOPLE = {
    "you": (YOU, "You"),
    "lead": (9000001, "李娜 Li Na"),
    "rep": (9000002, "王芳 Wang Fang"),
    "tom": (9000003, "Tom Becker"),
    "customer": (7000001, "张伟"),
}

CONSOLE_HELP = """\
Console commands:
  #N                 tap button N of the latest message with buttons
  :join              open the demo team's rep invite (with --demo)
  :claim             open the admin claim link (on an empty database)
  :as NAME           talk as someone else: you, lead, rep, tom, customer, or a numeric id
  :contact PHONE NAME  share a Telegram contact
  :file PATH         send a file (e.g. a .vcf with contacts)
  :photo [CAPTION]   send a photo        :voice   send a voice message
  :time HH:MM        pretend it is that time today (the team's timezone), e.g. :time 10:00
  :care              plan and send the care messages and agendas that are due now
  :help              this help           :quit    leave (Ctrl-D works too)
Lines starting with '# ' (hash, space) in a script are comments."""

_TAG = re.compile(r"<[^>]+>")


@dataclass
class ShiftedClock:
    """The real time moved by an offset, so the console can pretend it is 10:00."""

    offset: timedelta = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def plain(text: str) -> str:
    """HTML as a terminal shows it."""
    return html.unescape(_TAG.sub("", text))


@dataclass
class Console:
    """Prints what the bot sends and turns typed lines into updates."""

    driver: Driver
    write: Callable[[str], None]
    clock: ShiftedClock | None = None
    current: int = YOU
    names: dict[int, str] = field(default_factory=dict)
    # Deep links the console printed at start, opened with :join and :claim.
    links: dict[str, str] = field(default_factory=dict)
    # Where photos and documents the bot sends are saved.
    files: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "salesbot-console")

    def on_event(self, event: BotEvent) -> None:
        """Print a message the bot sent or edited, in the chat being watched."""
        if event.kind not in ("send", "edit") or event.message is None:
            return
        if event.chat_id != self.current:
            who = self.names.get(event.chat_id or 0, str(event.chat_id))
            self.write(f"   (bot → {who}: {shorten(plain(event.message.text or ''), 60)})")
            return
        self.write(render(event.message, edited=event.kind == "edit", saved=self._save_file(event.message)))

    def _save_file(self, message: SentMessage) -> Path | None:
        """Photos and files the bot sends are saved, so they can be opened (the digest chart)."""
        if message.file_bytes is None or message.kind not in ("photo", "document"):
            return None
        self.files.mkdir(parents=True, exist_ok=True)
        suffix = ".png" if message.kind == "photo" else ""
        name = message.file_name or f"{message.kind}-{message.chat_id}-{message.message_id}{suffix}"
        path = self.files / Path(name).name
        path.write_bytes(message.file_bytes)
        return path

    async def handle(self, line: str) -> bool:
        """Act on one typed line; False means quit."""
        line = line.rstrip("\n")
        stripped = line.strip()
        if not stripped or stripped.startswith("# "):
            return True
        driver, uid = self.driver, self.current
        try:
            if re.fullmatch(r"#\d+", stripped):
                await driver.press(uid, int(stripped[1:]))
            elif stripped.startswith(":"):
                return await self._command(stripped[1:])
            else:
                await driver.send(uid, line)
        except Copied as copied:
            # A phone copies the text to the clipboard and tells the bot nothing.
            self.write(f"   📋 copied to the clipboard: {copied.text}")
        except (ValueError, LookupError) as error:
            self.write(f"   ! {error}")
        return True

    async def _command(self, text: str) -> bool:
        parts = shlex.split(text)
        if not parts:
            return True
        name, args = parts[0], parts[1:]
        driver, uid = self.driver, self.current
        if name in ("quit", "exit", "q"):
            return False
        if name == "help":
            self.write(CONSOLE_HELP)
        elif name in ("join", "claim"):
            if name not in self.links:
                self.write(f"   ! nothing to {name} (:join needs --demo; :claim an empty database)")
            else:
                self.write(f"   (opening /start {self.links[name]})")
                await driver.send(uid, f"/start {self.links[name]}")
        elif name == "as" and args:
            self._switch(args[0])
        elif name == "contact" and len(args) >= 2:
            await driver.share_contact(uid, args[0], " ".join(args[1:]))
        elif name == "file" and args:
            path = Path(args[0]).expanduser()
            mime = "text/vcard" if path.suffix.lower() in (".vcf", ".vcard") else "application/octet-stream"
            await driver.send_file(uid, path.name, path.read_bytes(), mime)
        elif name == "photo":
            await driver.send_photo(uid, _tiny_png(), caption=" ".join(args) or None)
        elif name == "voice":
            await driver.send_voice(uid, b"OggS-demo-voice")
        elif name == "time" and args:
            self._set_time(args[0])
        elif name == "care":
            result = await plan_now(driver.services)
            sent = await driver.app.bot_data.dispatcher.drain()
            self.write(f"   (care: {result.planned} planned, {sent} handled now)")
        else:
            self.write("   ! unknown console command; :help lists them")
        return True

    def _set_time(self, typed: str) -> None:
        clock = self.clock
        found = re.fullmatch(r"(\d{1,2}):(\d{2})", typed)
        if clock is None or not found or int(found[1]) > 23 or int(found[2]) > 59:
            self.write("   ! :time HH:MM, e.g. :time 10:00")
            return
        zone = ZoneInfo(self.driver.services.settings.default_timezone)
        local = datetime.now(zone)
        wanted = local.replace(hour=int(found[1]), minute=int(found[2]), second=0, microsecond=0)
        clock.offset = wanted - local
        self.write(f"── it is now {wanted:%Y-%m-%d %H:%M} ({zone.key}) for the bot ──")

    def _switch(self, who: str) -> None:
        if who in PEOPLE:
            uid, name = PEOPLE[who]
        elif who.isdigit():
            uid, name = int(who), f"User {who}"
        else:
            self.write("   ! :as you | lead | rep | tom | customer | <id>")
            return
        if uid not in self.names:
            self.driver.user(uid, name, "zh-hans")
            self.names[uid] = name
        self.current = uid
        self.write(f"── now talking as {name} ({uid}) ──")


def shorten(text: str, limit: int) -> str:
    """One line, cut to `limit`."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def render(message: SentMessage, *, edited: bool = False, saved: Path | None = None) -> str:
    """A bot message as terminal text with numbered buttons."""
    head = "🤖 (edited) " if edited else "🤖 "
    body = plain(message.text or "") if message.text else f"[{message.kind}]"
    if saved is not None:
        body = f"[{message.kind} saved to {saved}]" + (f"\n{body}" if message.text else "")
    lines = [head + body.replace("\n", "\n   ")]
    markup = message.reply_markup or {}
    number = 0
    for row in markup.get("inline_keyboard", []):
        labels = []
        for button in row:
            number += 1
            labels.append(f"[{number}] {button.get('text', '')}")
        lines.append("   " + "   ".join(labels))
    return "\n".join(lines)


def _tiny_png() -> bytes:
    return bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )


async def run_console(
    *,
    database_url: str,
    demo: bool,
    lines: Iterable[str] | None,
    write: Callable[[str], None],
    language: str = "zh-hans",
) -> None:
    """Start the bot against the in-process stand-in and talk to it from the terminal."""
    from bot.storage.db import make_engine, upgrade

    engine = make_engine(database_url)
    await upgrade(engine)
    clock = ShiftedClock()
    settings = _with_mini_app(database_url) if demo else None
    async with running_bot(engine=engine, schedule=True, clock=clock, settings=settings) as driver:
        console = Console(driver=driver, write=write, clock=clock)
        driver.standin.subscribe(console.on_event)
        for key, (uid, name) in PEOPLE.items():
            driver.user(uid, name, "en" if key == "tom" else language)
            console.names[uid] = name
        if demo:
            # The demo team's members and its 张伟 (who opened his link) started the bot long ago.
            for key in ("lead", "rep", "tom", "customer"):
                driver.standin.user(PEOPLE[key][0]).started = True
        claim = driver.app.bot_data.claim_link
        write("salesbot console — you are chatting with the bot as 'You'. :help lists console commands.")
        if demo:
            now = driver.services.now()
            async with transaction(driver.services.sessions) as session:
                team_id = await load_demo(session, now=now, drills=driver.services.drills)
            async with transaction(driver.services.sessions) as session:
                code = await rep_invite(session, team_id=team_id, now=now)
            console.links["join"] = code
            write(f"Demo team loaded. To join it as a new rep, type :join (or /start {code}).")
            for key, role in (("rep", "rep"), ("lead", "lead")):
                link = mini_app_link(driver, *PEOPLE[key], language=language)
                if link:
                    write(f"Mini App as {PEOPLE[key][1]} ({role}), in a desktop browser: {link}")
        if claim:
            console.links["claim"] = claim.rsplit("=", 1)[-1]
            if not demo:
                write("No admin yet. Type :claim to become admin.")
        if lines is None:
            await _interactive(console, write)
        else:
            for line in lines:
                if line.strip() and not line.strip().startswith("# "):
                    write(f"> {line.rstrip()}")
                if not await console.handle(line):
                    break
    await engine.dispose()


def _with_mini_app(database_url: str) -> Settings:
    """Settings that serve the Mini App on a free loopback port (for a desktop browser)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return Settings(
        DATABASE_URL=database_url,
        SALESBOT_WEB_URL=f"http://127.0.0.1:{port}/",
        SALESBOT_WEB_LISTEN="127.0.0.1",
        SALESBOT_WEB_PORT=port,
    )


def mini_app_link(driver: Driver, user_id: int, name: str, *, language: str) -> str | None:
    """The Mini App's address with initData for this user, signed with the console's token as
    Telegram would sign it, in the hash where Telegram puts it (`tgWebAppData`)."""
    server = driver.app.bot_data.web
    if server is None:
        return None
    fields = {
        "user": initdata.user_field(user_id, name, language_code=language),
        "auth_date": str(int(driver.services.now().timestamp())),
    }
    signed = initdata.sign(fields, CONSOLE_TOKEN)
    return f"http://127.0.0.1:{server.port}/#tgWebAppData={quote(signed, safe='')}&tgWebAppPlatform=unknown"


async def _interactive(console: Console, write: Callable[[str], None]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        try:
            line = await loop.run_in_executor(None, _prompt)
        except EOFError:
            break
        if not await console.handle(line):
            break
    write("bye")


def _prompt() -> str:
    return input("> ")


def stdout_writer(text: str) -> None:
    """Print immediately (the transcript interleaves with typing)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
