"""Telegram Mini App `initData`: parsed and checked exactly as Telegram documents it.

https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app:
secret_key = HMAC-SHA256(key="WebAppData", message=bot token); the received `hash` must be
the hex HMAC-SHA256, with secret_key, of the data-check-string: every received field but
`hash`, sorted by key, as `key=value` joined by line feeds; `auth_date` (Unix time) says
when the data was made, so old data can be refused.

The `signature` field newer clients add (an Ed25519 signature for third parties) is a
received field like any other: it is part of the data-check-string. Telegram-Mini-Apps'
published fixture (a real initData with `signature`) only verifies that way, and
tests/unit/test_initdata.py checks it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl, urlencode

# How far ahead of our clock `auth_date` may be (the client's clock is not ours).
CLOCK_SKEW = timedelta(minutes=1)


class Problem(StrEnum):
    """Why initData was refused."""

    MISSING = "missing"  # no initData at all
    MALFORMED = "malformed"  # not a query string, a field twice, no usable user or auth_date
    UNSIGNED = "unsigned"  # no hash
    BAD_HASH = "bad_hash"  # altered, forged, or signed for another bot
    EXPIRED = "expired"  # older than allowed (or dated ahead of our clock)


class InitDataError(Exception):
    """initData that cannot be trusted, and why."""

    def __init__(self, problem: Problem, detail: str = "") -> None:
        self.problem = problem
        super().__init__(f"{problem.value}: {detail}" if detail else problem.value)


@dataclass(frozen=True, slots=True)
class WebAppUser:
    """The Telegram user who opened the Mini App."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    @property
    def full_name(self) -> str:
        """First and last name, as python-telegram-bot's `User.full_name` gives them to the bot."""
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name


@dataclass(frozen=True, slots=True)
class InitData:
    """Checked initData: who sent it, when it was made, and its hash (which names this very data)."""

    user: WebAppUser
    auth_date: datetime
    hash: str
    fields: Mapping[str, str]


def secret_key(bot_token: str) -> bytes:
    """HMAC-SHA256 of the bot token with the constant "WebAppData" as key."""
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def data_check_string(fields: Mapping[str, str]) -> str:
    """Every field but `hash`, sorted by key, as `key=value` lines."""
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def _digest(fields: Mapping[str, str], bot_token: str) -> str:
    return hmac.new(secret_key(bot_token), data_check_string(fields).encode(), hashlib.sha256).hexdigest()


def parse_fields(raw: str) -> dict[str, str]:
    """The fields of an initData query string (values URL-decoded); each key at most once."""
    if not raw:
        raise InitDataError(Problem.MISSING)
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=True, errors="strict")
    except (ValueError, UnicodeDecodeError) as error:
        raise InitDataError(Problem.MALFORMED, "not a query string") from error
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise InitDataError(Problem.MALFORMED, f"{key} given twice")
        fields[key] = value
    return fields


def verify(raw: str, bot_token: str, *, now: datetime, max_age: timedelta) -> InitData:
    """initData Telegram made for this bot, at most `max_age` old; InitDataError otherwise."""
    fields = parse_fields(raw)
    received = fields.get("hash")
    if not received:
        raise InitDataError(Problem.UNSIGNED)
    expected = _digest(fields, bot_token)
    # Bytes, not str: compare_digest refuses non-ASCII text, and a forged hash may hold some.
    if not hmac.compare_digest(expected.encode(), received.encode()):
        raise InitDataError(Problem.BAD_HASH)
    auth_date = _auth_date(fields.get("auth_date"))
    if auth_date < now - max_age or auth_date > now + CLOCK_SKEW:
        raise InitDataError(Problem.EXPIRED, f"made {auth_date.isoformat()}")
    return InitData(_user(fields.get("user")), auth_date, received, fields)


def _auth_date(value: str | None) -> datetime:
    if value is None or not value.isascii() or not value.isdigit():
        raise InitDataError(Problem.MALFORMED, "auth_date is not a Unix time")
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise InitDataError(Problem.MALFORMED, "auth_date out of range") from error


def _user(value: str | None) -> WebAppUser:
    if value is None:
        raise InitDataError(Problem.MALFORMED, "no user")
    try:
        data = json.loads(value)
    except ValueError as error:
        raise InitDataError(Problem.MALFORMED, "user is not JSON") from error
    if not isinstance(data, dict):
        raise InitDataError(Problem.MALFORMED, "user is not an object")
    user_id, first_name = data.get("id"), data.get("first_name")
    if type(user_id) is not int or user_id <= 0 or not isinstance(first_name, str):
        raise InitDataError(Problem.MALFORMED, "user has no id or first name")
    return WebAppUser(
        id=user_id,
        first_name=first_name,
        last_name=_text(data, "last_name"),
        username=_text(data, "username"),
        language_code=_text(data, "language_code"),
    )


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise InitDataError(Problem.MALFORMED, f"user.{key} is not text")
    return value


def sign(fields: Mapping[str, str], bot_token: str) -> str:
    """An initData query string for `fields`, signed with the bot's token as Telegram signs it.

    For the tests and the console (which stands in for Telegram); the bot only verifies.
    """
    unsigned = {key: value for key, value in fields.items() if key != "hash"}
    return urlencode([*unsigned.items(), ("hash", _digest(unsigned, bot_token))])


def user_field(
    user_id: int,
    first_name: str,
    *,
    last_name: str | None = None,
    username: str | None = None,
    language_code: str | None = None,
) -> str:
    """The `user` field as Telegram sends it (JSON), for `sign`."""
    user: dict[str, Any] = {"id": user_id, "first_name": first_name}
    for key, value in (("last_name", last_name), ("username", username), ("language_code", language_code)):
        if value is not None:
            user[key] = value
    return json.dumps(user, ensure_ascii=False, separators=(",", ":"))
