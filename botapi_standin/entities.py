"""Formatted-text parsing for the Bot API stand-in: HTML, MarkdownV2 and legacy Markdown.

The parsers follow TDLib (the library behind the Bot API server): the same tags and
markup characters, the same resulting plain text and MessageEntity offsets (in UTF-16
code units), and the same error wording with byte offsets into the UTF-8 source.

``parse_formatted`` picks the parser for a parse_mode; the parsers live in
``html_text`` and ``markdown_text``, what they share (errors, offsets, URLs, trimming)
in ``text``.
"""

from __future__ import annotations

from botapi_standin.html_text import parse_html
from botapi_standin.markdown_text import parse_markdown, parse_markdown_v2
from botapi_standin.text import (
    EntityParseError,
    FormattedText,
    UnsupportedParseModeError,
    UrlError,
    UserResolver,
    check_url,
    clip_entities,
    plain_entities,
    trim,
    utf16_len,
)

__all__ = [
    "EntityParseError",
    "FormattedText",
    "UnsupportedParseModeError",
    "UrlError",
    "UserResolver",
    "check_url",
    "clip_entities",
    "parse_formatted",
    "parse_html",
    "parse_markdown",
    "parse_markdown_v2",
    "plain_entities",
    "trim",
    "utf16_len",
]


def parse_formatted(
    text: str, parse_mode: str | None, *, resolve_user: UserResolver | None = None
) -> FormattedText:
    """Parse text according to a Bot API parse_mode (None or "" means plain text)."""
    if not parse_mode:
        return FormattedText(text)
    mode = parse_mode.lower()
    if mode == "html":
        return parse_html(text, resolve_user=resolve_user)
    if mode == "markdownv2":
        return parse_markdown_v2(text, resolve_user=resolve_user)
    if mode == "markdown":
        return parse_markdown(text, resolve_user=resolve_user)
    raise UnsupportedParseModeError(parse_mode)
