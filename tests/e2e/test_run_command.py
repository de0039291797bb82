"""`salesbot run` itself: long polling against a Bot API server, migrations first, no token in logs."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from bot.console.driver import SPEC
from botapi_standin import BotApiStandIn

TOKEN = "4242424242:AAH-secret-token-for-the-run-test"


async def test_salesbot_run_polls_answers_and_keeps_the_token_out_of_logs(tmp_path: Path) -> None:
    async with BotApiStandIn(SPEC, token=TOKEN, bot_username="salesbot_run_bot") as standin:
        standin.add_user(777, "Eve", language_code="en")
        env = {
            **os.environ,
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": standin.base_url,
            "TELEGRAM_FILE_BASE_URL": standin.base_file_url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
            "SALESBOT_LOG_LEVEL": "DEBUG",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            standin.enqueue(standin.text_update(777, "/start"))
            for _ in range(200):
                if standin.messages(777):
                    break
                await asyncio.sleep(0.05)
        finally:
            process.terminate()
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
        log = stderr.decode()
        assert standin.messages(777), log[-2000:]
        assert "sales assistant" in (standin.messages(777)[-1].text or "")
        assert "one-time link" in log and "start=a_" in log
        assert TOKEN not in log and "secret-token" not in log
        assert (tmp_path / "run.db").exists()


async def test_salesbot_run_webhook_receives_updates(tmp_path: Path) -> None:
    import socket

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with BotApiStandIn(SPEC, token=TOKEN, bot_username="salesbot_run_bot") as standin:
        standin.add_user(778, "Wu", language_code="zh-hans")
        env = {
            **os.environ,
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": standin.base_url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'hook.db'}",
            "SALESBOT_WEBHOOK_PORT": str(port),
            "SALESBOT_WEBHOOK_SECRET": "s3cret-header",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            "--webhook",
            "https://bot.example.com",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            update = standin.text_update(778, "/start")
            async with httpx.AsyncClient() as client:
                for _ in range(200):
                    try:
                        forged = await client.post(f"http://127.0.0.1:{port}/telegram", json=update)
                        break
                    except httpx.ConnectError:
                        await asyncio.sleep(0.05)
                assert forged.status_code == 403  # no secret header: refused
                answer = await client.post(
                    f"http://127.0.0.1:{port}/telegram",
                    json=update,
                    headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-header"},
                )
                assert answer.status_code == 200
            for _ in range(200):
                if standin.messages(778):
                    break
                await asyncio.sleep(0.05)
        finally:
            process.terminate()
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
        assert "销售团队" in (standin.messages(778)[-1].text or ""), stderr.decode()[-2000:]
        assert any(r.method == "setWebhook" and r.status == 200 for r in standin.requests)
