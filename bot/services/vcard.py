"""Contacts from .vcf files (vCard 2.1, 3.0 and 4.0), read with vobject."""

from __future__ import annotations

import logging

import vobject

log = logging.getLogger(__name__)
# vobject logs every unreadable line at ERROR, user content included; we report instead.
logging.getLogger("vobject").setLevel(logging.CRITICAL)
logging.getLogger("vobject.base").setLevel(logging.CRITICAL)

MAX_CONTACTS = 500


def parse_vcards(content: bytes) -> list[dict[str, str]]:
    """Name, phone, e-mail, company and title of each contact; unreadable cards are skipped."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("gb18030", errors="replace")
    contacts: list[dict[str, str]] = []
    try:
        for item in vobject.readComponents(text, ignoreUnreadable=True):
            values = _contact(item)
            if values:
                contacts.append(values)
            if len(contacts) >= MAX_CONTACTS:
                break
    except Exception as error:  # vobject raises many kinds of parse errors on broken files
        log.info("vcard parse stopped: %s", error)
    return contacts


def _cjk(text: str) -> bool:
    return all("\u3400" <= ch <= "\u9fff" or ch.isspace() for ch in text)


def _first(item: object, name: str) -> str:
    child = getattr(item, name, None)
    value = getattr(child, "value", None)
    return value.strip() if isinstance(value, str) else ""


def _contact(item: object) -> dict[str, str]:
    name = _first(item, "fn")
    if not name:
        n = getattr(getattr(item, "n", None), "value", None)
        if n is not None:
            parts = [p for p in (n.family, n.given) if isinstance(p, str) and p]
            # Chinese names run together (张伟); Latin ones are "Family Given" in N.
            joiner = "" if all(_cjk(part) for part in parts) else " "
            name = joiner.join(parts).strip()
    values = {"name": name}
    if phone := _first(item, "tel"):
        values["phone"] = phone
    if email := _first(item, "email"):
        values["email"] = email
    org = getattr(getattr(item, "org", None), "value", None)
    if isinstance(org, list) and org:
        values["company"] = str(org[0]).strip()
    elif isinstance(org, str):
        values["company"] = org.strip()
    if title := _first(item, "title"):
        values["title"] = title
    return {k: v for k, v in values.items() if v}
