"""HTML parse mode for the stand-in, following TDLib: tags, entities, error wording.

One deliberate difference: an "&" that does not start one of the entities Telegram
decodes (&lt; &gt; &amp; &quot; &#NNN; &#xHH;) is an error here, whereas Telegram leaves
it in the text literally. A bot that forgets to escape user input is caught by the tests
even when that input happens to contain no "<".
"""

from __future__ import annotations

import re
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
    utf16_len,
)

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
        offset = utf8_offset(source, pos)
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
            utf16 += char_units(decoded)
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
    offset = utf8_offset(source, begin)
    name_start = i
    while i < size and source[i] not in SPACES and source[i] != ">":
        i += 1
    if i >= size:
        raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
    name = source[name_start:i].lower()
    if name not in _HTML_TAGS:
        raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
    attributes: dict[str, str] = {}
    while True:
        while i < size and source[i] in SPACES:
            i += 1
        if i >= size:
            raise EntityParseError(f'Unclosed start tag "{name}" at byte offset {offset}')
        if source[i] == ">":
            i += 1
            break
        attribute_start = i
        while i < size and source[i] not in SPACES and source[i] not in "=>":
            i += 1
        attribute = source[attribute_start:i].lower()
        if not attribute:
            raise EntityParseError(f'Empty attribute name in the tag "{name}" at byte offset {offset}')
        while i < size and source[i] in SPACES:
            i += 1
        if i >= size:
            raise EntityParseError(f'Unclosed start tag "{name}" at byte offset {offset}')
        if source[i] != "=":
            # An attribute without a value, such as <blockquote expandable>.
            attributes.setdefault(attribute, "")
            continue
        i += 1
        while i < size and source[i] in SPACES:
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
            if i >= size or (source[i] not in SPACES and source[i] != ">"):
                token_offset = utf8_offset(source, token_start)
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
        check_date_format(attributes.get("format", ""))


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
    offset = utf8_offset(source, begin)
    if not stack:
        raise EntityParseError(f"Unexpected end tag at byte offset {offset}")
    name_start = i
    while i < size and source[i] not in SPACES and source[i] != ">":
        i += 1
    end_name = source[name_start:i].lower()
    while i < size and source[i] in SPACES:
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
        return link_entity(attributes.get("href") or inner, offset, length, resolve_user)
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
    return sort_entities(merged)
