"""Customers and notes out to CSV and XLSX, every card field included.

Reading them (`export_data`) takes a transaction; wording them into sheets and writing
the files (`export_files`) is CPU work with no database. For a team of 2,000 customers
and their 40,000 notes that is half a second of reading and seconds of writing, all of
it Python, so `export` does both in a worker process (`bot.heavy`), which reads with a
database connection of its own: what crosses over is who asks and the reader's words
(`Wording`) one way, and the files the other.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from sqlalchemy import select as sql_select  # more columns than sqlmodel's select types
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import card
from bot.domain.access import Actor, can_manage_team
from bot.domain.errors import Busy, NotAllowed
from bot.storage.db import is_transient, make_engine, make_session_factory, transaction
from bot.storage.models import Customer, Note, Team, User

if TYPE_CHECKING:
    from bot.runtime import Runtime

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
    """What an export shows, as read from the database: plain tuples, no session behind them."""

    teams: dict[int, str]
    users: dict[int, str]
    customer_columns: tuple[str, ...]  # the names of a customer row's cells (a Customer's columns)
    customers: list[tuple[Any, ...]]
    notes: list[tuple[Any, ...]]  # (customer_id, customer name, created_at, kind, author_id, text, file_kind)


@dataclass(frozen=True)
class Wording:
    """The reader's words for an export, looked up beforehand.

    `labels` names each column; `values[column]` words the stored tokens of a column (a
    stage, a note kind, a choice) and `yes` a true flag. Tokens with no words stay as
    they are, as `bot.telegram.words.stored` has them.
    """

    labels: dict[str, str]
    values: dict[str, dict[str, str]]
    yes: str

    def label(self, column: str) -> str:
        return self.labels[column]

    def word(self, column: str, cell: Any) -> Any:
        if isinstance(cell, bool):
            return self.yes if cell else ""
        if isinstance(cell, str) and cell:
            return self.values.get(column, {}).get(cell, cell)
        return cell


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
    columns = tuple(column.key for column in Customer.__table__.columns)  # type: ignore[attr-defined]
    return ExportData(teams, users, columns, [tuple(row) for row in customers], [tuple(row) for row in notes])


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
    shaped = namedtuple("CustomerRow", data.customer_columns)  # type: ignore[misc]
    for values in data.customers:
        c: Any = shaped(*values)
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


def export_files(data: ExportData, wording: Wording, fmt: str, stamp: str) -> Files:
    """The export's files (contents, name) in the reader's words, and its customers and notes.

    CSV gives a file per sheet, XLSX one workbook. Pure and picklable both ways: the bot
    runs it in a worker process.
    """
    tables = export_tables(data, label=wording.label, words=wording.word)
    if fmt == "csv":
        files = [(to_csv(table), f"{table.name}-{stamp}.csv") for table in tables]
    else:
        files = [(to_xlsx(tables), f"salesbot-{stamp}.xlsx")]
    return files, len(tables[0].rows), len(tables[1].rows)


Files = tuple[list[tuple[bytes, str]], int, int]  # (contents, file name) each, customers, notes


async def export(app: Runtime, actor: Actor, *, team_id: int | None, wording: Wording, fmt: str) -> Files:
    """The export of one team (all teams: an admin, team_id None) as `fmt` files, and its counts.

    Read and written in a worker process, unless the database is one only this process
    can see (SQLite in memory): then it is read here and only written there.
    """
    stamp = app.now().strftime("%Y%m%d")
    url = _shared_url(app)
    if url is not None and app.heavy.processes > 0:
        return await app.heavy.run(read_and_write, url, actor, team_id, wording, fmt, stamp)
    data = await app.db(lambda session: export_data(session, actor, team_id=team_id))
    return await app.heavy.run(export_files, data, wording, fmt, stamp)


def _shared_url(app: Runtime) -> str | None:
    """The database's URL, password included, if another process can open the same database."""
    url = app.sessions.kw["bind"].url
    in_memory = url.database in (None, "", ":memory:") or "mode=memory" in str(url)
    if url.get_backend_name() == "sqlite" and in_memory:
        return None
    return str(url.render_as_string(hide_password=False))


def read_and_write(
    url: str, actor: Actor, team_id: int | None, wording: Wording, fmt: str, stamp: str
) -> Files:
    """`export_data` with an engine of its own, then `export_files`: a worker process's whole export.

    A database briefly unavailable makes it Busy (the user is asked to try again).
    """

    async def read() -> ExportData:
        engine = make_engine(url)
        try:
            async with transaction(make_session_factory(engine)) as session:
                return await export_data(session, actor, team_id=team_id)
        finally:
            await engine.dispose()

    try:
        data = asyncio.run(read())
    except Exception as error:
        if is_transient(error):
            raise Busy() from None
        raise
    return export_files(data, wording, fmt, stamp)


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
