"""Pieces of the service layer that need no Telegram: amounts, vCards, exports, logging."""

from __future__ import annotations

import io
import logging
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from bot.cli import RedactingFormatter
from bot.domain.errors import InvalidInput
from bot.services.customers import parse_amount
from bot.services.export import Table, to_csv, to_xlsx
from bot.services.vcard import parse_vcards


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("1200", "1200.00"),
        ("1,200.50", "1200.50"),
        ("1.5万", "15000.00"),
        ("¥3,000", "3000.00"),
        ("２０００元", "2000.00"),
        ("2k", "2000.00"),
    ],
)
def test_amounts_as_people_type_them(typed: str, amount: str) -> None:
    assert parse_amount(typed) == Decimal(amount)


@pytest.mark.parametrize("typed", ["", "abc", "-5", "0", "1e20", "NaN", "Infinity"])
def test_bad_amounts(typed: str) -> None:
    with pytest.raises(InvalidInput):
        parse_amount(typed)


def test_vcards_of_each_version_and_gbk() -> None:
    text = (
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN:王;芳\r\nTEL;CELL:13911112222\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Anna Müller\r\nORG:Müller Bau;Sales\r\nTITLE:CEO\r\n"
        "EMAIL:anna@example.de\r\nEND:VCARD\r\n"
    )
    contacts = parse_vcards(text.encode("gb18030"))
    assert contacts[0] == {"name": "王芳", "phone": "13911112222"}
    assert contacts[1]["company"] == "Müller Bau" and contacts[1]["title"] == "CEO"
    assert parse_vcards(b"\x00\x01 not a card") == []


def test_exports_neutralise_formulas_and_keep_chinese() -> None:
    table = Table("customers", ["姓名", "电话"], [['=HYPERLINK("x")', "+86 138 0013 8000"]])
    data = to_csv(table).decode("utf-8-sig")
    assert "'=HYPERLINK" in data and "+86 138" in data and "姓名" in data
    sheet = load_workbook(io.BytesIO(to_xlsx([table])))["customers"]
    assert sheet["A2"].value == '\'=HYPERLINK("x")'


def test_the_token_never_reaches_a_log_line() -> None:
    token = "123456:ABC-secret_token"
    formatter = RedactingFormatter("%(message)s", token)
    record = logging.LogRecord(
        "httpx", logging.INFO, __file__, 1, "POST https://api.telegram.org/bot%s/getMe", (token,), None
    )
    assert "secret" not in formatter.format(record)
    try:
        raise ConnectionError(f"cannot reach https://api.telegram.org/file/bot{token}/photo.jpg")
    except ConnectionError:
        import sys

        failing = logging.LogRecord("telegram", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    assert "secret" not in formatter.format(failing) and "Traceback" in formatter.format(failing)
    unknown = logging.LogRecord("x", logging.INFO, __file__, 1, "url /bot987:XYZ_abc/sendMessage", None, None)
    assert "XYZ_abc" not in RedactingFormatter("%(message)s", None).format(unknown)
