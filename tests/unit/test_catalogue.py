"""Every text exists in both languages and compiles; handler code names only real keys."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from bot.domain import card
from bot.domain.card import Section, Stage
from bot.i18n import CatalogueError, catalogue, load_catalogue, pick_language

ROOT = Path(__file__).resolve().parents[2]


def test_both_languages_have_the_same_keys() -> None:
    texts = catalogue()
    assert set(texts.templates["zh"]) == set(texts.templates["en"])
    assert len(texts.keys()) > 200


def test_a_missing_translation_is_an_error_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / "zh.toml").write_text('[a]\nb = "一"\nc = "二"\n', encoding="utf-8")
    (tmp_path / "en.toml").write_text('[a]\nb = "one"\n', encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"a\.c"):
        load_catalogue(tmp_path)


def test_user_text_is_escaped_but_buttons_are_plain() -> None:
    texts = catalogue()
    assert "&lt;b&gt;" in texts.text("en", "relay.to_rep", name="<b>", text="x")
    assert texts.text("en", "btn.menu") == "🏠 Menu"


def test_every_literal_key_in_the_code_exists() -> None:
    keys = catalogue().keys()
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "bot").rglob("*.py"))
    literal = set(
        re.findall(
            r'"((?:error|btn|card|find|new|edit|note|flow|team|admin|optin|menu|'
            r"purchase|timeline|relay|stop|import|export|language|invite|welcome|"
            r'stranger|customer|grade|stage|plain|hint|section|field|choice)\.[a-z_.]+)"',
            source,
        )
    )
    # A literal may also be a prefix the code completes (choice labels, sections).
    missing = {k for k in literal if k not in keys and not any(key.startswith(k + ".") for key in keys)}
    assert not missing


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_dynamic_keys_exist(lang: str) -> None:
    texts = catalogue()
    for spec in card.FIELDS:
        assert texts.has(f"field.{spec.key}")
        assert texts.has(f"hint.{spec.kind.value}")
        for choice in spec.choices:
            assert texts.has(f"choice.{spec.key}.{choice}")
    for stage in Stage:
        assert texts.text(lang, f"stage.{stage.value}")
    for section in Section:
        assert texts.text(lang, f"section.{section.value}")
        assert texts.text(lang, f"btn.section.{section.value}")


def test_language_is_picked_from_telegram() -> None:
    assert pick_language("zh-hans") == "zh"
    assert pick_language("en-US") == "en"
    assert pick_language("de") == "en"
    assert pick_language(None) == "zh"
    assert pick_language(None, "en") == "en"


# A line that ends in a block tag loses its line break (the catalogue trims blocks), so
# text on the next line would run on: "Team: Demo teamType a name…". Such lines end
# in "+%}" instead, which keeps the break.
_WHOLE_LINE_TAG = re.compile(r"^\s*(\{%[^%]*%\}\s*)+$")
_RUNS_ON = re.compile(r"^.*\{%[^+%]*%\}\s*$")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_line_runs_on_into_the_next(lang: str) -> None:
    lines = (ROOT / "templates" / f"{lang}.toml").read_text(encoding="utf-8").split("\n")
    run_on = [
        f"{number}: {line}"
        for number, (line, following) in enumerate(itertools.pairwise(lines), start=1)
        if _RUNS_ON.match(line)
        and not _WHOLE_LINE_TAG.match(line)
        and following.strip()
        and not following.lstrip().startswith('"""')
        and not _WHOLE_LINE_TAG.match(following)
    ]
    assert not run_on


def test_the_menu_keeps_its_lines() -> None:
    texts = catalogue()
    menu = texts.text("en", "menu.text", role="Rep", role_key="rep", admin=False, team="Demo team")
    assert "<b>Demo team</b>\nType a name" in menu


def test_a_line_break_written_after_a_tag_is_kept() -> None:
    """Block tags swallow the newline right after them (trim_blocks): a one-line text that
    writes a line break (`\\n`) just after a tag must keep it with `+%}`, or two lines run
    together on the phone."""
    for lang in ("zh", "en"):
        raw = (ROOT / "templates" / f"{lang}.toml").read_text(encoding="utf-8")
        assert re.findall(r"^.*(?<![+-])%}\\n.*$", raw, flags=re.M) == [], lang
