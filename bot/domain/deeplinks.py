"""The deep-link format: what `t.me/<bot>?start=<payload>` carries, built and read in one place.

A payload is at most 64 characters of A-Za-z0-9_-. An invitation's payload is its whole
code (`a_…` admin claim, `l_…` lead, `r_…` rep, as stored on the invite); a customer's
opt-in link is `c_` and their opt-in code; `digest` opens the digest privately.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

INVITE_PREFIX = {"admin": "a", "lead": "l", "rep": "r"}
OPTIN_PREFIX = "c"
DIGEST = "digest"
_SEPARATOR = "_"


class LinkKind(StrEnum):
    """What a /start payload asks for."""

    NONE = "none"  # a plain /start
    INVITE = "invite"  # join a team, or claim admin rights
    OPTIN = "optin"  # a customer opens their personal link
    DIGEST = "digest"  # a lead opens the team digest privately
    UNKNOWN = "unknown"  # anything else (an old or mangled link)


@dataclass(frozen=True)
class DeepLink:
    """A parsed /start payload: its kind and the code it carries."""

    kind: LinkKind
    code: str = ""


def invite_payload(kind: str, code: str) -> str:
    """The payload (and the stored invite code) of an invitation of `kind`: admin, lead or rep."""
    return INVITE_PREFIX[kind] + _SEPARATOR + code


def optin_payload(optin_code: str) -> str:
    """The payload of a customer's personal opt-in link."""
    return OPTIN_PREFIX + _SEPARATOR + optin_code


def parse(payload: str) -> DeepLink:
    """What a /start payload asks for; an invite keeps its whole payload as its code."""
    prefix, separator, rest = payload.partition(_SEPARATOR)
    if not payload:
        return DeepLink(LinkKind.NONE)
    if separator and prefix in INVITE_PREFIX.values():
        return DeepLink(LinkKind.INVITE, payload)
    if separator and prefix == OPTIN_PREFIX:
        return DeepLink(LinkKind.OPTIN, rest)
    if payload == DIGEST:
        return DeepLink(LinkKind.DIGEST)
    return DeepLink(LinkKind.UNKNOWN, payload)


def url(bot_username: str, payload: str) -> str:
    """A t.me link that opens the bot with `/start payload`."""
    return f"https://t.me/{bot_username}?start={payload}"
