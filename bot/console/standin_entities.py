"""Formatted-text parsing for the Bot API stand-in: HTML, MarkdownV2 and legacy Markdown.

The parsers follow TDLib (the library behind the Bot API server): the same tags and
markup characters, the same resulting plain text and MessageEntity offsets (in UTF-16
code units), and the same error wording with byte offsets into the UTF-8 source.

One deliberate difference: in HTML, an "&" that does not start one of the entities
Telegram decodes (&lt; &gt; &amp; &quot; &#NNN; &#xHH;) is an error here, whereas
Telegram leaves it in the text literally. A bot that forgets to escape user input is
caught by the tests even when that input happens to contain no "<".
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]

# Resolves a user id from a tg://user?id=... link to a User object (or None if unknown).
UserResolver = Callable[[int], JsonDict | None]

# TDLib's is_space(): the characters that separate tag names and attributes.
_SPACES = " \t\r\n\v"
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


def _char_units(char: str) -> int:
    # Characters outside the BMP take a surrogate pair in UTF-16.
    return 2 if ord(char) > 0xFFFF else 1


def _byte_offset(source: str, index: int) -> int:
    # Telegram reports positions as byte offsets into the UTF-8 request text.
    return len(source[:index].encode("utf-8", "surrogatepass"))


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


def _link_entity(url: str, offset: int, length: int, resolve_user: UserResolver | None) -> JsonDict | None:
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


def _check_date_format(date_format: str) -> None:
    # Telegram accepts "r" (relative) alone or any combination of the time/date/weekday letters.
    if date_format and date_format != "r" and set(date_format) - set("tTdDwW"):
        raise EntityParseError("Invalid date format used")


def _sort(entities: list[JsonDict]) -> tuple[JsonDict, ...]:
    # Outer entities first; on equal spans a block quote encloses everything else.
    def key(entity: JsonDict) -> tuple[int, int, int]:
        quote = entity["type"] in {"blockquote", "expandable_blockquote"}
        return entity["offset"], -entity["length"], 0 if quote else 1

    return tuple(sorted(entities, key=key))


# --------------------------------------------------------------------------- HTML

_HTML_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span",
        "tg-spoiler", "tg-emoji", "tg-time", "code", "pre", "blockquote",
    }
)  # fmt: skip
_SIMPLE_HTML = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "pre": "pre",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


@dataclass
class _OpenTag:
    name: str
    attributes: dict[str, str]
    utf16_offset: int
    result_index: int


def _decode_html_entity(source: str, pos: int) -> tuple[str, int] | None:
    """Decode the character reference at source[pos] == "&" like TDLib; None if unsupported."""
    size = len(source)
    end = pos + 1
    if source.startswith("&#", pos):
        end += 1
        digits = "0123456789"
        base = 10
        if end < size and source[end] in "xX":
            end += 1
            digits, base = "0123456789abcdefABCDEF", 16
        start = end
        while end < size and source[end] in digits:
            end += 1
        if end == start or end - pos >= 10:
            return None
        code = int(source[start:end], base)
        if code == 0 or code >= 0x10FFFF:
            return None
        if 0xD800 <= code <= 0xDFFF:
            raise EntityParseError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            )
        char = chr(code)
    else:
        while end < size and source[end].isascii() and source[end].isalpha():
            end += 1
        decoded = _NAMED_ENTITIES.get(source[pos + 1 : end])
        if decoded is None:
            return None
        char = decoded
    if end < size and source[end] == ";":
        end += 1
    return char, end


def _html_entity_or_fail(source: str, pos: int) -> tuple[str, int]:
    decoded = _decode_html_entity(source, pos)
    if decoded is None:
        # Stricter than Telegram on purpose (see the module docstring).
        offset = _byte_offset(source, pos)
        raise EntityParseError(f'Unsupported HTML entity at byte offset {offset}: write "&" as "&amp;"')
    return decoded


_MARKUP_START = re.compile(r"[<&]")


def parse_html(source: str, *, resolve_user: UserResolver | None = None) -> FormattedText:
    """Parse Telegram's HTML subset into plain text and entities."""
    size = len(source)
    result: list[str] = []
    utf16 = 0
    entities: list[JsonDict] = []
    stack: list[_OpenTag] = []
    i = 0
    while i < size:
        char = source[i]
        if char == "&":
            decoded, i = _html_entity_or_fail(source, i)
            result.append(decoded)
            utf16 += _char_units(decoded)
            continue
        if char != "<":
            # Plain text up to the next tag or entity, taken in one piece.
            end = _MARKUP_START.search(source, i)
            stop = size if end is None else end.start()
            chunk = source[i:stop]
            result.append(chunk)
            utf16 += utf16_len(chunk)
            i = stop
            continue
        begin = i
        i += 1
        if i < size and source[i] == "/":
            i = _close_html_tag(source, begin, i + 1, stack, result, utf16, entities, resolve_user)
        else:
            tag, i = _open_html_tag(source, begin, i)
            tag.utf16_offset, tag.result_index = utf16, len(result)
            stack.append(tag)
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    return FormattedText("".join(result), _merge_pre_code(entities))


