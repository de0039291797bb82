"""Secrets and edges: the token never logged, one poller per token, exports kept to their
owners, and updates the bot does not serve left alone without an error."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.console.driver import SPEC, Driver
from botapi_standin import BotApiStandIn
from tests.e2e.world import LEAD, OTHER_LEAD, OTHER_REP, REP, REP2, add_customer, build_world

TOKEN = "5151515151:AAF-very-secret-half-of-the-token_x9"
SECRET_HALF = TOKEN.split(":", 1)[1]
ROOT = Path(__file__).resolve().parents[2]  # run this checkout's code, not an installed one

# `salesbot run` with httpx, httpcore and python-telegram-bot logging all at DEBUG.
LOUD_RUN = """
import logging
import bot.cli as cli
quiet = cli.setup_logging
def loud(settings, *, quiet_=False):
    quiet(settings)
    for name in ("httpx", "httpcore", "telegram", "apscheduler"):
        logging.getLogger(name).setLevel(logging.DEBUG)
cli.setup_logging = loud
cli.main(["run"])
"""


def _env(standin: BotApiStandIn, database: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": standin.base_url,
        "TELEGRAM_FILE_BASE_URL": standin.base_file_url,
        "DATABASE_URL": f"sqlite:///{database}",
        "SALESBOT_LOG_LEVEL": "DEBUG",
        **extra,
    }


LOGS: dict[int, Path] = {}  # each process's output file, by pid


@asynccontextmanager
async def salesbot_run(
    env: dict[str, str], *, code: str = 'from bot.cli import main; main(["run"])'
) -> AsyncIterator[asyncio.subprocess.Process]:
    """A real `salesbot run` process; terminated (if still running) when the block ends.

    Its output goes to a file, not a pipe: at DEBUG it writes more than a pipe holds, and
    a pipe nobody reads until the end would stop it mid-write.
    """
    with tempfile.NamedTemporaryFile(prefix="salesbot-run-", suffix=".log", delete=False) as sink:
        path = Path(sink.name)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    LOGS[process.pid] = path
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), timeout=20)
        path.unlink(missing_ok=True)


async def output(process: asyncio.subprocess.Process) -> str:
    """Everything the process wrote, stdout and stderr, once it has ended."""
    await asyncio.wait_for(process.wait(), timeout=20)
    return LOGS[process.pid].read_text(encoding="utf-8", errors="replace")


async def until(condition, seconds: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    """Wait until condition() holds; whether it did."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return True
        await asyncio.sleep(0.05)
    return bool(condition())


async def test_the_token_is_in_no_log_line_even_with_http_logging_at_debug(tmp_path: Path) -> None:
    async with BotApiStandIn(SPEC, token=TOKEN, bot_username="salesbot_secret_bot") as standin:
        standin.add_user(801, "Eve", language_code="en")
        async with salesbot_run(_env(standin, tmp_path / "s.db"), code=LOUD_RUN) as process:
            standin.enqueue(standin.text_update(801, "/start"))
            assert await until(lambda: standin.messages(801))
            standin.enqueue(standin.text_update(801, "/help"))
            assert await until(lambda: len(standin.messages(801)) >= 2)
            pressable = [m for m in standin.messages(801) if m.buttons()]
            answered = len(standin.callback_answers)
            if pressable:
                standin.enqueue(standin.press(801, 1))
                assert await until(lambda: len(standin.callback_answers) > answered)
            # A send that fails: the user blocks the bot just after writing to it.
            written = standin.text_update(801, "/start")
            standin.block(801)
            standin.enqueue(written)
            assert await until(lambda: any(r.status == 403 for r in standin.requests))
            await asyncio.sleep(0.3)
            process.terminate()
            log = await output(process)
    assert "HTTP Request: POST" in log or "send_request_headers" in log, log[-3000:]  # httpx was heard
    assert "getUpdates" in log
    leaked = [line for line in log.splitlines() if SECRET_HALF in line]
    assert TOKEN not in log and not leaked, leaked


async def test_a_second_salesbot_run_on_one_token_refuses_to_start(tmp_path: Path) -> None:
    async with BotApiStandIn(SPEC, token=TOKEN, bot_username="salesbot_twice_bot") as standin:
        standin.add_user(811, "Eve", language_code="en")
        standin.add_user(812, "Wu", language_code="en")
        env = _env(standin, tmp_path / "twice.db", SALESBOT_LOG_LEVEL="INFO")
        async with salesbot_run(env) as first:
            standin.enqueue(standin.text_update(811, "/start"))
            assert await until(lambda: standin.messages(811), 20)
            async with salesbot_run(env) as second:
                code = await asyncio.wait_for(second.wait(), timeout=30)
                refusal = await output(second)
            assert code != 0, refusal[-2000:]
            assert "already polling with this BOT_TOKEN" in refusal, refusal[-2000:]
            # The first one goes on answering, and got every update.
            standin.enqueue(standin.text_update(812, "/start"))
            assert await until(lambda: standin.messages(812), 20)
            assert first.returncode is None
            first.terminate()
            log = await output(first)
    assert " ERROR " not in log, log[-3000:]
    assert "another process is polling" in log
    assert TOKEN not in log + refusal


