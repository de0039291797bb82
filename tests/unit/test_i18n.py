"""The catalogue keeps what a text is made of: separators keep their spaces."""

from __future__ import annotations

from bot.i18n import catalogue


def test_the_english_list_joiner_keeps_its_space() -> None:
    names = ["Tom", "王芳", "Ada"]
    assert catalogue().text("en", "plain.list_joiner").join(names) == "Tom, 王芳, Ada"
    assert catalogue().text("zh", "plain.list_joiner").join(names) == "Tom、王芳、Ada"


def test_texts_lose_the_outer_line_breaks_of_their_toml_blocks() -> None:
    for lang in ("zh", "en"):
        for key, text in catalogue().constants[lang].items():
            assert not text.startswith("\n") and not text.endswith("\n"), (lang, key)
            if not key.startswith(("btn.", "cmd.", "plain.")):
                assert text == text.strip(), (lang, key)
