"""CPU-heavy work runs in a worker thread, never on the event loop that serves every user.

The longest of it, an export, runs in a worker process in production
(`SALESBOT_HEAVY_PROCESSES`, see `test_heavy_processes`); here it runs in threads, the
setting's other value, so that every step can be watched from this process.

Each heavy pure step (drawing and writing the digest, working out and writing a report's
CSV, wording an export and writing its CSV or XLSX, reading a vCard file) is wrapped so that
it records the thread it ran on; the bot is then used as a lead and a rep would use it.
At realistic sizes these steps take from tens of milliseconds to seconds (see
`bench/loop_cpu.py`): on the loop, every other user would wait that long.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from bot.console.driver import Driver
from bot.services import chart, export, vcard
from bot.services.digest import reports
from bot.telegram import digest
from tests.e2e.world import LEAD, REP, add_customer, build_world, texts

VCF = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:陈静\r\nTEL:13722223333\r\nORG:静雅花艺\r\nEND:VCARD\r\n".encode()

HEAVY = [
    (chart, "render"),  # the digest's chart
    (digest, "render"),  # the digest's texts, buttons and chart, as sent
    (reports, "_customer_rows"),  # the report's figures of every customer
    (digest, "csv_files"),  # the report's CSV files
    (export, "export_tables"),  # an export's rows in the reader's words
    (export, "to_csv"),
    (export, "to_xlsx"),
    (vcard, "parse_vcards"),
]


@pytest.fixture(autouse=True)
def heavy_in_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESBOT_HEAVY_PROCESSES", "0")


@pytest.fixture
def threads(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[bool]]:
    """For each heavy step, whether each of its calls ran on the main (event loop's) thread."""
    seen: dict[str, list[bool]] = {f"{module.__name__}.{name}": [] for module, name in HEAVY}

    def recording(key: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            seen[key].append(threading.current_thread() is threading.main_thread())
            return real(*args, **kwargs)

        return wrapper

    for module, name in HEAVY:
        monkeypatch.setattr(module, name, recording(f"{module.__name__}.{name}", getattr(module, name)))
    return seen


async def test_heavy_work_runs_in_worker_threads(bot: Driver, threads: dict[str, list[bool]]) -> None:
    await build_world(bot)
    await add_customer(bot, REP, "张伟")
    await bot.send(LEAD, "/digest")
    await bot.send(LEAD, "/report week")
    files = [m for m in await bot.press(LEAD, "导出 CSV") if m.kind == "document"]
    assert len(files) == 2
    exported = await bot.send(LEAD, "/export")
    assert exported[-1].kind == "document" and (exported[-1].file_name or "").endswith(".xlsx")
    await bot.send(LEAD, "/team")
    await bot.press(LEAD, "CSV")
    imported = await bot.send_file(REP, "c.vcf", VCF, "text/vcard")
    assert "客户已添加" in texts(imported) and "陈静" in texts(imported)

    assert {key: bool(calls) for key, calls in threads.items()} == dict.fromkeys(threads, True), "all used"
    on_loop = {key: calls.count(True) for key, calls in threads.items() if any(calls)}
    assert on_loop == {}, f"ran on the event loop's thread: {on_loop}"
