"""Where a plain message goes: a form or playbook in progress, a search, the customer's rep.

Telegram delivers text, files and shared contacts without a command; these rules say what
each means for the user who sent it.
"""

from __future__ import annotations

from enum import StrEnum

from bot.domain.access import Actor, Role

SEARCH_MAX = 100  # longer text is most likely a note typed without opening a card


class Doing(StrEnum):
    """What the user has in progress."""

    NOTHING = "nothing"
    PLAYBOOK = "playbook"  # a playbook run: it takes typed answers only
    FORM = "form"  # any other multi-step form


class TextGoes(StrEnum):
    """Where a typed text goes."""

    PLAYBOOK = "playbook"
    FORM = "form"
    MENU = "menu"  # staff without a team have nothing to search
    TOO_LONG = "too_long"
    SEARCH = "search"
    REP = "rep"  # a customer's message, relayed to their rep
    INTRO = "intro"  # a stranger: what this bot is


class MediaGoes(StrEnum):
    """Where a photo, voice note or file goes."""

    INTRO = "intro"
    TEXT_ONLY = "text_only"  # customers reach their rep with text
    PLAYBOOK = "playbook"  # a playbook expects text: say so and ask again
    FORM = "form"
    IMPORT = "import"  # a file outside any form: contacts to import
    OPEN_CARD_FIRST = "open_card_first"


def where_text_goes(actor: Actor, doing: Doing, text: str) -> TextGoes:
    """The form in progress first; otherwise staff search, customers reach their rep."""
    if not actor.is_staff:
        return TextGoes.REP if actor.role is Role.CUSTOMER else TextGoes.INTRO
    if doing is Doing.PLAYBOOK:
        return TextGoes.PLAYBOOK
    if doing is Doing.FORM:
        return TextGoes.FORM
    if actor.team_id is None and not actor.is_admin:
        return TextGoes.MENU
    if len(text.strip()) > SEARCH_MAX:
        return TextGoes.TOO_LONG
    return TextGoes.SEARCH


def where_media_goes(actor: Actor, doing: Doing, *, is_document: bool) -> MediaGoes:
    """Attach a file to the form in progress, or import contacts from a document."""
    if not actor.is_staff:
        return MediaGoes.INTRO if actor.role is Role.STRANGER else MediaGoes.TEXT_ONLY
    if doing is Doing.PLAYBOOK:
        return MediaGoes.PLAYBOOK
    if doing is Doing.FORM:
        return MediaGoes.FORM
    return MediaGoes.IMPORT if is_document else MediaGoes.OPEN_CARD_FIRST
