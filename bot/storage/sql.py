"""SQL the dialects spell differently."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal


class Contains(ColumnElement[bool]):
    """Whether `text` occurs in `haystack`, taken literally (no wildcards to escape).

    Standard SQL's POSITION, and SQLite's instr, which is also about a third faster
    there than LIKE '%…%' (LIKE folds case character by character; search texts are
    already folded).
    """

    type = Boolean()
    inherit_cache = True
    # Both parts take part in the statement cache's key, as any built-in element's do.
    _traverse_internals = [  # noqa: RUF012  (SQLAlchemy's own declaration is a list)
        ("haystack", InternalTraversal.dp_clauseelement),
        ("text", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, haystack: Any, text: ColumnElement[str]) -> None:
        self.haystack, self.text = haystack, text


@compiles(Contains)
def _position(element: Contains, compiler: SQLCompiler, **kw: Any) -> str:
    text, haystack = compiler.process(element.text, **kw), compiler.process(element.haystack, **kw)
    return f"POSITION({text} IN {haystack}) > 0"


@compiles(Contains, "sqlite")
def _instr(element: Contains, compiler: SQLCompiler, **kw: Any) -> str:
    text, haystack = compiler.process(element.text, **kw), compiler.process(element.haystack, **kw)
    return f"instr({haystack}, {text}) > 0"