async def _exported(bot: Driver, uid: int, data: str) -> str:
    """The CSV files a button press sends back, joined (empty if nothing was sent)."""
    replies = await bot.callback(uid, bot.last(uid).message_id, data)
    return "\n".join((m.file_bytes or b"").decode("utf-8-sig") for m in replies if m.kind == "document")


async def test_an_export_holds_only_the_exporters_own_customers(bot: Driver) -> None:
    world = await build_world(bot)
    await add_customer(bot, REP, "RepOnesClient")
    await add_customer(bot, REP2, "RepTwosClient")
    await add_customer(bot, OTHER_REP, "OtherTeamsClient")
    await bot.press(OTHER_REP, "记录")
    await bot.send(OTHER_REP, "OtherTeamsNote")
    lead = await _exported(bot, LEAD, f"tx:{world.team}:csv")
    assert "RepOnesClient" in lead and "RepTwosClient" in lead
    assert "OtherTeamsClient" not in lead and "OtherTeamsNote" not in lead
    other = await _exported(bot, OTHER_LEAD, f"tx:{world.other_team}:csv")
    assert "OtherTeamsClient" in other and "OtherTeamsNote" in other and "RepOnesClient" not in other
    # A lead cannot export another team, and a rep cannot export at all (not even their own).
    assert await _exported(bot, LEAD, f"tx:{world.other_team}:csv") == ""
    assert await _exported(bot, REP, f"tx:{world.team}:csv") == ""
    replies = await bot.send(REP, "/export")
    assert not any(m.kind == "document" for m in replies)


async def test_updates_the_bot_does_not_serve_are_left_alone(bot: Driver) -> None:
    await build_world(bot)
    standin = bot.standin
    message = standin.text_update(REP, "hello")["message"]
    channel = {**message, "chat": {"id": -1009999, "type": "channel", "title": "News"}}
    channel.pop("from")
    group = standin.add_group(-1004242, "Chatter")
    others = [
        {"update_id": 1, "edited_message": {**message, "edit_date": message["date"]}},
        {"update_id": 2, "channel_post": channel},
        {"update_id": 3, "edited_channel_post": {**channel, "edit_date": channel["date"]}},
        {
            "update_id": 4,
            "inline_query": {"id": "77", "from": message["from"], "query": "张", "offset": ""},
        },
        standin.text_update(LEAD, "/team", chat_id=group.id),
        standin.text_update(REP, "张伟", chat_id=group.id),
        standin.block(REP),
        standin.unblock(REP),
    ]
    bot.inbox.clear()
    before = len(standin.requests)
    for update in others:
        await bot.feed(update)
    assert bot.new_messages(REP) == [] and bot.new_messages(LEAD) == [] and bot.new_messages(group.id) == []
    assert [r.method for r in standin.requests[before:]] == []
    # The bot goes on serving the people it talks to.
    assert await bot.send(REP, "/new")


async def test_a_webhook_post_without_the_right_secret_is_refused_and_not_processed(tmp_path: Path) -> None:
    import socket

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/telegram"
    async with BotApiStandIn(SPEC, token=TOKEN, bot_username="salesbot_hook_bot") as standin:
        standin.add_user(821, "Eve", language_code="en")
        env = _env(
            standin, tmp_path / "hook.db", SALESBOT_WEBHOOK_PORT=str(port), SALESBOT_WEBHOOK_SECRET="right"
        )
        code = 'from bot.cli import main; main(["run", "--webhook", "https://bot.example.com"])'
        async with salesbot_run(env, code=code) as process, httpx.AsyncClient() as client:
            forged = standin.text_update(821, "/start")
            for _ in range(200):
                try:
                    missing = await client.post(url, json=forged)
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
            wrong = await client.post(url, json=forged, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"})
            assert (missing.status_code, wrong.status_code) == (403, 403)
            await asyncio.sleep(1.0)
            assert standin.messages(821) == []  # neither forged update was answered
            genuine = standin.text_update(821, "/help")
            ok = await client.post(url, json=genuine, headers={"X-Telegram-Bot-Api-Secret-Token": "right"})
            assert ok.status_code == 200
            assert await until(lambda: standin.messages(821), 20)
            assert len(standin.messages(821)) == 1  # only the genuine one
            process.terminate()
            log = await output(process)
    assert TOKEN not in log
