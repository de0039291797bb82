"""The small tree of expected errors; each becomes a friendly reply in the user's language."""

from __future__ import annotations

from typing import Any


class SalesbotError(Exception):
    """An expected failure with a catalogue key for the reply."""

    key = "error.generic"

    def __init__(self, key: str | None = None, **params: Any) -> None:
        self.key = key or type(self).key
        self.params = params
        super().__init__(self.key)


class NotAllowed(SalesbotError):
    """The actor may not do this (or see this)."""

    key = "error.not_allowed"


class NotFound(SalesbotError):
    """The thing asked for does not exist, or no longer does."""

    key = "error.stale"


class Stale(SalesbotError):
    """A button or link that is no longer valid."""

    key = "error.stale"


class InvalidInput(SalesbotError):
    """What the user typed cannot be used; the flow stays where it was."""

    key = "error.invalid"


class Busy(SalesbotError):
    """The database stayed locked or unreachable after retries."""

    key = "error.busy"


class FieldErrors(InvalidInput):
    """Several fields of one form could not be used: each field's key, and why (its InvalidInput).

    Nothing of the form is applied, so the user corrects those fields and sends it again.
    """

    key = "error.form"

    def __init__(self, errors: dict[str, InvalidInput]) -> None:
        super().__init__(count=len(errors))
        self.errors = errors


class Changed(SalesbotError):
    """The record was changed by someone else (or elsewhere) since the user opened it."""

    key = "error.changed"
