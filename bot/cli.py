"""The `salesbot` command: run, console, db."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine


class RedactingFormatter(logging.Formatter):
    """Keep the bot token out of every log line, tracebacks included (httpx logs URLs)."""

    # Any token-shaped string in a Bot API URL, even one we were not told about.
    GENERIC = re.compile(r"/(file/)?bot\d+:[A-Za-z0-9_-]+")

    def __init__(self, fmt: str, token: str | None) -> None:
        super().__init__(fmt)
        self.token = token

    def format(self, record: logging.LogRecord) -> str:
        """The formatted record with the token masked."""
        text = self.GENERIC.sub(lambda m: f"/{m.group(1) or ''}bot<token>", super().format(record))
        return text.replace(self.token, "<token>") if self.token else text


def setup_logging(settings: Settings, *, quiet: bool = False) -> None:
    """Log to stderr, with the token redacted and HTTP request chatter kept down."""
    token = settings.bot_token.get_secret_value() if settings.bot_token else None
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", token))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.ERROR if quiet else settings.log_level.upper())
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


@click.group()
def main() -> None:
    """Salesbot: a Telegram sales assistant for sales teams."""


@main.command()
@click.option("--webhook", "webhook_url", default=None, help="Public HTTPS URL for webhook mode.")
def run(webhook_url: str | None) -> None:
    """Run the bot against Telegram (long polling, or a webhook)."""
    from telegram import Update

    from bot.app import Wiring, build_application
    from bot.storage.db import make_engine, make_session_factory

    settings = Settings()
    setup_logging(settings)
    if settings.bot_token is None:
        raise click.UsageError("BOT_TOKEN is not set. Get one from @BotFather, or try `salesbot console`.")
    engine = make_engine(settings.database_url)
    asyncio.run(_migrate(engine))
    wiring = Wiring(settings=settings, sessions=make_session_factory(engine), once_per_update=True)
    app = build_application(wiring)
    if webhook_url:
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        app.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path="telegram",
            webhook_url=webhook_url.rstrip("/") + "/telegram",
            secret_token=secret,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
        if app.bot_data.refused:
            raise click.ClickException(
                "another process is already polling with this BOT_TOKEN; run only one `salesbot run` "
                "per bot (extra `salesbot dispatch` workers are fine)"
            )


async def _migrate(engine: AsyncEngine) -> None:
    """Apply the migrations, then close the connections: the bot runs in another event loop,
    and a pooled asyncpg connection cannot be used from a loop other than its own."""
    from bot.storage.db import upgrade

    await upgrade(engine)
    await engine.dispose()


@main.command()
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
def dispatch(once: bool) -> None:
    """Plan and send care messages only, without answering anyone (an extra worker).

    `salesbot run` already does this. More workers can share one PostgreSQL outbox.
    """
    settings = Settings()
    setup_logging(settings)
    if settings.bot_token is None:
        raise click.UsageError("BOT_TOKEN is not set.")
    asyncio.run(_dispatch(settings, once=once))


@main.command("menu-buttons")
def menu_buttons() -> None:
    """Set every staff member's chat menu button now: the Mini App (SALESBOT_WEB_URL, https),
    or, with none, Telegram's default (after switching the Mini App off)."""
    settings = Settings()
    setup_logging(settings)
    if settings.bot_token is None:
        raise click.UsageError("BOT_TOKEN is not set.")
    done = asyncio.run(_menu_buttons(settings))
    target = "the Mini App" if settings.mini_app_url else "the default menu"
    click.echo(f"{done} staff member(s) now have {target} as their chat menu button.")


async def _menu_buttons(settings: Settings) -> int:
    from bot.app import Wiring, set_menu_buttons
    from bot.storage.db import make_engine, make_session_factory, upgrade

    engine = make_engine(settings.database_url)
    await upgrade(engine)
    try:
        return await set_menu_buttons(Wiring(settings=settings, sessions=make_session_factory(engine)))
    finally:
        await engine.dispose()


async def _dispatch(settings: Settings, *, once: bool) -> None:
    from bot.app import Wiring, run_worker
    from bot.storage.db import make_engine, make_session_factory, upgrade

    engine = make_engine(settings.database_url)
    await upgrade(engine)
    try:
        await run_worker(Wiring(settings=settings, sessions=make_session_factory(engine)), once=once)
    finally:
        await engine.dispose()


@main.command()
@click.option("--demo", is_flag=True, help="Load a demo team with customers.")
@click.option(
    "--script",
    "script",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Play lines from a file and print the transcript.",
)
@click.option(
    "--database", "database_url", default=None, help="Database URL (default: DATABASE_URL, else salesbot.db)."
)
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", help="Your Telegram language.")
def console(demo: bool, script: Path | None, database_url: str | None, lang: str) -> None:
    """Try the bot in the terminal: no Telegram, no token."""
    from bot.console.terminal import run_console, stdout_writer

    settings = Settings()
    setup_logging(settings, quiet=True)
    url = Settings(DATABASE_URL=database_url).database_url if database_url else settings.database_url
    lines = script.read_text(encoding="utf-8").splitlines() if script else None
    asyncio.run(
        run_console(
            database_url=url,
            demo=demo,
            lines=lines,
            write=stdout_writer,
            language="en" if lang == "en" else "zh-hans",
        )
    )


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command()
def upgrade() -> None:
    """Apply all migrations to DATABASE_URL."""
    from bot.storage.db import make_engine
    from bot.storage.db import upgrade as apply

    settings = Settings()
    setup_logging(settings)

    async def go() -> None:
        engine = make_engine(settings.database_url)
        await apply(engine)
        await engine.dispose()

    asyncio.run(go())
    click.echo("database is up to date")


if __name__ == "__main__":
    main()


@main.group()
def playbooks() -> None:
    """Check playbook files and draw them."""


@playbooks.command("check")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def playbooks_check(files: tuple[Path, ...]) -> None:
    """Check playbook files (all of playbooks/ by default); exit 1 on any problem."""
    from bot.playbooks.check import check_files, playbook_files

    paths = list(files) or playbook_files()
    loaded, problems = check_files(paths)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) in {len(paths)} file(s)", err=True)
        raise SystemExit(1)
    click.echo(f"{len(loaded)} playbook(s) OK: {', '.join(sorted(loaded))}")


@playbooks.command("diagram")
@click.argument("playbook_id")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="en", help="Language of the labels.")
def playbooks_diagram(playbook_id: str, lang: str) -> None:
    """Print a playbook's steps as a Mermaid flowchart."""
    from bot.playbooks.check import PLAYBOOKS, load_file
    from bot.playbooks.diagram import mermaid

    path = PLAYBOOKS / f"{playbook_id}.toml"
    if not path.exists():
        click.echo(f"no playbook {playbook_id!r} in {PLAYBOOKS}", err=True)
        raise SystemExit(1)
    playbook, problems = load_file(path)
    if playbook is None:
        for problem in problems:
            click.echo(str(problem), err=True)
        raise SystemExit(1)
    click.echo(mermaid(playbook, lang), nl=False)


@main.group()
def drills() -> None:
    """Check practice drill files."""


@drills.command("check")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def drills_check(files: tuple[Path, ...]) -> None:
    """Check drill files (all of drills/ by default); exit 1 on any problem."""
    from bot.practice.check import check_files, drill_files

    paths = list(files) or drill_files()
    loaded, problems = check_files(paths)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) in {len(paths)} file(s)", err=True)
        raise SystemExit(1)
    click.echo(f"{len(paths)} file(s) OK: {loaded.summary()}")
