"""Telegram's side of a Mini App, for browser tests: the launch data Telegram signs, and a
stand-in of its ``telegram-web-app.js`` (``window.Telegram.WebApp``).

``sign_init_data`` makes ``initData`` as Telegram does
(core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app)::

    secret_key = HMAC_SHA256(key=b"WebAppData", msg=bot_token)
    hash = hex(HMAC_SHA256(key=secret_key, msg=data_check_string))

where data_check_string is every field but ``hash``, sorted by key, as ``key=value`` lines
joined by "\\n"; ``user`` (and ``receiver``, ``chat``) are JSON objects; ``auth_date`` is
Unix time in seconds. The result is the URL-encoded query string a Mini App reads from
``Telegram.WebApp.initData``. It is written apart from the bot's own check (bot/web), so a
test that signs here and is accepted there checks the bot against Telegram's rules, not
against itself.

``STANDIN_SCRIPT`` is the path of the stand-in script; the test serves it in place of
``https://telegram.org/js/telegram-web-app.js`` and sets ``window.__tgStandin`` before the
page's scripts run (the script's header says what the test can set and read).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

TELEGRAM_SCRIPT_URL = "https://telegram.org/js/telegram-web-app.js"
STANDIN_SCRIPT = Path(__file__).with_name("telegram-web-app.js")

# Fields Telegram sends as JSON objects.
_JSON_FIELDS = frozenset({"user", "receiver", "chat"})


def standin_script() -> str:
    """The stand-in's JavaScript source."""
    return STANDIN_SCRIPT.read_text(encoding="utf-8")


def _field(key: str, value: Any) -> str:
    if isinstance(value, str):
        return value  # JSON fields too: text given is kept byte for byte
    if key in _JSON_FIELDS or isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def sign_init_data(token: str, user: Mapping[str, Any] | str, auth_date: int | datetime, **extra: Any) -> str:
    """Launch data for `user`, signed for the bot whose token is `token`, as Telegram makes it.

    `user` is the WebAppUser object (written as compact JSON), or its JSON text kept as it is;
    `auth_date` is Unix time in seconds (a datetime is converted); `extra` adds other fields
    (``query_id``, ``start_param``, ``chat_type``, ``chat_instance``, ``receiver``, ...).
    """
    if "hash" in extra:
        raise ValueError("the hash is computed, not given")
    when = int(auth_date.timestamp()) if isinstance(auth_date, datetime) else int(auth_date)
    fields = {"user": _field("user", user), **{key: _field(key, value) for key, value in extra.items()}}
    fields["auth_date"] = str(when)
    check = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return "&".join(f"{quote(key, safe='')}={quote(value, safe='')}" for key, value in fields.items())
