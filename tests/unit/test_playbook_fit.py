"""Which playbooks fit a stage, and the ▶️ Play menu's order (a pure rule)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.playbook_fit import fits, suggest
from bot.playbooks.check import load_all


@dataclass(frozen=True)
class Book:
    id: str
    stages: tuple[str, ...] = ()


QUALIFY = Book("qualify", ("new", "contacted"))
CLOSE = Book("closing", ("negotiating",))
REVISIT = Book("revisit", ("won", "after_sales"))
ANY = Book("notes")


def test_a_playbook_fits_the_stages_it_names() -> None:
    assert fits(QUALIFY, "new")
    assert fits(QUALIFY, "contacted")
    assert not fits(QUALIFY, "won")
    assert not fits(ANY, "new")


def test_the_fitting_come_first_each_list_in_the_playbooks_order() -> None:
    found = suggest([QUALIFY, ANY, REVISIT, CLOSE, Book("winback", ("won",))], "won")
    assert [b.id for b in found.fitting] == ["revisit", "winback"]
    assert [b.id for b in found.others] == ["qualify", "notes", "closing"]
    assert [b.id for b in found.ordered] == ["revisit", "winback", "qualify", "notes", "closing"]


def test_no_fit_keeps_the_order() -> None:
    found = suggest([QUALIFY, CLOSE], "lost")
    assert found.fitting == []
    assert found.ordered == [QUALIFY, CLOSE]
    assert suggest([], "new").ordered == []


def test_the_shipped_playbooks_suggest_by_stage() -> None:
    shipped = list(load_all().values())
    assert [p.id for p in suggest(shipped, "evaluate").fitting] == ["qualify", "approach"]
    found = suggest(shipped, "won")
    assert {p.id for p in found.fitting} == {"complaint", "revisit", "winback"}
    assert len(found.ordered) == len(shipped)
