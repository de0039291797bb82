"""An export and a digest's chart, long CPU work, are made in worker processes, not in the bot's.

In a thread they still held Python's GIL, for seconds for a big team's export, and every
rep's update waited behind them (bench/load_mix.py). What the worker processes make is
exactly what the same code makes in this one. The tests' bot uses threads unless told
(tests/conftest.py); here it uses processes, as `salesbot run` does by default.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import threading
from pathlib import Path

import pytest
from sqlmodel import delete

from bot.config import Settings
from bot.console.driver import Driver
from bot.domain.access import Actor, Role
from bot.heavy import Heavy
from bot.services import chart as chart_service
from bot.services import export as export_service
from bot.storage.models import DigestBuild
from bot.telegram.team import _wording
from tests.e2e.world import LEAD, REP, add_customer, build_world


@pytest.fixture(autouse=True)
def heavy_in_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bot as `salesbot run` wires it by default: long CPU work in worker processes."""
    monkeypatch.delenv("SALESBOT_HEAVY_PROCESSES")
    assert Settings(_env_file=None).heavy_processes >= 1


def _die_first_time(marker: str) -> int:
    """Kill the worker process on the first call; later calls answer with their process id."""
    path = Path(marker)
    if not path.exists():
        path.write_text("died once")
        os._exit(1)
    return os.getpid()


async def test_work_runs_in_another_process_and_threads_when_turned_off() -> None:
    heavy = Heavy(1)
    try:
        assert await heavy.run(os.getpid) != os.getpid()
    finally:
        heavy.close()
    in_thread = Heavy(0)
    assert await in_thread.run(os.getpid) == os.getpid()
    assert await in_thread.run(threading.get_ident) != threading.get_ident()


async def test_a_worker_that_dies_is_replaced_and_the_work_done(tmp_path: Path) -> None:
    heavy = Heavy(1)
    try:
        pid = await heavy.run(_die_first_time, str(tmp_path / "marker"))
        assert pid != os.getpid() and (tmp_path / "marker").exists()
        assert await heavy.run(os.getpid) == pid  # the new worker stays
    finally:
        heavy.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_an_export_is_made_in_a_worker_process_as_it_would_be_here(bot: Driver, lang: str) -> None:
    world = await build_world(bot)
    await add_customer(bot, REP, "张伟")
    await add_customer(bot, REP, "刘洋")
    if lang == "en":
        await bot.send(LEAD, "/language")
        await bot.press(LEAD, "English")
    services = bot.app.bot_data.services
    assert services is not None and services.heavy.processes >= 1
    await bot.send(LEAD, "/team")
    await bot.press(LEAD, "CSV")
    files = [m for m in bot.standin.messages(LEAD) if m.kind == "document"]
    assert len(files) == 2 and services.heavy._pool is not None  # the pool made them

    actor = Actor(user_id=LEAD, role=Role.LEAD, team_id=world.team, language=lang)
    data = await services.db(lambda s: export_service.export_data(s, actor, team_id=world.team))
    stamp = services.now().strftime("%Y%m%d")
    here, customers, notes = await asyncio.to_thread(
        export_service.export_files, data, _wording(services, lang), "csv", stamp
    )
    assert (customers, notes) == (2, len(data.notes))
    assert [(m.file_bytes, m.file_name) for m in files] == here
    assert files[0].file_bytes is not None
    rows = list(csv.reader(io.StringIO(files[0].file_bytes.decode("utf-8-sig"))))
    heading = {"zh": "编号", "en": "ID"}[lang]
    assert rows[0][0] == heading and {row[5] for row in rows[1:]} == {"张伟", "刘洋"}


async def test_a_digests_chart_is_drawn_in_a_worker_process_as_it_would_be_here(bot: Driver) -> None:
    await build_world(bot)
    await add_customer(bot, REP, "张伟")
    services = bot.app.bot_data.services
    assert services is not None
    replies = await bot.send(LEAD, "/digest")
    photos = [m for m in replies if m.kind == "photo"]
    assert len(photos) == 1 and services.heavy.worker_pids()  # the pool drew it

    # The same digest again, its stored build dropped, its chart drawn in this process.
    drawn_here: list[bytes] = []
    real = chart_service.render

    def here(data: chart_service.ChartData) -> bytes:
        drawn_here.append(real(data))
        return drawn_here[-1]

    services.heavy.processes = 0
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(chart_service, "render", here)
        await services.db(lambda s: s.exec(delete(DigestBuild)))
        again = [m for m in await bot.send(LEAD, "/digest") if m.kind == "photo"]
    assert len(drawn_here) == 1 and again[0].file_bytes == drawn_here[0] == photos[0].file_bytes
