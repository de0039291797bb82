"""What the scheduler wakes (planner, digest builder, dispatcher, tidying), and the worker
loop of `salesbot dispatch`.

The scheduler (python-telegram-bot's JobQueue, APScheduler underneath) is only a
trigger: what is due lives in the outbox table. `salesbot run` schedules these jobs
in its own process; `salesbot dispatch` runs `run_worker` on an application built by
the same wiring, so a worker sends exactly what the bot sends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from bot.domain.care import Occasion
from bot.domain.errors import Busy
from bot.scheduling import digests
from bot.scheduling.planner import PlanResult, Render, plan, plan_changes
from bot.services import handled_updates, received_updates
from bot.services import playbooks as playbook_service

if TYPE_CHECKING:
    from bot.runtime import Runtime
    from bot.scheduling.dispatcher import Dispatcher
    from bot.telegram.context import BotContext

log = logging.getLogger(__name__)

T = TypeVar("T")

TIDY_EVERY = timedelta(hours=6)
TIDY_FIRST = timedelta(minutes=1)
# A pass that finds nothing changed costs a few milliseconds (bench/README.md), so a card
# edited is planned within a minute; each team is planned in full once a local day.
PLAN_EVERY = timedelta(minutes=1)
PLAN_FIRST = timedelta(seconds=5)
DISPATCH_EVERY = timedelta(seconds=5)
DISPATCH_FIRST = timedelta(seconds=8)
WORKER_IDLE_SECONDS = 2.0


def renderer(services: Runtime) -> Render:
    """Care texts from the catalogue, in the customer's language."""

    def render(lang: str, occasion: Occasion, params: Mapping[str, Any]) -> str:
        values = dict(params)
        if isinstance(values.get("items"), tuple):  # several purchases on one day
            values["items"] = services.text(lang, "plain.care.items", items=values["items"])
        return services.text(lang, f"plain.care.{occasion.value}", **values)

    return render


async def plan_now(services: Runtime) -> PlanResult:
    """One planning pass: in full at this process's first, then what changed (see the planner)."""
    now = services.now()
    work = plan_changes if services.care_planned else plan
    result = await services.db(lambda s: work(s, now=now, render=renderer(services)))
    services.care_planned = True
    return result


def schedule(jobs: Any) -> None:
    """Wake the planner, the digest builder, the dispatcher and the tidying on a JobQueue."""
    jobs.run_repeating(_tidy_runs, interval=TIDY_EVERY, first=TIDY_FIRST)
    jobs.run_repeating(_plan_care, interval=PLAN_EVERY, first=PLAN_FIRST)
    jobs.run_repeating(_build_digests, interval=digests.BUILD_EVERY, first=digests.BUILD_FIRST)
    jobs.run_repeating(_dispatch_care, interval=DISPATCH_EVERY, first=DISPATCH_FIRST)


async def unless_unavailable(what: str, work: Awaitable[T]) -> T | None:
    """Run one pass of a background job; if the database stays unavailable, warn and skip it.

    The job runs again at its next turn, and the rows say what is still due, so nothing
    is lost. Any other error is a bug and still goes to the error handler.
    """
    try:
        return await work
    except Busy:
        log.warning("%s skipped: the database is unavailable; the next run tries again", what)
        return None


async def _plan_care(context: BotContext) -> None:
    """Turn the cards into outbox rows for the coming week."""
    result = await unless_unavailable("care planning", plan_now(context.services))
    if result is not None and (result.planned or result.skipped):
        log.info("care: planned %d messages (%d skipped)", result.planned, result.skipped)


async def _build_digests(context: BotContext) -> None:
    """Build the digests due within the half hour, in the background (like the dispatcher)."""
    job = context.bot_data.digest_job
    if job is not None and not job.busy:
        context.application.create_task(job.run_once(), name="digest-build")


async def _dispatch_care(context: BotContext) -> None:
    """Send what is due, in the background: a pass may outlast the job's interval, and
    the job itself returns at once so that the scheduler never sees it overlap."""
    dispatcher = context.bot_data.dispatcher
    if dispatcher is not None and not dispatcher.busy:
        context.application.create_task(
            unless_unavailable("care dispatch", dispatcher.run_once()), name="care-dispatch"
        )


async def _tidy_runs(context: BotContext) -> None:
    """Close playbook runs nobody has touched for two weeks; drop stored updates once handled
    and forget long-confirmed ones; delete digests of days long gone."""
    services = context.services
    closed = await unless_unavailable(
        "tidying playbook runs", services.db(lambda s: playbook_service.tidy_runs(s, now=services.now()))
    )
    if closed:
        log.info("closed %d abandoned playbook runs", closed)
    await services.db(lambda s: received_updates.forget_handled(s, now=services.now()))
    await services.db(lambda s: handled_updates.forget_old(s, now=services.now()))
    await digests.tidy(services)


async def run_worker(services: Runtime, dispatcher: Dispatcher, *, once: bool = False) -> None:
    """Plan, build digests and send until stopped (`salesbot dispatch`); with `once`, until
    nothing is due.

    Running on, a pass the database was unavailable for is skipped with a warning and
    tried again after a pause; with `once`, the command fails instead (Busy).
    """
    log.info("care worker %s started", dispatcher.worker)
    planned_at = built_at = float("-inf")
    while True:
        try:
            if time.monotonic() - planned_at >= PLAN_EVERY.total_seconds():
                await plan_now(services)
                planned_at = time.monotonic()
            if time.monotonic() - built_at >= digests.BUILD_EVERY.total_seconds():
                await digests.build_due(services)
                built_at = time.monotonic()
            sent = await dispatcher.run_once()
        except Busy:
            if once:
                raise
            log.warning("care worker: the database is unavailable; trying again shortly")
            sent = 0
        if once and not sent:
            return
        if not sent:
            await asyncio.sleep(WORKER_IDLE_SECONDS)
