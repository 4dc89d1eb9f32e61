"""What the client raises. Every class derives from :class:`KeyfobClientError`.

An answer from the API that is not a success is an :class:`ApiError` (or one of its
subclasses by status), carrying the API's ``code``, ``message`` and ``details`` and the
HTTP ``status``. No message or repr ever holds the API key or a credential: messages come
from the API, which never puts a secret in one, or name only URLs and statuses.
"""

from __future__ import annotations

import email.utils
import json
import time
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keyfob_client.models import Account


class KeyfobClientError(Exception):
    """Anything the Keyfob client raises."""


class ConfigurationError(KeyfobClientError, ValueError):
    """No base URL or API key, or a base URL the client will not send the key to."""


class TransportError(KeyfobClientError):
    """The API could not be reached, or did not answer in time."""


class UnexpectedResponseError(KeyfobClientError):
    """The server answered with something that is not Keyfob's API (e.g. not JSON)."""


class ApiError(KeyfobClientError):
    """The API answered with an error status: 4xx or 5xx (or an unexpected redirect)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{code}: {message} (HTTP {status})")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.retry_after = retry_after
        """Seconds the server asked to wait before trying again (``Retry-After``), if any."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, code={self.code!r})"


class AuthError(ApiError):
    """401 or 403: the API key is missing or was refused."""


class NotFoundError(ApiError):
    """404: no such resource for this tenant (or no such route on this server)."""


class ConflictError(ApiError):
    """409: the resource's state does not allow it (e.g. credentials of a FAILED account)."""


class ValidationError(ApiError):
    """422: the request was refused; ``details`` names what is wrong."""


class RateLimitedError(ApiError):
    """429: too many requests; ``retry_after`` says how long to wait when the server knows."""


class ServerError(ApiError):
    """5xx: the server or a provider behind it failed; 503 (e.g. ``refresh_in_progress``)
    is worth retrying."""


class ConnectionFailedError(KeyfobClientError):
    """Waiting for a connection ended in a state it cannot leave by itself
    (FAILED, EXPIRED, INACTIVE). ``account`` is the account as last seen."""

    def __init__(self, account: Account) -> None:
        reason = f": {account.status_reason}" if account.status_reason else ""
        super().__init__(f"connected account {account.id} is {account.status}{reason}")
        self.account = account


class ConfirmationRequiredError(KeyfobClientError):
    """Waiting for a connection found it AWAITING_CONFIRMATION: the application must call
    ``confirm_account`` before it becomes ACTIVE. ``account`` is the account as last seen."""

    def __init__(self, account: Account) -> None:
        super().__init__(f"connected account {account.id} is waiting for confirmation")
        self.account = account


class WaitTimeoutError(KeyfobClientError, TimeoutError):
    """The connection was not ACTIVE within the time given. ``account`` is as last seen."""

    def __init__(self, account: Account, timeout: float) -> None:
        super().__init__(
            f"connected account {account.id} still {account.status} after {timeout:g} s"
        )
        self.account = account


_BY_STATUS: dict[int, type[ApiError]] = {
    401: AuthError,
    403: AuthError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: RateLimitedError,
}


def error_class(status: int) -> type[ApiError]:
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, ApiError)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds, from delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def error_from_response(status: int, body: bytes, retry_after: str | None = None) -> ApiError:
    """The exception for an error answer. Keyfob's functions answer
    ``{"error": {"code", "message", "details"}}``; API Gateway itself answers
    ``{"message": ...}`` (a refused key, throttling, an unknown route): its code is then
    the status phrase in snake case (``forbidden``, ``too_many_requests``)."""
    code = _phrase(status).lower().replace(" ", "_").replace("-", "_")
    message = _phrase(status)
    details: Any = None
    try:
        document = json.loads(body) if body else None
    except ValueError:
        document = None
    if isinstance(document, dict):
        error = document.get("error")
        if isinstance(error, dict):
            code = str(error.get("code") or code)
            message = str(error.get("message") or message)
            details = error.get("details")
        elif isinstance(document.get("message"), str):
            message = document["message"]
    return error_class(status)(status, code, message, details, parse_retry_after(retry_after))
