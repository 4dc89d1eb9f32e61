"""Keyfob's own errors: what went wrong, in terms of the domain, never of HTTP.

Each carries a stable ``code``, a ``message`` for whoever asked and ``details``; the web
layer (``keyfob.web.errors``) is the one place that turns them into status codes.
Messages and details must never carry a secret: they reach the caller and the logs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class KeyfobError(Exception):
    def __init__(
        self, code: str, message: str, details: Any = None, *, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        # Seconds after which the same request may succeed as it is.
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class Malformed(KeyfobError):
    """The request cannot be read: not JSON, not the form, a cursor we never issued."""


class Forbidden(KeyfobError):
    """Understood, and not allowed for this caller."""


class NotFound(KeyfobError):
    """No such thing, or none of this tenant's."""


class Conflict(KeyfobError):
    """The thing is in a state that does not allow this now."""


class Lapsed(KeyfobError):
    """It existed and no longer serves: used, expired, too old."""


class TooLarge(KeyfobError):
    """The request is over a size limit."""


class UnsupportedFormat(KeyfobError):
    """The request's media type is not one this operation reads."""


class Invalid(KeyfobError):
    """Well-formed, and wrong: a value fails its rules, or an app refuses a credential."""


class UpstreamFailed(KeyfobError):
    """A provider or app answered badly or not at all; only a retry can help."""


class UpstreamTimedOut(KeyfobError):
    """A provider or app did not answer in time."""


class Busy(KeyfobError):
    """Keyfob is busy with this very record, or waiting out a provider's failure."""


class Tampered(KeyfobError):
    """A stored secret failed its integrity check: altered, or moved between records."""


def validation_problems(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Where a pydantic validation failed and why, never with the value it was given:
    that value may be a secret."""
    return [
        {
            "location": ".".join(str(part) for part in error.get("loc", ())),
            "message": error.get("msg", ""),
            "type": error.get("type", ""),
        }
        for error in errors
    ]
