"""Bot API specification and request validation for the stand-in.

Loads the machine-readable Bot API 10.0 specification and checks every request against
it: unknown methods, missing required parameters, the JSON type of each value
(recursively for objects), and the structure of reply markups with Telegram's own error
wording. Unknown parameters are ignored, as Telegram ignores them (python-telegram-bot
sends its default ``parse_mode`` even to methods without one, such as
editMessageReplyMarkup), and named in ``DecodedRequest.ignored``: the server records
them, so a test can still catch a misspelt parameter.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botapi_standin.text import UrlError, check_url

JsonDict = dict[str, Any]

SPEC_FILE_NAME = "bot-api-10.0.min.json"
# A copy of shared/telegram/bot-api-10.0.min.json, shipped in this package so the
# stand-in (and the console) runs anywhere.
SPEC_PATH = Path(__file__).with_name(SPEC_FILE_NAME)
SPEC_ENV_VAR = "TELEGRAM_BOT_API_SPEC"


class ApiError(Exception):
    """An error answer of the Bot API: HTTP status, description and optional parameters."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> JsonDict:
        """The JSON body Telegram sends with this error."""
        body: JsonDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(detail: str) -> ApiError:
    """A 400 error with Telegram's "Bad Request: " prefix."""
    return ApiError(400, f"Bad Request: {detail}")


# --------------------------------------------------------------------------- the specification


@dataclass(frozen=True)
class FieldSpec:
    """One parameter of a method or field of a type."""

    name: str
    types: tuple[str, ...]
    required: bool
    description: str = ""


@dataclass(frozen=True)
class MethodSpec:
    """One Bot API method."""

    name: str
    fields: Mapping[str, FieldSpec]
    returns: tuple[str, ...]


@dataclass(frozen=True)
class TypeSpec:
    """One Bot API object type; a union type (e.g. BotCommandScope) lists its subtypes."""

    name: str
    fields: Mapping[str, FieldSpec]
    subtypes: tuple[str, ...] = ()


@dataclass(frozen=True)
class BotApiSpec:
    """The parsed specification: methods and types by name."""

    version: str
    methods: Mapping[str, MethodSpec]
    types: Mapping[str, TypeSpec]
    _by_lower_name: Mapping[str, str] = field(default_factory=dict, repr=False)

    def find_method(self, name: str) -> MethodSpec | None:
        """Look a method up case-insensitively, as Telegram does."""
        exact = self._by_lower_name.get(name.lower())
        return self.methods[exact] if exact else None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BotApiSpec:
        """Build the specification from the decoded JSON document."""

        def fields_of(entry: Mapping[str, Any]) -> dict[str, FieldSpec]:
            return {
                f["name"]: FieldSpec(
                    f["name"], tuple(f["types"]), bool(f["required"]), f.get("description", "")
                )
                for f in entry.get("fields", [])
            }

        methods = {
            name: MethodSpec(name, fields_of(entry), tuple(entry.get("returns", [])))
            for name, entry in data["methods"].items()
        }
        types = {
            name: TypeSpec(name, fields_of(entry), tuple(entry.get("subtypes", [])))
            for name, entry in data["types"].items()
        }
        lower = {name.lower(): name for name in methods}
        return cls(str(data.get("version", "")), methods, types, lower)


def spec_candidates() -> list[Path]:
    """Where the specification file is looked for, in order."""
    here = Path(__file__).resolve()
    candidates = [here.parent / SPEC_FILE_NAME]
    env = os.environ.get(SPEC_ENV_VAR)
    if env:
        candidates.insert(0, Path(env))
    # The project keeps shared reference files next to (or inside) the repository.
    for root in (here.parents[1], here.parents[2]) if len(here.parents) > 2 else ():
        candidates.append(root / "shared" / "telegram" / SPEC_FILE_NAME)
    return candidates


@functools.cache
def load_spec(path: str | None = None) -> BotApiSpec:
    """Load (once) the Bot API specification from path or the first candidate that exists."""
    paths = [Path(path)] if path else spec_candidates()
    for candidate in paths:
        if candidate.is_file():
            return BotApiSpec.from_json(json.loads(candidate.read_text(encoding="utf-8")))
    tried = ", ".join(str(p) for p in paths)
    raise FileNotFoundError(f"Bot API specification not found (set {SPEC_ENV_VAR}); tried {tried}")


# --------------------------------------------------------------------------- request decoding


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass(frozen=True)
class RawRequest:
    """What the HTTP layer read: text values (form, query) and typed values (JSON body)."""

    strings: Mapping[str, str] = field(default_factory=dict)
    typed: Mapping[str, Any] = field(default_factory=dict)
    files: Mapping[str, UploadedFile] = field(default_factory=dict)


