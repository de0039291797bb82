"""What the formatted-text parsers share: errors, UTF-16 offsets, URLs, trimming.

Telegram measures texts and entity offsets in UTF-16 code units and reports parse
errors with byte offsets into the UTF-8 source; the helpers for both live here, with
Telegram's URL normalisation (``check_url``) and the trimming and clipping it applies to
a parsed text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]

# Resolves a user id from a tg://user?id=... link to a User object (or None if unknown).
UserResolver = Callable[[int], JsonDict | None]

# TDLib's is_space(): the characters that separate tag names and attributes.
SPACES = " \t\r\n\v"
# What Telegram trims from both ends of a message text or caption.
_TRIM = " \t\r\n\v\f"


class EntityParseError(ValueError):
    """Formatted text Telegram would refuse; str() follows "can't parse entities: "."""


class UnsupportedParseModeError(ValueError):
    """A parse_mode other than HTML, Markdown or MarkdownV2."""


class UrlError(ValueError):
    """A URL Telegram would refuse; str() is Telegram's reason ("Wrong HTTP URL", ...)."""


@dataclass(frozen=True)
class FormattedText:
    """Plain text plus the MessageEntity objects Telegram derives from it."""

    text: str
    entities: tuple[JsonDict, ...] = field(default_factory=tuple)


def utf16_len(text: str) -> int:
    """Length of text in UTF-16 code units, the unit of Telegram's offsets and limits."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def char_units(char: str) -> int:
    # Characters outside the BMP take a surrogate pair in UTF-16.
    return 2 if ord(char) > 0xFFFF else 1


def utf8_offset(source: str, index: int) -> int:
    # Telegram reports positions as byte offsets into the UTF-8 request text.
    return len(source[:index].encode("utf-8", "surrogatepass"))


def trim(formatted: FormattedText) -> FormattedText:
    """Strip leading and trailing whitespace as Telegram does, shifting and clipping entities."""
    text = formatted.text
    stripped = text.strip(_TRIM)
    if stripped == text:
        return formatted
    left = utf16_len(text[: len(text) - len(text.lstrip(_TRIM))])
    size = utf16_len(stripped)
    entities: list[JsonDict] = []
    for entity in formatted.entities:
        start = max(int(entity["offset"]) - left, 0)
        end = min(int(entity["offset"]) + int(entity["length"]) - left, size)
        if end > start:
            entities.append({**entity, "offset": start, "length": end - start})
    return FormattedText(stripped, tuple(entities))


def clip_entities(formatted: FormattedText) -> FormattedText:
    """Drop or shorten entities that reach past the end of the text, as Telegram does."""
    size = utf16_len(formatted.text)
    entities: list[JsonDict] = []
    for entity in formatted.entities:
        start = int(entity["offset"])
        end = min(start + int(entity["length"]), size)
        if start >= 0 and end > start:
            entities.append({**entity, "length": end - start})
    return FormattedText(formatted.text, tuple(entities))


# --------------------------------------------------------------------------- URLs

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):(//)?")
_LABEL = re.compile(r"(?!-)[\w-]{1,63}(?<!-)", re.UNICODE)
_IPV4 = re.compile(r"\d{1,3}(\.\d{1,3}){3}")
_TG_USER = re.compile(r"tg:(?://)?user\?id=(\d+)$", re.IGNORECASE)


def check_url(url: str) -> str:
    """Validate and normalise a URL the way Telegram does (adds http:// and a "/" path)."""
    match = _SCHEME.match(url)
    # "host:port" without a scheme is not a scheme; only treat it so when a // follows or
    # the scheme is one Telegram knows without slashes (tg:resolve?...).
    if match and (match.group(2) or match.group(1).lower() in {"tg", "ton", "tonsite"}):
        scheme, rest = match.group(1).lower(), url[match.end() :]
    else:
        scheme, rest = "http", url
    if scheme in {"tg", "ton", "tonsite"}:
        if not rest:
            raise UrlError("Wrong URL")
        return f"{scheme}://{rest}"
    if scheme not in {"http", "https"}:
        raise UrlError("Unsupported URL protocol")
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    userinfo, _, hostport = authority.rpartition("@")
    host, _, port = hostport.partition(":")
    host = host.lower().rstrip(".")
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        raise UrlError("Wrong port number specified in the URL")
    labels = host.split(".")
    if _IPV4.fullmatch(host):
        if any(int(part) > 255 for part in labels):
            raise UrlError("Wrong HTTP URL")
    elif (
        len(labels) < 2
        or not all(_LABEL.fullmatch(label) for label in labels)
        or not (labels[-1].isalpha() or labels[-1].startswith("xn--"))
    ):
        # Telegram refuses single-label hosts such as "localhost" and bare words.
        raise UrlError("Wrong HTTP URL")
    if not tail.startswith("/"):
        tail = "/" + tail
    prefix = f"{userinfo}@" if userinfo else ""
    suffix = f":{port}" if port else ""
    return f"{scheme}://{prefix}{host}{suffix}{tail}"


def link_entity(url: str, offset: int, length: int, resolve_user: UserResolver | None) -> JsonDict | None:
    # A tg://user?id= link becomes a text_mention when the user is known; an invalid URL
    # silently yields no entity, exactly like Telegram.
    mention = _TG_USER.match(url)
    if mention:
        user = resolve_user(int(mention.group(1))) if resolve_user else None
        if user is None:
            return None
        return {"type": "text_mention", "offset": offset, "length": length, "user": user}
    try:
        normalised = check_url(url)
    except UrlError:
        return None
    return {"type": "text_link", "offset": offset, "length": length, "url": normalised}


def check_date_format(date_format: str) -> None:
    # Telegram accepts "r" (relative) alone or any combination of the time/date/weekday letters.
    if date_format and date_format != "r" and set(date_format) - set("tTdDwW"):
        raise EntityParseError("Invalid date format used")


def sort_entities(entities: list[JsonDict]) -> tuple[JsonDict, ...]:
    # Outer entities first; on equal spans a block quote encloses everything else.
    def key(entity: JsonDict) -> tuple[int, int, int]:
        quote = entity["type"] in {"blockquote", "expandable_blockquote"}
        return entity["offset"], -entity["length"], 0 if quote else 1

    return tuple(sorted(entities, key=key))


def plain_entities(entities: Sequence[JsonDict]) -> tuple[JsonDict, ...]:
    """Copy entity dicts so stored messages never share them with callers."""
    return tuple(dict(entity) for entity in entities)
