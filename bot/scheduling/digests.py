"""The digest builder job: each planned daily digest built before its hour and stored with its row.

The dispatcher only sends: `outbox.claim` leaves a digest row alone until it has a build,
so its pass never runs a digest's queries or draws its chart. This job, every
BUILD_EVERY, takes the digest rows due within BUILD_AHEAD and links each to a build of its
reader's key (`bot.services.digest.built`):
- one already stored and still usable (built by an earlier pass, or by a lead's
  `/digest`) is linked as it is;
- otherwise the builder wired into the runtime builds it now and it is stored.

A row already due that nobody built (the bot was down before the hour) is built on the
next pass like any other and goes out on the dispatcher's next pass after it: a minute
late, never built inside a send. A build goes stale at once when the team's settings or
members change, and after REFRESH_EVERY when its figures moved on, so what goes out is at
most that much behind the team (a busy team is not rebuilt on every note). Builds are kept
in the database: a restart between building and sending sends the stored one.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from bot.runtime import Runtime
from bot.services import digest as svc

log = logging.getLogger(__name__)

BUILD_AHEAD = timedelta(minutes=30)  # how long before its hour a digest is built
REFRESH_EVERY = timedelta(minutes=5)  # a build whose figures moved on is built again after this
BUILD_EVERY = timedelta(minutes=1)
BUILD_FIRST = timedelta(seconds=3)


async def build_due(services: Runtime) -> int:
    """Build (or link) the digests due within BUILD_AHEAD; how many were built."""
    if services.digest_builder is None:  # a runtime wired without one (a benchmark of care messages)
        return 0
    now = services.now()
    rows = await services.db(lambda s: svc.waiting(s, now=now, ahead=BUILD_AHEAD))
    built = 0
    for row in rows:
        try:
            built += await _build(services, services.digest_builder, row)
        except Exception:  # one team's failure must not hold up the others' digests
            log.exception("could not build the digest of outbox row %s", row.outbox_id)
    return built


async def _build(services: Runtime, build: svc.DigestBuilder, row: svc.Waiting) -> int:
    """Link a row to its stored build if it may go as it is, else build one: 1 if built."""
    if await services.db(lambda s: svc.usable(s, row, now=services.now(), refresh=REFRESH_EVERY)):
        return 0
    key = row.key
    result = await build(
        team_id=key.team_id, kind="day", reader=row.reader, language=key.language, now=services.now()
    )
    await services.db(lambda s: svc.store(s, result, outbox_id=row.outbox_id))
    return 1


async def tidy(services: Runtime) -> int:
    """Delete the builds of days long gone."""
    return await services.db(lambda s: svc.tidy_builds(s, now=services.now()))


class DigestJob:
    """One builder pass at a time in this process (a pass may outlast the job's interval)."""

    def __init__(self, services: Runtime) -> None:
        self.services = services
        self._lock = asyncio.Lock()

    @property
    def busy(self) -> bool:
        """Whether a pass is under way."""
        return self._lock.locked()

    async def run_once(self) -> int:
        """One pass of `build_due`."""
        async with self._lock:
            built = await build_due(self.services)
            if built:
                log.info("digests: built %d ahead", built)
            return built
