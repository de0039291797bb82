"""Mini App initData: checked as Telegram documents, and every kind of bad data refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

import pytest

from bot.web.initdata import InitDataError, Problem, sign, user_field, verify

TOKEN = "100000001:console-token-not-secret"
OTHER_TOKEN = "100000002:another-bots-token"
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def fields(*, age: timedelta = timedelta(minutes=5), **extra: str) -> dict[str, str]:
    return {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": user_field(42, "芳", last_name="王", username="wangfang", language_code="zh-hans"),
        "auth_date": str(int((NOW - age).timestamp())),
        **extra,
    }


def refused(raw: str, *, token: str = TOKEN, now: datetime = NOW) -> Problem:
    with pytest.raises(InitDataError) as caught:
        verify(raw, token, now=now, max_age=DAY)
    return caught.value.problem


def test_valid_data_gives_the_user_and_when_it_was_made() -> None:
    data = verify(sign(fields(), TOKEN), TOKEN, now=NOW, max_age=DAY)
    assert data.user.id == 42
    assert data.user.full_name == "芳 王"
    assert data.user.username == "wangfang"
    assert data.user.language_code == "zh-hans"
    assert data.auth_date == NOW - timedelta(minutes=5)


def test_telegrams_published_example_with_a_signature_field_verifies() -> None:
    # A real initData with the newer `signature` field and the (public, test) token it was
    # made for, as published by Telegram-Mini-Apps (init-data-golang's README and
    # validate_test.go). It verifies only with `signature` in the data-check-string.
    raw = (
        "user=%7B%22id%22%3A279058397%2C%22first_name%22%3A%22Vladislav%20%2B%20-%20%3F%20%5C%2F%22%2C"
        "%22last_name%22%3A%22Kibenko%22%2C%22username%22%3A%22vdkfrost%22%2C%22language_code%22%3A%22ru%22"
        "%2C%22is_premium%22%3Atrue%2C%22allows_write_to_pm%22%3Atrue%2C%22photo_url%22%3A%22https%3A%5C%2F"
        "%5C%2Ft.me%5C%2Fi%5C%2Fuserpic%5C%2F320%5C%2F4FPEE4tmP3ATHa57u6MqTDih13LTOiMoKoLDRG4PnSA.svg%22%7D"
        "&chat_instance=8134722200314281151&chat_type=private&auth_date=1733509682"
        "&signature=TYJxVcisqbWjtodPepiJ6ghziUL94-KNpG8Pau-X7oNNLNBM72APCpi_RKiUlBvcqo5L-LAxIc3dnTzcZX_PDg"
        "&hash=a433d8f9847bd6addcc563bff7cc82c89e97ea0d90c11fe5729cae6796a36d73"
    )
    token = "7342037359:AAHI25ES9xCOMPokpYoz-p8XVrZUdygo2J4"
    made = datetime.fromtimestamp(1733509682, UTC)
    data = verify(raw, token, now=made + timedelta(minutes=1), max_age=DAY)
    assert (data.user.id, data.user.full_name) == (279058397, "Vladislav + - ? / Kibenko")
    without_signature = "&".join(p for p in raw.split("&") if not p.startswith("signature="))
    assert refused(without_signature, token=token, now=made) is Problem.BAD_HASH


def test_an_altered_field_is_refused() -> None:
    raw = sign(fields(), TOKEN)
    pairs = dict(parse_qsl(raw))
    pairs["user"] = pairs["user"].replace('"id":42', '"id":43')
    assert refused(urlencode(pairs)) is Problem.BAD_HASH
    assert refused(raw + "&admin=1") is Problem.BAD_HASH  # an added field is an alteration too


def test_a_wrong_hash_is_refused() -> None:
    raw = sign(fields(), TOKEN)
    forged = raw[: -len("0" * 64)] + "0" * 64
    assert refused(forged) is Problem.BAD_HASH
    assert refused(raw[:-64] + "é" * 64) is Problem.BAD_HASH  # not even hex: refused, no crash


def test_another_bots_initdata_is_refused() -> None:
    assert refused(sign(fields(), OTHER_TOKEN)) is Problem.BAD_HASH


def test_expired_data_is_refused_and_fresh_data_at_the_limit_accepted() -> None:
    assert refused(sign(fields(age=DAY + timedelta(seconds=1)), TOKEN)) is Problem.EXPIRED
    assert verify(sign(fields(age=DAY), TOKEN), TOKEN, now=NOW, max_age=DAY).user.id == 42
    # Dated ahead of our clock (more than a minute): not accepted either.
    assert refused(sign(fields(age=-timedelta(minutes=5)), TOKEN)) is Problem.EXPIRED


def test_missing_data_or_hash_is_refused() -> None:
    assert refused("") is Problem.MISSING
    unsigned = urlencode(fields())
    assert refused(unsigned) is Problem.UNSIGNED
    assert refused(unsigned + "&hash=") is Problem.UNSIGNED


@pytest.mark.parametrize(
    "raw",
    [
        "not a query string",
        "user=1&user=2&auth_date=1&hash=00",
        "a=%ff&hash=00",  # not UTF-8
    ],
)
def test_malformed_query_strings_are_refused(raw: str) -> None:
    assert refused(raw) is Problem.MALFORMED


@pytest.mark.parametrize(
    "change",
    [
        {"auth_date": "yesterday"},
        {"auth_date": "99999999999999999999"},
        {"user": "{not json"},
        {"user": "[42]"},
        {"user": '{"id": "42", "first_name": "x"}'},
        {"user": '{"id": true, "first_name": "x"}'},
        {"user": '{"id": 42}'},
        {"user": '{"id": 42, "first_name": "x", "language_code": 7}'},
    ],
)
def test_signed_but_unusable_data_is_malformed(change: dict[str, str]) -> None:
    assert refused(sign({**fields(), **change}, TOKEN)) is Problem.MALFORMED


def test_signed_data_without_a_user_or_date_is_malformed() -> None:
    no_user = {k: v for k, v in fields().items() if k != "user"}
    no_date = {k: v for k, v in fields().items() if k != "auth_date"}
    assert refused(sign(no_user, TOKEN)) is Problem.MALFORMED
    assert refused(sign(no_date, TOKEN)) is Problem.MALFORMED


def test_values_are_compared_decoded() -> None:
    # Telegram signs the decoded values: the same data, encoded another way, still verifies.
    raw = sign(fields(), TOKEN)
    reencoded = re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), raw).replace("AAHdF6", "%41AHdF6")
    assert reencoded != raw
    assert verify(reencoded, TOKEN, now=NOW, max_age=DAY).user.id == 42