@dataclass(frozen=True)
class DecodedRequest:
    """Validated parameters plus the uploaded parts referenced as attach://<name>."""

    params: dict[str, Any]
    attachments: dict[str, UploadedFile]
    ignored: tuple[str, ...] = ()  # parameters the method does not have (Telegram ignores them)


# Telegram's wording when a required parameter is missing or empty.
_MISSING_WORDING = {
    "text": "message text is empty",
    "message_id": "message identifier is not specified",
    "photo": "there is no photo in the request",
    "document": "there is no document in the request",
    "voice": "there is no voice in the request",
    "audio": "there is no audio in the request",
    "video": "there is no video in the request",
    "animation": "there is no animation in the request",
    "sticker": "there is no sticker in the request",
    "video_note": "there is no video note in the request",
}

_SCALARS = frozenset({"Integer", "Float", "Boolean", "String"})
_INTEGER = re.compile(r"[+-]?\d+")


def missing_parameter(name: str) -> ApiError:
    """The 400 error for a required parameter that is absent or empty."""
    return bad_request(_MISSING_WORDING.get(name, f"{name} is empty"))


def _string_only(types: Sequence[str]) -> bool:
    return all(t in {"String", "InputFile"} for t in types)


def _decode_text(name: str, raw: str, types: Sequence[str]) -> Any:
    """Turn a form or query value into the JSON value its declared types call for."""
    if _string_only(types):
        # A String parameter is taken verbatim, never JSON-decoded ("123" stays a string).
        return raw
    if "Integer" in types and _INTEGER.fullmatch(raw.strip()):
        return int(raw)
    if "Float" in types:
        try:
            return float(raw)
        except ValueError:
            pass
    if "Boolean" in types and raw.strip().lower() in {"true", "false", "1", "0"}:
        return raw.strip().lower() in {"true", "1"}
    if "String" in types:
        return raw
    if set(types) <= _SCALARS:
        raise bad_request(f'field "{name}" must be of type {" or ".join(types)}')
    try:
        return json.loads(raw)
    except ValueError:
        if name == "reply_markup":
            raise bad_request("can't parse reply keyboard markup JSON object") from None
        if name in {"entities", "caption_entities"}:
            raise bad_request("can't parse entities JSON object") from None
        raise bad_request(f"can't parse {name} JSON object") from None


def _coerce_typed(name: str, value: Any, types: Sequence[str]) -> Any:
    """Accept a JSON body value the way Telegram does: strings stand for any scalar."""
    if isinstance(value, str) and not _string_only(types):
        return _decode_text(name, value, types)
    if _string_only(types) and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def decode_request(spec: BotApiSpec, method: MethodSpec, raw: RawRequest) -> DecodedRequest:
    """Check a request against its method's parameters; return typed parameters."""
    params: dict[str, Any] = {}
    attachments: dict[str, UploadedFile] = {}
    for name, upload in raw.files.items():
        known = method.fields.get(name)
        if known is None:
            # Parts with other names are uploads referenced as attach://<name>.
            attachments[name] = upload
        elif "InputFile" in known.types:
            params[name] = upload
        else:
            raise bad_request(f'field "{name}" can\'t be a file')
    values: list[tuple[str, Any, bool]] = [(n, v, True) for n, v in raw.strings.items()]
    values += [(n, v, False) for n, v in raw.typed.items()]
    checked: set[str] = set()
    ignored: list[str] = []
    for name, value, is_text in values:
        known = method.fields.get(name)
        if known is None:
            ignored.append(name)
            continue
        if value is None or (value == "" and not _string_only(known.types)):
            continue  # Telegram treats null and empty values as absent.
        if is_text:
            params[name] = _decode_text(name, value, known.types)
            if isinstance(params[name], dict | list) and (id(spec), method.name, name, value) in _VALID_JSON:
                checked.add(name)
        else:
            params[name] = _coerce_typed(name, value, known.types)
    for known in method.fields.values():
        if known.required and (params.get(known.name) is None or params[known.name] == ""):
            raise missing_parameter(known.name)
    checker = Validator(spec)
    for name, value in params.items():
        if name in checked:
            continue
        checker.check_parameter(name, value, method.fields[name].types)
        raw_text = raw.strings.get(name)
        if raw_text is not None and isinstance(value, dict | list):
            _remember_valid((id(spec), method.name, name, raw_text))
    return DecodedRequest(params, attachments, tuple(ignored))