def _open_html_tag(source: str, begin: int, i: int) -> tuple[_OpenTag, int]:
    """Parse a start tag whose name starts at source[i]; return it and the index after ">"."""
    size = len(source)
    offset = _byte_offset(source, begin)
    name_start = i
    while i < size and source[i] not in _SPACES and source[i] != ">":
        i += 1
    if i >= size:
        raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
    name = source[name_start:i].lower()
    if name not in _HTML_TAGS:
        raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
    attributes: dict[str, str] = {}
    while True:
        while i < size and source[i] in _SPACES:
            i += 1
        if i >= size:
            raise EntityParseError(f'Unclosed start tag "{name}" at byte offset {offset}')
        if source[i] == ">":
            i += 1
            break
        attribute_start = i
        while i < size and source[i] not in _SPACES and source[i] not in "=>":
            i += 1
        attribute = source[attribute_start:i].lower()
        if not attribute:
            raise EntityParseError(f'Empty attribute name in the tag "{name}" at byte offset {offset}')
        while i < size and source[i] in _SPACES:
            i += 1
        if i >= size:
            raise EntityParseError(f'Unclosed start tag "{name}" at byte offset {offset}')
        if source[i] != "=":
            # An attribute without a value, such as <blockquote expandable>.
            attributes.setdefault(attribute, "")
            continue
        i += 1
        while i < size and source[i] in _SPACES:
            i += 1
        if i >= size:
            raise EntityParseError(f'Unclosed start tag "{name}" at byte offset {offset}')
        if source[i] in "'\"":
            quote = source[i]
            i += 1
            value: list[str] = []
            while i < size and source[i] != quote:
                if source[i] == "&":
                    decoded, i = _html_entity_or_fail(source, i)
                    value.append(decoded)
                    continue
                value.append(source[i])
                i += 1
            if i >= size:
                raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
            i += 1
            attributes[attribute] = "".join(value)
        else:
            token_start = i
            while i < size and ((source[i].isascii() and source[i].isalnum()) or source[i] in ".-"):
                i += 1
            if i >= size or (source[i] not in _SPACES and source[i] != ">"):
                token_offset = _byte_offset(source, token_start)
                raise EntityParseError(f"Unexpected end of name token at byte offset {token_offset}")
            attributes[attribute] = source[token_start:i].lower()
    _check_html_tag(name, attributes, offset)
    return _OpenTag(name, attributes, 0, 0), i


