"""A customer's own side of the bot: opening their personal link, opting out, writing to their rep."""

from __future__ import annotations

from bot.domain.access import Actor, Role
from bot.domain.errors import NotAllowed, Stale

RELAY_MAX = 3500  # of a customer's message, forwarded to the rep (a Telegram message holds 4096)


def check_optin(actor: Actor, *, found: bool, archived: bool, linked_chat_id: int | None) -> None:
    """Staff cannot become customers; a link works for a live card not linked to another chat."""
    if actor.is_staff:
        raise NotAllowed("optin.staff")
    if not found or archived:
        raise Stale("error.invite_used")
    if linked_chat_id not in (None, actor.user_id):
        raise Stale("error.optin_taken")


def check_optout(actor: Actor) -> None:
    """Only a customer has messages to stop."""
    if actor.role is not Role.CUSTOMER:
        raise NotAllowed("stop.not_customer")
