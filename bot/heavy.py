"""Long CPU work in a separate process, so that nobody else's update waits for it.

A worker thread keeps such work off the event loop, but not off Python's GIL: while
one thread runs Python, the others get it back only every few milliseconds, and the
event loop needs it back many times per update (each socket call, each database
trip through the driver's thread). Writing a 2,000-customer team's XLSX is about five
seconds of pure Python; in a thread it made every rep's find, note and playbook step
wait up to 2 s while it ran (`bench/load_mix.py`: p95 16 ms quiet, 1.9 s during
exports). In a process of its own it takes nothing from the bot's.

Work of a few hundred milliseconds at most (the digest's chart, a report's CSV, a
vCard file) stays in threads: measured the same way it costs the reps nothing.

The pool starts on first use (a fresh interpreter, "spawn": the bot's own threads are
never forked) and is shut down with the application. `SALESBOT_HEAVY_PROCESSES=0`
runs the same work in a thread of the bot's process instead.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class Heavy:
    """Runs a module-level function with picklable arguments in the worker processes."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> Executor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    async def run(self, work: Callable[..., T], /, *args: Any) -> T:
        """`work(*args)` in a worker process (in a thread when processes are turned off).

        A pool whose process died (killed, out of memory) is replaced and the work tried
        once more in the new one; the work is pure, so trying again repeats nothing.
        """
        if self.processes <= 0:
            return await asyncio.to_thread(work, *args)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor(), work, *args)
        except BrokenProcessPool:
            log.warning("a worker process died; starting a new one")
            self.close()
            return await loop.run_in_executor(self._executor(), work, *args)

    def worker_pids(self) -> list[int]:
        """The worker processes' ids (none before first use), for measuring their CPU."""
        pool = self._pool
        processes = getattr(pool, "_processes", None) or {}
        return sorted(int(pid) for pid in processes)

    def close(self) -> None:
        """Stop the worker processes (work still running is abandoned)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
