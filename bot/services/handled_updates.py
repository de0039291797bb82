"""Telegram updates whose handling committed, so that one delivered again is not applied twice."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.storage.models import HandledUpdate

# Telegram keeps an unconfirmed update for 24 hours; a record older than this guards nothing.
KEEP = timedelta(days=2)


@functools.cache
def _record_statement(dialect: str) -> Any:
    insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
    return insert(HandledUpdate).on_conflict_do_nothing()


async def record(session: AsyncSession, *, bot_id: int, update_id: int, now: datetime) -> None:
    """Remember, in the transaction that applies it, that an update was handled."""
    statement = _record_statement(session.get_bind().dialect.name)
    values = {"bot_id": bot_id, "update_id": update_id, "handled_at": now}
    await (await session.connection()).execute(statement, values)


async def was_handled(session: AsyncSession, *, bot_id: int, update_id: int) -> bool:
    """Whether an update's handling committed already (in this process or an earlier one)."""
    found = await session.exec(
        select(HandledUpdate.update_id).where(
            col(HandledUpdate.bot_id) == bot_id, col(HandledUpdate.update_id) == update_id
        )
    )
    return found.first() is not None


async def latest(session: AsyncSession, *, bot_id: int) -> int | None:
    """The highest update id handled so far: any later one is new."""
    found = await session.exec(
        select(func.max(HandledUpdate.update_id)).where(col(HandledUpdate.bot_id) == bot_id)
    )
    return found.one()


async def forget_old(session: AsyncSession, *, now: datetime) -> int:
    """Drop the records Telegram can no longer deliver again; how many."""
    result = await session.exec(delete(HandledUpdate).where(col(HandledUpdate.handled_at) < now - KEEP))
    return int(result.rowcount or 0)


async def record_many(session: AsyncSession, *, bot_id: int, update_ids: list[int], now: datetime) -> None:
    """Remember that updates were handled without committing anything (read only, or failed)."""
    statement = _record_statement(session.get_bind().dialect.name)
    values = [{"bot_id": bot_id, "update_id": update_id, "handled_at": now} for update_id in update_ids]
    await (await session.connection()).execute(statement, values)
