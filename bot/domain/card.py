"""The customer profile card: its sections, fields, stages and grades, and how input is checked."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from bot.domain.errors import InvalidInput


class Section(StrEnum):
    """The five kinds of record of a profile card (METHODOLOGY §6)."""

    BASIC = "basic"
    BUSINESS = "business"
    PERSONAL = "personal"
    LOGISTICS = "logistics"
    HISTORY = "history"


class Stage(StrEnum):
    """The seven steps of customer development, plus the two endings."""

    FIND = "find"
    EVALUATE = "evaluate"
    APPROACH = "approach"
    PRESENT = "present"
    OBJECTIONS = "objections"
    CLOSING = "closing"
    AFTER_SALES = "after_sales"
    WON = "won"
    LOST = "lost"


GRADES = ("A", "B", "C")

SOURCE_CHANNELS = (
    "acquaintance",
    "business_contact",
    "advertising",
    "directory",
    "press",
    "competitor",
    "referral",
    "internet",
    "other",
)

CONTACT_CHANNELS = ("telegram", "phone", "wechat", "email", "visit")

GENDERS = ("female", "male")

LANGUAGES = ("zh", "en")

PURCHASE_KINDS = ("consumable", "durable")  # what the customer buys: the 90-day care text differs


class Kind(StrEnum):
    """How a field's value is typed in and checked."""

    TEXT = "text"
    LONG_TEXT = "long_text"
    NAME = "name"
    PHONE = "phone"
    EMAIL = "email"
    DATE = "date"
    CHOICE = "choice"
    DAYS = "days"
    SCORE = "score"
    TAGS = "tags"
    TIMEZONE = "timezone"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of the card."""

    key: str
    section: Section
    kind: Kind
    column: bool  # a real column; otherwise kept in the flexible `extra` storage
    choices: tuple[str, ...] = ()
    max_length: int = 200


def _f(
    key: str,
    section: Section,
    kind: Kind = Kind.TEXT,
    *,
    column: bool = False,
    choices: tuple[str, ...] = (),
    max_length: int = 200,
) -> FieldSpec:
    return FieldSpec(key, section, kind, column, choices, max_length)


B, BU, P, L = Section.BASIC, Section.BUSINESS, Section.PERSONAL, Section.LOGISTICS

# The order here is the order on the card and in exports.
FIELDS: tuple[FieldSpec, ...] = (
    _f("name", B, Kind.NAME, column=True, max_length=100),
    _f("nickname", B, column=True, max_length=100),
    _f("gender", B, Kind.CHOICE, column=True, choices=GENDERS),
    _f("phone", B, Kind.PHONE, column=True),
    _f("email", B, Kind.EMAIL, column=True),
    _f("company", B, column=True),
    _f("title", B, column=True, max_length=100),
    _f("address", B, max_length=300),
    _f("source_channel", B, Kind.CHOICE, column=True, choices=SOURCE_CHANNELS),
    _f("tags", B, Kind.TAGS, column=True),
    _f("industry", BU),
    _f("company_type", BU),
    _f("annual_sales", BU),
    _f("fiscal_year", BU),
    _f("company_plans", BU, Kind.LONG_TEXT, max_length=1000),
    _f("products_used", BU, Kind.LONG_TEXT, max_length=1000),
    _f("purchase_kind", BU, Kind.CHOICE, choices=PURCHASE_KINDS),
    _f("decision_makers", BU),
    _f("credit", BU),
    _f("pricing", BU),
    _f("q_need", BU, Kind.SCORE, column=True),
    _f("q_volume", BU, Kind.SCORE, column=True),
    _f("q_power", BU, Kind.SCORE, column=True),
    _f("q_credit", BU, Kind.SCORE, column=True),
    _f("q_authority", BU, Kind.SCORE, column=True),
    _f("birthday", P, Kind.DATE, column=True),
    _f("hometown", P),
    _f("education", P),
    _f("personality", P),
    _f("hobbies", P, Kind.LONG_TEXT, max_length=1000),
    _f("family", P, Kind.LONG_TEXT, max_length=1000),
    _f("anniversaries", P),
    _f("favourite_color", P),
    _f("taboos", P, Kind.LONG_TEXT, max_length=1000),
    _f("preferred_channel", L, Kind.CHOICE, column=True, choices=CONTACT_CHANNELS),
    _f("contact_every_days", L, Kind.DAYS, column=True),
    _f("delivery_address", L, max_length=300),
    _f("delivery_priority", L),
    _f("transport", L),
    _f("timezone", L, Kind.TIMEZONE, column=True),
    _f("language", L, Kind.CHOICE, column=True, choices=LANGUAGES),
)

FIELDS_BY_KEY: dict[str, FieldSpec] = {spec.key: spec for spec in FIELDS}
QUALIFICATION = ("q_need", "q_volume", "q_power", "q_credit", "q_authority")
# Fields the guided "new customer" form asks for, in order.
NEW_CUSTOMER_FORM = ("name", "phone", "company", "source_channel")


def fields_of(section: Section) -> tuple[FieldSpec, ...]:
    """The editable fields of a section, in card order."""
    return tuple(spec for spec in FIELDS if spec.section is section)


def field(key: str) -> FieldSpec:
    """Look up a field; unknown keys are bad input (forged buttons end here)."""
    try:
        return FIELDS_BY_KEY[key]
    except KeyError:
        raise InvalidInput("error.unknown_field") from None


_SPACES = re.compile(r"\s+")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def clean_text(text: str) -> str:
    """Normalise width and whitespace the way people expect (全角 → half-width, one space)."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def has_letters(text: str) -> bool:
    """Whether the text has at least one letter or digit (not only emoji or punctuation)."""
    return any(unicodedata.category(ch)[0] in ("L", "N") for ch in text)


