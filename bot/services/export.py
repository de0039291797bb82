"""Customers and notes out to CSV and XLSX, every card field included."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
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


def _birthday(c: Customer) -> str:
    if c.birthday_month is None or c.birthday_day is None:
        return ""
    leap = "L" if c.birthday_leap else ""
    year = f"{c.birthday_year:04d}-" if c.birthday_year else "--"
    return f"{year}{leap}{c.birthday_month:02d}-{c.birthday_day:02d}"


def _as_stored(column: str, cell: Any) -> Any:
    return cell


async def export_tables(
    session: AsyncSession,
    actor: Actor,
    *,
    team_id: int | None,
    label: Callable[[str], str],
    words: Callable[[str, Any], Any] = _as_stored,
) -> list[Table]:
    """The customers and notes of one team (or, for an admin with team_id None, all teams).

    `label` names a column and `words(column, cell)` words a stored value (a stage, a
    note kind, a choice) for the reader; both in the reader's language.
    """
    if team_id is None:
        if not actor.is_admin:
            raise NotAllowed()
    elif not can_manage_team(actor, team_id):
        raise NotAllowed()
    teams = {t.id: t.name for t in (await session.exec(select(Team))).all()}
    users = {u.telegram_id: u.name for u in (await session.exec(select(User))).all()}
    query = select(Customer).where(col(Customer.archived_at).is_(None)).order_by(col(Customer.id))
    notes_query = (
        select(Note, Customer.name).join(Customer).order_by(col(Note.customer_id), col(Note.created_at))
    )
    if team_id is not None:
        query = query.where(col(Customer.team_id) == team_id)
        notes_query = notes_query.where(col(Note.team_id) == team_id)
    customers = (await session.exec(query)).all()
    rows: list[list[Any]] = []
    for c in customers:
        row: list[Any] = []
        for key in CUSTOMER_COLUMNS:
            if key == "team":
                row.append(teams.get(c.team_id, ""))
            elif key == "owner":
                row.append(users.get(c.owner_id, ""))
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
        [
            n.customer_id,
            name,
            n.created_at.isoformat(),
            n.kind,
            users.get(n.author_id or 0, ""),
            n.text,
            n.file_kind or "",
        ]
        for n, name in (await session.exec(notes_query)).all()
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