# JSON-encoded parameters already found valid (a bot sends the same keyboard again and
# again), by specification, method, parameter and text: checking a keyboard button by
# button is most of a request's work here. Bounded; the oldest half is dropped when full.
_VALID_JSON: dict[tuple[int, str, str, str], None] = {}
_VALID_JSON_MAX = 1024


def _remember_valid(key: tuple[int, str, str, str]) -> None:
    if len(_VALID_JSON) >= _VALID_JSON_MAX:
        for old in list(_VALID_JSON)[: _VALID_JSON_MAX // 2]:
            del _VALID_JSON[old]
    _VALID_JSON[key] = None


# --------------------------------------------------------------------------- value validation

_MARKUP_TYPES = frozenset(
    {"InlineKeyboardMarkup", "ReplyKeyboardMarkup", "ReplyKeyboardRemove", "ForceReply"}
)
# An inline keyboard button must use exactly one of these.
INLINE_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_REPLY_BUTTON_REQUESTS = (
    "request_users",
    "request_chat",
    "request_managed_bot",
    "request_contact",
    "request_location",
    "request_poll",
    "web_app",
)
_DISCRIMINATOR = re.compile(r"(?:must be|always)\s+[\"“*]?([A-Za-z_]+)")


class Validator:
    """Checks decoded values against the types named in the specification."""

    def __init__(self, spec: BotApiSpec) -> None:
        self.spec = spec

    def check_parameter(self, name: str, value: Any, types: Sequence[str]) -> None:
        """Raise a 400 ApiError if value does not fit any of types."""
        error = self.first_error(value, types, name)
        if error is not None:
            raise bad_request(error)

    def first_error(self, value: Any, types: Sequence[str], path: str) -> str | None:
        """None if value fits one of types, else the error for the first of them."""
        if _MARKUP_TYPES & set(types):
            return self.markup_error(value, types, path)
        errors = [self.type_error(value, t, path) for t in types]
        if any(error is None for error in errors):
            return None
        return errors[0]

    def type_error(self, value: Any, type_name: str, path: str) -> str | None:
        """None if value is a valid type_name, else why not."""
        if type_name.startswith("Array of "):
            if not isinstance(value, list):
                return f'field "{path}" must be an Array'
            inner = type_name.removeprefix("Array of ")
            for index, item in enumerate(value):
                error = self.first_error(item, [inner], f"{path}[{index}]")
                if error is not None:
                    return error
            return None
        if type_name in _SCALARS:
            return None if _is_scalar(value, type_name) else _wrong_type(path, type_name)
        if type_name == "InputFile":
            return None if isinstance(value, UploadedFile) else f'field "{path}" must be a file'
        if type_name in _MARKUP_TYPES:
            return self.markup_error(value, [type_name], path)
        spec = self.spec.types.get(type_name)
        if spec is None:
            return None  # a type the specification does not describe: nothing to check
        return self.object_error(value, spec, path)

    def object_error(self, value: Any, spec: TypeSpec, path: str) -> str | None:
        """None if value is a valid object of spec (or of one of its subtypes)."""
        if not isinstance(value, dict):
            return _wrong_type(path, spec.name)
        if spec.subtypes:
            return self.union_error(value, spec, path)
        for known in spec.fields.values():
            if known.required and known.name not in value:
                return f'field "{path}.{known.name}" is required'
        for key, item in value.items():
            entry = spec.fields.get(key)
            if entry is None:
                return f'unknown field "{path}.{key}"'
            error = self.first_error(item, entry.types, f"{path}.{key}")
            if error is not None:
                return error
            expected = _discriminator(entry)
            if expected is not None and item != expected:
                return f'field "{path}.{key}" must be "{expected}"'
        return None

    def union_error(self, value: JsonDict, spec: TypeSpec, path: str) -> str | None:
        """Check a union value against the subtype its discriminator names."""
        for subtype_name in spec.subtypes:
            subtype = self.spec.types[subtype_name]
            for key in ("type", "status", "source"):
                known = subtype.fields.get(key)
                if known is not None and _discriminator(known) == value.get(key):
                    return self.object_error(value, subtype, path)
        errors = [self.object_error(value, self.spec.types[s], path) for s in spec.subtypes]
        if any(error is None for error in errors):
            return None
        return f'field "{path}" is not a valid {spec.name}'

    # -- reply markup, with Telegram's own error wording

    def markup_error(self, value: Any, types: Sequence[str], path: str) -> str | None:
        """Validate a reply_markup value against the markup types allowed for it."""
        if not isinstance(value, dict):
            return "can't parse reply keyboard markup JSON object"
        allowed = set(types)
        if "inline_keyboard" in value and "InlineKeyboardMarkup" in allowed:
            return self.inline_keyboard_error(value, path)
        if "keyboard" in value and "ReplyKeyboardMarkup" in allowed:
            return self.reply_keyboard_error(value, path)
        for key, type_name in (
            ("remove_keyboard", "ReplyKeyboardRemove"),
            ("force_reply", "ForceReply"),
        ):
            if key in value and type_name in allowed:
                if value[key] is not True:
                    return "can't parse reply keyboard markup JSON object"
                return self.object_error(value, self.spec.types[type_name], path)
        if allowed == {"InlineKeyboardMarkup"}:
            return "can't parse inline keyboard markup JSON object"
        return "can't parse reply keyboard markup JSON object"

    def inline_keyboard_error(self, markup: JsonDict, path: str) -> str | None:
        """Validate an InlineKeyboardMarkup and each of its buttons."""
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            return 'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
        for key in markup:
            if key != "inline_keyboard":
                return f'unknown field "{path}.{key}"'
        button_spec = self.spec.types["InlineKeyboardButton"]
        for row in rows:
            for button in row:
                error = self.inline_button_error(button, button_spec)
                if error is not None:
                    return error
        return None

    def inline_button_error(self, button: Any, spec: TypeSpec) -> str | None:
        """Validate one InlineKeyboardButton: text plus exactly one action field."""
        prefix = "can't parse inline keyboard button: "
        if not isinstance(button, dict):
            return prefix + "InlineKeyboardButton must be an Object"
        if "text" not in button:
            return prefix + 'Can\'t find field "text"'
        if not isinstance(button["text"], str):
            return prefix + 'Field "text" must be of type String'
        error = self.object_error(button, spec, "InlineKeyboardButton")
        if error is not None:
            return prefix + error
        actions = [key for key in INLINE_BUTTON_ACTIONS if key in button]
        if not actions:
            return prefix + "Text buttons are unallowed in the inline keyboard"
        if len(actions) > 1:
            return prefix + "exactly one of the optional fields must be used, got " + ", ".join(actions)
        if "callback_data" in button and not 1 <= len(button["callback_data"].encode()) <= 64:
            return "BUTTON_DATA_INVALID"
        if "url" in button:
            try:
                check_url(button["url"])
            except UrlError as exc:
                return f"inline keyboard button URL '{button['url']}' is invalid: {exc}"
        web_app_url = (button.get("web_app") or {}).get("url")
        if web_app_url is not None and not str(web_app_url).lower().startswith("https://"):
            return (
                f"inline keyboard button Web App URL '{web_app_url}' is invalid: Only HTTPS links are allowed"
            )
        return None

    def reply_keyboard_error(self, markup: JsonDict, path: str) -> str | None:
        """Validate a ReplyKeyboardMarkup; buttons may be strings or KeyboardButton objects."""
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            return 'field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
        spec = self.spec.types["ReplyKeyboardMarkup"]
        rest = {key: value for key, value in markup.items() if key != "keyboard"}
        error = self.object_error({**rest, "keyboard": []}, spec, path)
        if error is not None:
            return error
        button_spec = self.spec.types["KeyboardButton"]
        prefix = "can't parse keyboard button: "
        for row in rows:
            for button in row:
                if isinstance(button, str):
                    continue  # Telegram accepts a bare string as a text button
                if not isinstance(button, dict):
                    return prefix + "KeyboardButton must be an Object"
                if not isinstance(button.get("text"), str):
                    return prefix + 'Field "text" must be of type String'
                error = self.object_error(button, button_spec, "KeyboardButton")
                if error is not None:
                    return prefix + error
                if sum(key in button for key in _REPLY_BUTTON_REQUESTS) > 1:
                    return prefix + "at most one of the optional fields can be used"
        return None


def _is_scalar(value: Any, type_name: str) -> bool:
    if type_name == "Integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "Float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if type_name == "Boolean":
        return isinstance(value, bool)
    return isinstance(value, str)


def _wrong_type(path: str, type_name: str) -> str:
    return f'field "{path}" must be of type {type_name}'


def _discriminator(known: FieldSpec) -> str | None:
    """The fixed value of a union subtype's tag field ("type", "status", "source")."""
    if known.name not in {"type", "status", "source"} or known.types != ("String",):
        return None
    match = _DISCRIMINATOR.search(known.description)
    return match.group(1) if match else None
