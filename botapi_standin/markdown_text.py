"""MarkdownV2 and legacy Markdown parse modes for the stand-in, following TDLib."""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

from botapi_standin.text import (
    SPACES,
    EntityParseError,
    FormattedText,
    JsonDict,
    UserResolver,
    char_units,
    check_date_format,
    link_entity,
    sort_entities,
    utf8_offset,
)

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
        self.utf16 += char_units(char)
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
        return FormattedText("".join(self.result), sort_entities(self.entities))

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
                    _MdOpen("blockquote", "", self.utf16, utf8_offset(source, i), len(self.result))
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
        byte_offset = utf8_offset(source, i)
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
            while language_end < self.size and source[language_end] not in SPACES + "`":
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
            entity = link_entity(url, offset, length, self.resolve_user)
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
            offset = utf8_offset(self.source, start)
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
        check_date_format(date_format)
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
            utf16 += char_units(char)
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
            while language_end < size and source[language_end] not in SPACES + "`":
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
            utf16 += char_units(source[i])
            i += 1
        if i >= size:
            offset = utf8_offset(source, begin)
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
            entity = link_entity(url, start_offset, length, resolve_user)
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
    return FormattedText("".join(result), sort_entities(entities))
