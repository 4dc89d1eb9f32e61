"""Errors that map to a 4xx JSON response: ``{"error": {"code", "message", "details"}}``.

Messages and details must never carry a secret: they reach the caller and the logs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class KeyfobError(Exception):
    status = 400

    def __init__(
        self, code: str, message: str, details: Any = None, *, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        # Seconds, sent as Retry-After: the request may succeed as it is, later.
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class BadRequest(KeyfobError):
    status = 400


class NotFound(KeyfobError):
    status = 404


class Forbidden(KeyfobError):
    status = 403


class Conflict(KeyfobError):
    status = 409


class Gone(KeyfobError):
    status = 410


class PayloadTooLarge(KeyfobError):
    status = 413


class UnsupportedMediaType(KeyfobError):
    status = 415


class Unprocessable(KeyfobError):
    status = 422


class UpstreamError(KeyfobError):
    """A provider answered badly; the caller can do nothing about it but retry."""

    status = 502


class GatewayTimeout(KeyfobError):
    """A provider or app did not answer in time."""

    status = 504


class ServiceUnavailable(KeyfobError):
    """Keyfob is busy with this very record, or waiting out a provider's failure."""

    status = 503


class IntegrityError(KeyfobError):
    """A stored secret failed authentication: tampered with or moved between records."""

    status = 500


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