def check_name(text: str, *, max_length: int = 100) -> str:
    """A customer's name: not empty, not only emoji, not absurdly long."""
    name = clean_text(text)
    if not name:
        raise InvalidInput("error.name_empty")
    if not has_letters(name):
        raise InvalidInput("error.name_no_letters")
    if len(name) > max_length:
        raise InvalidInput("error.too_long", limit=max_length, length=len(name))
    return name


def check_text(text: str, *, max_length: int) -> str:
    """Free text for a field: trimmed and within its length."""
    value = text.strip()
    if not value:
        raise InvalidInput("error.empty")
    if len(value) > max_length:
        raise InvalidInput("error.too_long", limit=max_length, length=len(value))
    return value


def check_phone(text: str, *, region: str = "CN") -> tuple[str, str]:
    """A phone number → (display form, digits for search)."""
    raw = clean_text(text)
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise InvalidInput("error.phone") from None
    if not phonenumbers.is_possible_number(number):
        raise InvalidInput("error.phone")
    shown = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return shown, f"{number.country_code}{number.national_number}"


def phone_digits(text: str) -> str:
    """Digits of a phone query, for matching however the number was typed."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isdigit())


def check_email(text: str) -> str:
    """An e-mail address, lower-cased."""
    value = clean_text(text).lower()
    if len(value) > 200 or not _EMAIL.match(value):
        raise InvalidInput("error.email")
    return value


def check_days(text: str) -> int:
    """A contact rhythm in days, 1 to 365."""
    value = clean_text(text)
    if not value.isdigit() or not 1 <= int(value) <= 365:
        raise InvalidInput("error.days")
    return int(value)


def check_score(text: str) -> int:
    """A qualification score, 1 to 5."""
    value = clean_text(text)
    if value not in {"1", "2", "3", "4", "5"}:
        raise InvalidInput("error.score")
    return int(value)


def check_timezone(text: str) -> str:
    """An IANA timezone name such as Asia/Shanghai."""
    value = clean_text(text)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput("error.timezone") from None
    return value


def check_tags(text: str) -> list[str]:
    """Tags separated by commas, spaces or 、; each kept once, without a leading #."""
    parts = re.split(r"[,\s，、;；]+", clean_text(text))
    tags: list[str] = []
    for part in parts:
        tag = part.lstrip("#").strip()
        if tag and tag not in tags:
            if len(tag) > 30:
                raise InvalidInput("error.too_long", limit=30, length=len(tag))
            tags.append(tag)
    if not tags:
        raise InvalidInput("error.empty")
    if len(tags) > 20:
        raise InvalidInput("error.too_many_tags", limit=20)
    return tags


def check_choice(spec: FieldSpec, value: str) -> str:
    """A value that must be one of the field's choices (buttons send these)."""
    if value not in spec.choices:
        raise InvalidInput("error.unknown_choice")
    return value


def qualification_total(values: dict[str, Any]) -> int | None:
    """Sum of the five qualification factors, or None when none is scored."""
    scores = [values.get(key) for key in QUALIFICATION]
    known = [score for score in scores if isinstance(score, int)]
    return sum(known) if known else None


# ---------------------------------------------------------------- what a playbook may write

# How a playbook writes a field. Free text a rep typed is only ever added to (a dated
# line) or filled when empty; a value picked from a list may be replaced by a new pick.
APPEND, FILL, REPLACE = "append", "fill", "replace"
WRITE_MODES = (APPEND, FILL, REPLACE)
_FREE_TEXT = (Kind.TEXT, Kind.LONG_TEXT)
_PICKED = (Kind.CHOICE, Kind.SCORE, Kind.DAYS, Kind.TIMEZONE)
APPENDED_MIN = 4  # characters of an addition worth keeping when the field is nearly full


def write_modes(spec: FieldSpec) -> tuple[str, ...]:
    """The ways a playbook may write a field, the default first."""
    if spec.kind in _FREE_TEXT:
        return (APPEND, FILL)
    if spec.kind in _PICKED:
        return (REPLACE, FILL)
    return (FILL,)


def write_mode(spec: FieldSpec, mode: str | None) -> str:
    """The mode a playbook's write uses: the one its step names, or the field's default."""
    return mode or write_modes(spec)[0]


def _same(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def merged_value(spec: FieldSpec, current: str | None, new: str, *, mode: str, today: date) -> str | None:
    """What a playbook writes to a field, or None to leave the field as it is.

    `append` adds a line dated `today` under what is there, unless the text is there
    already; when the field's length would be exceeded, the addition is shortened,
    never the text already in the field. `fill` writes only an empty field. `replace`
    is for fields whose value is picked from a list; a playbook asking it of free text
    is a programming error (the checker refuses such files).
    """
    if mode not in write_modes(spec):
        raise ValueError(f"a playbook may not {mode} the field {spec.key}")
    text, existing = new.strip(), (current or "").strip()
    if not text:
        return None
    if mode == FILL:
        return None if existing else text
    if mode == REPLACE:
        return text
    if _same(text) in _same(existing):
        return None
    line = f"{today.isoformat()} {text}"
    head = f"{existing}\n" if existing else ""
    if len(head) + len(line) <= spec.max_length:
        return head + line
    room = spec.max_length - len(head)
    if room < len(today.isoformat()) + 1 + APPENDED_MIN + 1:
        return None
    return head + line[: room - 1] + "…"


def stage_after_lost_deal(current: str, *, paying: bool) -> Stage:
    """Where a lost deal leaves a customer: one who has bought stays a customer."""
    if not paying:
        return Stage.LOST
    if current in (Stage.WON, Stage.AFTER_SALES):
        return Stage(current)
    return Stage.AFTER_SALES
