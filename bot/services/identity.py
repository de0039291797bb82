"""Who a Telegram user is to the bot, for every entry point: remembered, or read and remembered."""

from __future__ import annotations

from bot.domain.access import Actor
from bot.runtime import Runtime
from bot.services import team as team_service
from bot.storage.models import FlowState


async def identify(
    services: Runtime, *, telegram_id: int, name: str, username: str | None, language: str
) -> tuple[Actor, FlowState | None]:
    """The user's role and form in progress, from the recent users' cache or the database.

    A user the bot has never met gets their row, as on their first message; `language`
    is their Telegram client's, kept until they choose one.
    """
    known = services.identities.get(telegram_id)
    if known is not None:
        return known.actor, known.flow
    read_at = services.identities.stamp()
    actor, flow = await services.db(
        lambda s: team_service.identify(
            s,
            telegram_id=telegram_id,
            name=name,
            username=username,
            language=language,
            admin_ids=services.settings.admin_ids,
        ),
        handles_update=False,  # bookkeeping: a kill after it leaves the update to do again
    )
    services.identities.remember(actor, flow, read_at=read_at)
    return actor, flow
