"""botapi_standin.webapp.sign_init_data signs launch data as Telegram does: checked against a
plain implementation of Telegram's documented algorithm written here, against a real initData
Telegram made, and against the bot's own check."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import pytest

from bot.web.initdata import verify
from botapi_standin.webapp import sign_init_data

TOKEN = "100000001:console-token-not-secret"
USER = {"id": 42, "first_name": "王芳", "last_name": "Wang & Co", "language_code": "zh-hans"}
MADE = 1_795_000_000


def telegram_check(raw: str, token: str) -> bool:
    """core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app, step by step."""
    fields = dict(parse_qsl(raw, keep_blank_values=True, strict_parsing=True))
    received = fields.pop("hash")
    data_check_string = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    secret_key = hmac.new(key=b"WebAppData", msg=token.encode(), digestmod=hashlib.sha256).digest()
    expected = hmac.new(key=secret_key, msg=data_check_string.encode(), digestmod=hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, received)


def test_signed_data_passes_telegrams_check_with_every_field_as_given() -> None:
    raw = sign_init_data(TOKEN, USER, MADE, query_id="AAH-q1", start_param="card_7", chat_type="sender")
    assert telegram_check(raw, TOKEN)
    fields = dict(parse_qsl(raw, strict_parsing=True))
    assert json.loads(fields["user"]) == USER
    assert fields["auth_date"] == str(MADE)
    assert (fields["query_id"], fields["start_param"], fields["chat_type"]) == ("AAH-q1", "card_7", "sender")
    assert sorted(fields) == ["auth_date", "chat_type", "hash", "query_id", "start_param", "user"]
    assert raw.endswith("&hash=" + fields["hash"]) and len(fields["hash"]) == 64


def test_any_change_or_another_bots_token_fails_the_check() -> None:
    raw = sign_init_data(TOKEN, USER, MADE)
    assert not telegram_check(raw, "100000002:another-bots-token")
    assert not telegram_check(raw.replace(f"auth_date={MADE}", f"auth_date={MADE + 1}"), TOKEN)
    other_user = raw.replace("%22id%22%3A42%2C", "%22id%22%3A43%2C")
    assert other_user != raw and not telegram_check(other_user, TOKEN)


def test_a_datetime_is_written_as_unix_seconds() -> None:
    when = datetime(2026, 11, 23, 2, 0, 30, 900_000, tzinfo=UTC)
    raw = sign_init_data(TOKEN, USER, when)
    assert dict(parse_qsl(raw))["auth_date"] == str(int(when.timestamp()))
    assert telegram_check(raw, TOKEN)


def test_it_gives_the_hash_telegram_gave_to_real_data() -> None:
    # A real initData and the public test token it was made for, as Telegram-Mini-Apps
    # publishes them (also in tests/unit/test_initdata.py): the same fields signed here give
    # Telegram's hash. The user's JSON is passed as Telegram wrote it (with its escaped slashes).
    user = (
        '{"id":279058397,"first_name":"Vladislav + - ? \\/","last_name":"Kibenko","username":"vdkfrost",'
        '"language_code":"ru","is_premium":true,"allows_write_to_pm":true,'
        '"photo_url":"https:\\/\\/t.me\\/i\\/userpic\\/320\\/4FPEE4tmP3ATHa57u6MqTDih13LTOiMoKoLDRG4PnSA.svg"}'
    )
    raw = sign_init_data(
        "7342037359:AAHI25ES9xCOMPokpYoz-p8XVrZUdygo2J4",
        user,
        1733509682,
        chat_instance="8134722200314281151",
        chat_type="private",
        signature="TYJxVcisqbWjtodPepiJ6ghziUL94-KNpG8Pau-X7oNNLNBM72APCpi_RKiUlBvcqo5L-LAxIc3dnTzcZX_PDg",
    )
    assert dict(parse_qsl(raw))["hash"] == "a433d8f9847bd6addcc563bff7cc82c89e97ea0d90c11fe5729cae6796a36d73"


def test_the_bots_check_accepts_it() -> None:
    raw = sign_init_data(TOKEN, USER, MADE, query_id="q42")
    made = datetime.fromtimestamp(MADE, UTC)
    data = verify(raw, TOKEN, now=made + timedelta(seconds=5), max_age=timedelta(days=1))
    assert (data.user.id, data.user.full_name, data.auth_date) == (42, "王芳 Wang & Co", made)


def test_a_hash_cannot_be_given() -> None:
    with pytest.raises(ValueError, match="computed"):
        sign_init_data(TOKEN, USER, MADE, hash="0" * 64)
