"""Where a user is in a multi-step flow, kept in the database so restarts resume it."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.storage.models import FlowState


def new_nonce() -> str:
    """A short token that ties buttons to one step of one flow (stale buttons fail)."""
    return secrets.token_hex(3)


async def get_flow(session: AsyncSession, user_id: int) -> FlowState | None:
    """The user's active flow, if any."""
    return (await session.exec(select(FlowState).where(col(FlowState.user_id) == user_id))).first()


async def save_flow(
    session: AsyncSession,
    *,
    user_id: int,
    flow: str,
    step: str,
    data: dict[str, Any],
    now: datetime,
) -> FlowState:
    """Start or advance a flow; every save issues a new nonce."""
    state = await get_flow(session, user_id)
    if state is None:
        state = FlowState(user_id=user_id, flow=flow, step=step, data=data, nonce=new_nonce())
    state.flow, state.step, state.data = flow, step, dict(data)
    state.nonce, state.updated_at = new_nonce(), now
    session.add(state)
    await session.flush()
    return state


_CLEAR = delete(FlowState).where(col(FlowState.user_id) == bindparam("user_id"))


async def clear_flow(session: AsyncSession, user_id: int) -> None:
    """End the user's flow (done or cancelled)."""
    await (await session.connection()).execute(_CLEAR, {"user_id": user_id})