def _check_html_tag(name: str, attributes: dict[str, str], offset: int) -> None:
    if name == "span" and attributes.get("class") != "tg-spoiler":
        raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
    if name == "tg-emoji" and not re.fullmatch(r"[1-9]\d{0,18}", attributes.get("emoji-id", "")):
        raise EntityParseError(f"Invalid custom emoji identifier specified at byte offset {offset}")
    if name == "tg-time":
        if not re.fullmatch(r"\d{1,12}", attributes.get("unix", "")):
            raise EntityParseError(f"Invalid Unix time specified at byte offset {offset}")
        _check_date_format(attributes.get("format", ""))


def _close_html_tag(
    source: str,
    begin: int,
    i: int,
    stack: list[_OpenTag],
    result: list[str],
    utf16: int,
    entities: list[JsonDict],
    resolve_user: UserResolver | None,
) -> int:
    """Parse an end tag whose name starts at source[i]; emit its entity; return the next index."""
    size = len(source)
    offset = _byte_offset(source, begin)
    if not stack:
        raise EntityParseError(f"Unexpected end tag at byte offset {offset}")
    name_start = i
    while i < size and source[i] not in _SPACES and source[i] != ">":
        i += 1
    end_name = source[name_start:i].lower()
    while i < size and source[i] in _SPACES:
        i += 1
    if i >= size or source[i] != ">":
        raise EntityParseError(f"Unclosed end tag at byte offset {offset}")
    tag = stack.pop()
    if end_name and end_name != tag.name:
        raise EntityParseError(
            f'Unmatched end tag at byte offset {offset}, expected "</{tag.name}>", found "</{end_name}>"'
        )
    length = utf16 - tag.utf16_offset
    if length > 0:
        inner = "".join(result[tag.result_index :])
        entity = _html_entity(tag, length, inner, resolve_user)
        if entity is not None:
            entities.append(entity)
    return i + 1


def _html_entity(
    tag: _OpenTag, length: int, inner: str, resolve_user: UserResolver | None
) -> JsonDict | None:
    offset = tag.utf16_offset
    attributes = tag.attributes
    if tag.name in _SIMPLE_HTML:
        return {"type": _SIMPLE_HTML[tag.name], "offset": offset, "length": length}
    if tag.name == "a":
        # <a> without href links to its own text, as in TDLib.
        return _link_entity(attributes.get("href") or inner, offset, length, resolve_user)
    if tag.name == "code":
        entity: JsonDict = {"type": "code", "offset": offset, "length": length}
        css = attributes.get("class", "")
        if css.startswith("language-") and len(css) > len("language-"):
            entity["_language"] = css[len("language-") :]
        return entity
    if tag.name == "blockquote":
        kind = "expandable_blockquote" if "expandable" in attributes else "blockquote"
        return {"type": kind, "offset": offset, "length": length}
    if tag.name == "tg-emoji":
        return {
            "type": "custom_emoji",
            "offset": offset,
            "length": length,
            "custom_emoji_id": attributes["emoji-id"],
        }
    # tg-time
    entity = {
        "type": "date_time",
        "offset": offset,
        "length": length,
        "unix_time": int(attributes["unix"]),
    }
    if attributes.get("format"):
        entity["date_time_format"] = attributes["format"]
    return entity


def _merge_pre_code(entities: list[JsonDict]) -> tuple[JsonDict, ...]:
    """Fold <pre><code class="language-x"> into one pre entity with a language, as Telegram does."""
    merged: list[JsonDict] = []
    dropped: set[int] = set()
    for index, entity in enumerate(entities):
        language = entity.get("_language")
        if language is None:
            continue
        for other in entities:
            same_span = (other["offset"], other["length"]) == (entity["offset"], entity["length"])
            if other["type"] == "pre" and same_span and "language" not in other:
                other["language"] = language
                dropped.add(index)
                break
    for index, entity in enumerate(entities):
        if index not in dropped:
            merged.append({k: v for k, v in entity.items() if k != "_language"})
    return _sort(merged)


# --------------------------------------------------------------------------- MarkdownV2

_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MD_TYPE_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "pre_code": "PreCode",
    "text_url": "TextUrl",
    "custom_emoji": "CustomEmoji",
    "blockquote": "BlockQuote",
}


