"""Telegram updates stored as they arrive, so that none confirmed to Telegram is lost."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, or_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services.handled_updates import KEEP
from bot.storage.models import HandledUpdate, ReceivedUpdate


@functools.cache
def _store_statement(dialect: str) -> Any:
    insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
    return insert(ReceivedUpdate).on_conflict_do_nothing()


async def store(
    session: AsyncSession, *, bot_id: int, update_id: int, payload: dict[str, Any], now: datetime
) -> None:
    """Keep an update as it came (once: Telegram delivering it again changes nothing)."""
    statement = _store_statement(session.get_bind().dialect.name)
    values = {"bot_id": bot_id, "update_id": update_id, "payload": payload, "received_at": now}
    await (await session.connection()).execute(statement, values)


def _handled() -> Any:
    return exists().where(
        col(HandledUpdate.bot_id) == col(ReceivedUpdate.bot_id),
        col(HandledUpdate.update_id) == col(ReceivedUpdate.update_id),
    )


async def unhandled(session: AsyncSession, *, bot_id: int) -> list[dict[str, Any]]:
    """The stored updates of this bot whose handling never committed, oldest first."""
    found = await session.exec(
        select(ReceivedUpdate.payload)
        .where(col(ReceivedUpdate.bot_id) == bot_id, ~_handled())
        .order_by(col(ReceivedUpdate.update_id))
    )
    return [dict(payload) for payload in found.all()]


async def forget_handled(session: AsyncSession, *, now: datetime) -> int:
    """Drop the updates that were handled, or that are older than any Telegram could resend; how many."""
    result = await session.exec(
        delete(ReceivedUpdate).where(or_(_handled(), col(ReceivedUpdate.received_at) < now - KEEP))
    )
    return int(result.rowcount or 0)
