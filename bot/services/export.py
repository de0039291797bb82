"""Customers and notes out to CSV and XLSX, every card field included.

Reading them (`export_data`) takes a transaction; wording them into sheets
(`export_tables`) and writing the files (`to_csv`, `to_xlsx`) is CPU work with no
database, which the handler runs in a worker thread: an XLSX of 2,000 customers and their
notes takes seconds.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from sqlalchemy import select as sql_select  # more columns than sqlmodel's select types
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import card
from bot.domain.access import Actor, can_manage_team
from bot.domain.errors import NotAllowed
from bot.storage.models import Customer, Note, Team, User

CUSTOMER_COLUMNS = (
    "id",
    "team",
    "owner",
    "stage",
    "grade",
    *[f.key for f in card.FIELDS if f.key != "birthday"],
    "birthday",
    "birthday_lunar",
    "optin_state",
    "last_contact_at",
    "created_at",
)
NOTE_COLUMNS = ("customer_id", "customer", "created_at", "kind", "author", "text", "file_kind")


@dataclass(frozen=True)
class Table:
    """A sheet: a name, a header and rows of cells."""

    name: str
    header: list[str]
    rows: list[list[Any]]


def _birthday(c: Any) -> str:
    if c.birthday_month is None or c.birthday_day is None:
        return ""
    leap = "L" if c.birthday_leap else ""
    year = f"{c.birthday_year:04d}-" if c.birthday_year else "--"
    return f"{year}{leap}{c.birthday_month:02d}-{c.birthday_day:02d}"


def _as_stored(column: str, cell: Any) -> Any:
    return cell


@dataclass(frozen=True)
class ExportData:
    """What an export shows, as read from the database: plain rows, no session behind them."""

    teams: dict[int, str]
    users: dict[int, str]
    customers: list[Any]  # rows with a Customer's columns as attributes
    notes: list[Any]  # rows of (customer_id, customer name, created_at, kind, author_id, text, file_kind)


async def export_data(session: AsyncSession, actor: Actor, *, team_id: int | None) -> ExportData:
    """The customers and notes of one team (or, for an admin with team_id None, all teams)."""
    if team_id is None:
        if not actor.is_admin:
            raise NotAllowed()
    elif not can_manage_team(actor, team_id):
        raise NotAllowed()
    teams = {
        int(i): str(n) for i, n in (await session.exec(select(Team.id, Team.name))).all() if i is not None
    }
    users = {int(i): str(n) for i, n in (await session.exec(select(User.telegram_id, User.name))).all()}
    # Columns, not cards: plain rows cost less to read and carry no session into a worker thread.
    query = sql_select(*Customer.__table__.columns).where(col(Customer.archived_at).is_(None))  # type: ignore[attr-defined]
    notes_query = sql_select(
        col(Note.customer_id),
        col(Customer.name),
        col(Note.created_at),
        col(Note.kind),
        col(Note.author_id),
        col(Note.text),
        col(Note.file_kind),
    ).join(Customer, col(Customer.id) == col(Note.customer_id))
    if team_id is not None:
        query = query.where(col(Customer.team_id) == team_id)
        notes_query = notes_query.where(col(Note.team_id) == team_id)
    customers = (await session.exec(query.order_by(col(Customer.id)))).all()  # type: ignore[call-overload]
    notes = (
        await session.exec(notes_query.order_by(col(Note.customer_id), col(Note.created_at)))  # type: ignore[call-overload]
    ).all()
    return ExportData(teams, users, list(customers), list(notes))


def export_tables(
    data: ExportData,
    *,
    label: Callable[[str], str],
    words: Callable[[str, Any], Any] = _as_stored,
) -> list[Table]:
    """The export's two sheets, customers and notes, worded for the reader.

    `label` names a column and `words(column, cell)` words a stored value (a stage, a
    note kind, a choice) for the reader; both in the reader's language. CPU work and no
    database: a handler runs it in a worker thread.
    """
    rows: list[list[Any]] = []
    for c in data.customers:
        row: list[Any] = []
        for key in CUSTOMER_COLUMNS:
            if key == "team":
                row.append(data.teams.get(c.team_id, ""))
            elif key == "owner":
                row.append(data.users.get(c.owner_id, ""))
            elif key == "birthday":
                row.append(_birthday(c))
            elif key == "tags":
                row.append(" ".join(c.tags))
            elif key in card.FIELDS_BY_KEY and not card.FIELDS_BY_KEY[key].column:
                row.append(c.extra.get(key, ""))
            else:
                raw = getattr(c, key)
                row.append("" if raw is None else raw.isoformat() if hasattr(raw, "isoformat") else raw)
        rows.append([words(key, cell) for key, cell in zip(CUSTOMER_COLUMNS, row, strict=True)])
    note_rows = [
        [customer_id, name, created.isoformat(), kind, data.users.get(author or 0, ""), text, file_kind or ""]
        for customer_id, name, created, kind, author, text, file_kind in data.notes
    ]
    note_rows = [[words(key, cell) for key, cell in zip(NOTE_COLUMNS, row, strict=True)] for row in note_rows]
    return [
        Table("customers", [label(k) for k in CUSTOMER_COLUMNS], rows),
        Table("notes", [label(k) for k in NOTE_COLUMNS], note_rows),
    ]


def to_csv(table: Table) -> bytes:
    """CSV with a BOM so that Excel opens Chinese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.header)
    for row in table.rows:
        writer.writerow([_safe_cell(v) for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(tables: Sequence[Table]) -> bytes:
    """One workbook, one sheet per table."""
    workbook = Workbook()
    first = True
    for table in tables:
        sheet = workbook.active if first else workbook.create_sheet()
        assert sheet is not None
        first = False
        sheet.title = table.name
        sheet.append(table.header)
        for row in table.rows:
            sheet.append([_safe_cell(v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


_PHONE = re.compile(r"\+\d[\d ]*")


def _safe_cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas typed into text fields (CSV injection).

    Phone numbers in international form (`+86 138 …`) are the one thing that may
    start with a sign and stay as they are.
    """
    if not isinstance(value, str) or value[:1] not in ("=", "+", "-", "@", "\t", "\r"):
        return value
    if _PHONE.fullmatch(value):
        return value
    return "'" + value