@dataclass
class _MdOpen:
    kind: str
    argument: str
    utf16_offset: int
    byte_offset: int
    result_index: int
    expandable: bool = False


class _MarkdownV2:
    """One parse of MarkdownV2 text; a class because the state is shared by many steps."""

    def __init__(self, source: str, resolve_user: UserResolver | None) -> None:
        self.source = source
        self.size = len(source)
        self.resolve_user = resolve_user
        self.result: list[str] = []
        self.utf16 = 0
        self.entities: list[JsonDict] = []
        self.stack: list[_MdOpen] = []
        # Nothing printed yet on the current output line: ">" may start a block quote.
        self.line_start = True
        # The previous source character was a newline: a line without ">" ends a block quote.
        self.after_newline = False

    def at(self, index: int) -> str:
        return self.source[index] if index < self.size else ""

    def error_end_of(self, entity: _MdOpen) -> EntityParseError:
        name = _MD_TYPE_NAMES[entity.kind]
        return EntityParseError(f"Can't find end of {name} entity at byte offset {entity.byte_offset}")

    def reserved(self, char: str) -> EntityParseError:
        return EntityParseError(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")

    def emit(self, char: str) -> None:
        self.result.append(char)
        self.utf16 += _char_units(char)
        self.line_start = char in "\r\n"
        self.after_newline = char == "\n"

    def in_code(self) -> bool:
        return bool(self.stack) and self.stack[-1].kind in {"code", "pre", "pre_code"}

    def quote(self) -> _MdOpen | None:
        return next((e for e in self.stack if e.kind == "blockquote"), None)

    def close_quote(self) -> None:
        quote = self.quote()
        assert quote is not None
        if self.stack[-1] is not quote:
            raise self.error_end_of(self.stack[-1])
        self.stack.pop()
        length = self.utf16 - quote.utf16_offset
        if length > 0:
            kind = "expandable_blockquote" if quote.expandable else "blockquote"
            self.entities.append({"type": kind, "offset": quote.utf16_offset, "length": length})

    def parse(self) -> FormattedText:
        i = 0
        while i < self.size:
            i = self.step(i)
        if self.quote() is not None and self.stack[-1].kind == "blockquote":
            self.close_quote()
        if self.stack:
            raise self.error_end_of(self.stack[-1])
        return FormattedText("".join(self.result), _sort(self.entities))

    def step(self, i: int) -> int:
        source = self.source
        char = source[i]
        code = self.in_code()
        if self.after_newline and not code:
            self.after_newline = False
            if char != ">" and self.quote() is not None:
                self.close_quote()
        if char == "\\" and 0 < ord(self.at(i + 1) or "\0") <= 126:
            self.emit(source[i + 1])
            return i + 2
        reserved = {"`"} if code else _MDV2_RESERVED
        if char not in reserved:
            self.emit(char)
            return i + 1
        if char == ">" and self.line_start:
            if self.quote() is None:
                self.stack.append(
                    _MdOpen("blockquote", "", self.utf16, _byte_offset(source, i), len(self.result))
                )
            return i + 1
        quote = self.quote()
        if (
            char == "|"
            and self.at(i + 1) == "|"
            and self.at(i + 2) in {"", "\n", "\r"}
            and quote is not None
            and self.stack[-1] is quote
        ):
            # "||" at the end of a quoted line makes the quote expandable.
            quote.expandable = True
            return i + 2
        if self.stack and self.is_end(self.stack[-1], i):
            return self.close(i)
        return self.open(i)

    def is_end(self, top: _MdOpen, i: int) -> bool:
        char, following = self.source[i], self.at(i + 1)
        ends = {
            "bold": char == "*",
            "italic": char == "_" and following != "_",
            "underline": char == "_" and following == "_",
            "strikethrough": char == "~",
            "spoiler": char == "|" and following == "|",
            "code": char == "`",
            "pre": char == "`" and following == "`" and self.at(i + 2) == "`",
            "pre_code": char == "`" and following == "`" and self.at(i + 2) == "`",
            "text_url": char == "]",
            "custom_emoji": char == "]",
        }
        return ends.get(top.kind, False)

    def open(self, i: int) -> int:
        source = self.source
        char = source[i]
        byte_offset = _byte_offset(source, i)
        argument = ""
        if char == "_" and self.at(i + 1) == "_":
            kind, i = "underline", i + 2
        elif char == "_":
            kind, i = "italic", i + 1
        elif char == "*":
            kind, i = "bold", i + 1
        elif char == "~":
            kind, i = "strikethrough", i + 1
        elif char == "|" and self.at(i + 1) == "|":
            kind, i = "spoiler", i + 2
        elif char == "[":
            kind, i = "text_url", i + 1
        elif char == "!" and self.at(i + 1) == "[":
            kind, i = "custom_emoji", i + 2
        elif char == "`" and self.at(i + 1) == "`" and self.at(i + 2) == "`":
            kind, i = "pre", i + 3
            language_end = i
            while language_end < self.size and source[language_end] not in _SPACES + "`":
                language_end += 1
            if language_end != i and language_end < self.size and source[language_end] != "`":
                kind, argument, i = "pre_code", source[i:language_end], language_end
            # One line break right after the opening fence (or the language) is not content.
            if self.at(i) in {"\n", "\r"}:
                pair = self.at(i + 1) in {"\n", "\r"} and self.at(i) != self.at(i + 1)
                i += 2 if pair else 1
        elif char == "`":
            kind, i = "code", i + 1
        else:
            raise self.reserved(char)
        self.stack.append(_MdOpen(kind, argument, self.utf16, byte_offset, len(self.result)))
        return i

    def close(self, i: int) -> int:
        top = self.stack.pop()
        empty = self.utf16 == top.utf16_offset
        entity: JsonDict | None = None
        offset, length = top.utf16_offset, self.utf16 - top.utf16_offset
        simple = {"bold", "italic", "underline", "strikethrough", "spoiler", "code"}
        if top.kind in simple:
            entity = {"type": top.kind, "offset": offset, "length": length}
            i += 2 if top.kind in {"underline", "spoiler"} else 1
        elif top.kind in {"pre", "pre_code"}:
            entity = {"type": "pre", "offset": offset, "length": length}
            if top.argument:
                entity["language"] = top.argument
            i += 3
        elif top.kind == "text_url":
            inner = "".join(self.result[top.result_index :])
            if self.at(i + 1) != "(":
                url, i = inner, i + 1
            else:
                url, i = self.read_url(i + 2)
            entity = _link_entity(url, offset, length, self.resolve_user)
        else:  # custom_emoji
            if self.at(i + 1) != "(":
                raise EntityParseError("The entity must contain a tg://emoji or tg://time URL")
            url, i = self.read_url(i + 2)
            entity = _emoji_or_time_entity(url, offset, length)
        if entity is not None and not empty:
            self.entities.append(entity)
        return i

    def read_url(self, start: int) -> tuple[str, int]:
        """Read a URL up to ")" with backslash escapes; return it and the index after ")"."""
        url: list[str] = []
        i = start
        while i < self.size and self.source[i] != ")":
            if self.source[i] == "\\" and 0 < ord(self.at(i + 1) or "\0") <= 126:
                url.append(self.source[i + 1])
                i += 2
                continue
            url.append(self.source[i])
            i += 1
        if i >= self.size:
            offset = _byte_offset(self.source, start)
            raise EntityParseError(f"Can't find end of a URL at byte offset {offset}")
        return "".join(url), i + 1


def _emoji_or_time_entity(url: str, offset: int, length: int) -> JsonDict:
    invalid = EntityParseError("Invalid tg://emoji or tg://time URL specified")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() != "tg" or parts.path not in {"", "/"}:
        raise invalid
    query = dict(urllib.parse.parse_qsl(parts.query))
    host = parts.netloc.lower()
    if host == "emoji":
        emoji_id = query.get("id", "")
        if not re.fullmatch(r"[1-9]\d{0,18}", emoji_id):
            raise invalid
        return {
            "type": "custom_emoji",
            "offset": offset,
            "length": length,
            "custom_emoji_id": emoji_id,
        }
    if host == "time":
        unix = query.get("unix", "")
        if not re.fullmatch(r"0|[1-9]\d{0,11}", unix):
            raise invalid
        date_format = query.get("format", "")
        _check_date_format(date_format)
        entity: JsonDict = {
            "type": "date_time",
            "offset": offset,
            "length": length,
            "unix_time": int(unix),
        }
        if date_format:
            entity["date_time_format"] = date_format
        return entity
    raise invalid


def parse_markdown_v2(source: str, *, resolve_user: UserResolver | None = None) -> FormattedText:
    """Parse MarkdownV2 text into plain text and entities."""
    return _MarkdownV2(source, resolve_user).parse()


# --------------------------------------------------------------------------- Markdown (legacy)


def parse_markdown(source: str, *, resolve_user: UserResolver | None = None) -> FormattedText:
    """Parse legacy Markdown (*bold*, _italic_, `code`, ```pre```, [text](url))."""
    size = len(source)

    def at(index: int) -> str:
        return source[index] if index < size else ""

    result: list[str] = []
    utf16 = 0
    entities: list[JsonDict] = []
    i = 0
    while i < size:
        char = source[i]
        if char == "\\" and at(i + 1) in {"_", "*", "`", "["}:
            result.append(source[i + 1])
            utf16 += 1
            i += 2
            continue
        if char not in "_*`[":
            result.append(char)
            utf16 += _char_units(char)
            i += 1
            continue
        begin = i
        end_char = "]" if char == "[" else char
        is_pre = False
        language = ""
        i += 1
        if char == "`" and at(i) == "`" and at(i + 1) == "`":
            i += 2
            is_pre = True
            language_end = i
            while language_end < size and source[language_end] not in _SPACES + "`":
                language_end += 1
            if language_end != i and language_end < size and source[language_end] != "`":
                language, i = source[i:language_end], language_end
            if at(i) in {"\n", "\r"}:
                pair = at(i + 1) in {"\n", "\r"} and at(i) != at(i + 1)
                i += 2 if pair else 1
        start_offset, start_index = utf16, len(result)
        while i < size and (
            source[i] != end_char or (is_pre and not (at(i + 1) == "`" and at(i + 2) == "`"))
        ):
            result.append(source[i])
            utf16 += _char_units(source[i])
            i += 1
        if i >= size:
            offset = _byte_offset(source, begin)
            raise EntityParseError(f"Can't find end of the entity starting at byte offset {offset}")
        length = utf16 - start_offset
        entity: JsonDict | None = None
        if char == "[":
            if at(i + 1) == "(":
                close = source.find(")", i + 2)
                close = size if close < 0 else close
                url, i = source[i + 2 : close], close
            else:
                url = "".join(result[start_index:])
            entity = _link_entity(url, start_offset, length, resolve_user)
        elif char == "`":
            entity = {"type": "pre" if is_pre else "code", "offset": start_offset, "length": length}
            if language:
                entity["language"] = language
        else:
            kind = "italic" if char == "_" else "bold"
            entity = {"type": kind, "offset": start_offset, "length": length}
        if entity is not None and length > 0:
            entities.append(entity)
        i += 3 if is_pre else 1
    return FormattedText("".join(result), _sort(entities))


def plain_entities(entities: Sequence[JsonDict]) -> tuple[JsonDict, ...]:
    """Copy entity dicts so stored messages never share them with callers."""
    return tuple(dict(entity) for entity in entities)
