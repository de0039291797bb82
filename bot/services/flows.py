"""Where a user is in a multi-step flow, kept in the database so restarts resume it."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.storage.models import FlowState

T = TypeVar("T")


def new_nonce() -> str:
    """A short token that ties buttons to one step of one flow (stale buttons fail)."""
    return secrets.token_hex(3)


_SAVED = ("flow", "step", "data", "nonce", "updated_at")


@functools.cache
def _save_statement(dialect: str) -> Any:
    """Insert the user's flow, or update their row when they have one; built once."""
    insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
    statement = insert(FlowState)
    return statement.on_conflict_do_update(
        index_elements=[col(FlowState.user_id)],
        set_={name: statement.excluded[name] for name in _SAVED},
    ).returning(col(FlowState.id))


async def save_flow(
    session: AsyncSession,
    *,
    user_id: int,
    flow: str,
    step: str,
    data: dict[str, Any],
    now: datetime,
) -> FlowState:
    """Start or advance a flow; every save issues a new nonce.

    One statement whether or not the user had a flow: every step of every form and
    playbook saves here.
    """
    state = FlowState(
        user_id=user_id, flow=flow, step=step, data=dict(data), nonce=new_nonce(), updated_at=now
    )
    statement = _save_statement(session.get_bind().dialect.name)
    values = state.model_dump(exclude={"id"})
    state.id = (await (await session.connection()).execute(statement, values)).scalar_one()
    return state


_CLEAR = delete(FlowState).where(col(FlowState.user_id) == bindparam("user_id"))


async def clear_flow(session: AsyncSession, user_id: int) -> None:
    """End the user's flow (done or cancelled)."""
    await (await session.connection()).execute(_CLEAR, {"user_id": user_id})


async def finish(
    session: AsyncSession,
    user_id: int,
    work: Callable[[AsyncSession], Awaitable[T]],
    *,
    ends: Callable[[T], bool] | None = None,
) -> T:
    """A form's effect and the end of the form, in the caller's one transaction.

    `ends` says from the effect's result whether the form is over (a reminder that must
    first ask which customer it means keeps its form); by default it always is. If the
    effect fails, nothing is saved and the form stays where it was.
    """
    result = await work(session)
    if ends is None or ends(result):
        await clear_flow(session, user_id)
    return result
