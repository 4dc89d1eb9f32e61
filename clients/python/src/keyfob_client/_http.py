"""JSON over HTTP with urllib: the API key header, time-outs, retries, no redirects."""

from __future__ import annotations

import http.client
import ipaddress
import json
import platform
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from email.message import Message
from importlib import metadata
from typing import IO, Any
from urllib.parse import quote, urlencode, urlsplit

from keyfob_client.errors import (
    ConfigurationError,
    TransportError,
    UnexpectedResponseError,
    error_from_response,
)

# Statuses at which the server did not act on the request, so any method may be sent again.
RETRYABLE_STATUSES = frozenset({429, 503})
# A server asking for a longer pause gets the error instead: the caller decides.
MAX_RETRY_WAIT_SECONDS = 20.0
_BACKOFF_SECONDS = 0.5


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """urllib would follow a redirect to any host with the x-api-key header still on."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> None:
        return None


def _user_agent() -> str:
    try:
        version = metadata.version("keyfob-client")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return f"keyfob-python/{version} Python/{platform.python_version()}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def segment(value: str) -> str:
    """A path segment from an id: quoted, and never empty (that would name another route)."""
    if not value:
        raise ValueError("an id must not be empty")
    return quote(value, safe="")


def _query_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


class Transport:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float,
        max_retries: int,
        allow_insecure_http: bool,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ConfigurationError(f"base URL must be an http(s) URL, not {base_url!r}")
        if parts.username or parts.password:
            # It would be repeated in every error message; the key authenticates instead.
            raise ConfigurationError("base URL must not carry a user name or password")
        if parts.scheme == "http" and not (allow_insecure_http or _is_loopback(parts.hostname)):
            raise ConfigurationError(
                "refusing to send the API key over plain http to a host that is not loopback; "
                "use https (or allow_insecure_http=True)"
            )
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.user_agent = _user_agent()
        self._opener = urllib.request.build_opener(_NoRedirects)

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r})"

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Any:
        """Send one API request; returns the decoded JSON (None for an empty answer) or
        raises an ApiError, a TransportError or an UnexpectedResponseError."""
        url = self.base_url + path
        params = {k: _query_value(v) for k, v in (query or {}).items() if v is not None}
        if params:
            url += "?" + urlencode(params, doseq=True)
        headers = {
            "x-api-key": self._api_key,
            "User-Agent": self.user_agent,
            "Accept": "application/json",
        }
        # An empty body still says Content-Length: 0, which some proxies insist on.
        data = None if method == "GET" else b""
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        # The scheme is http(s): checked in __init__, and paths are built from segments.
        request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
        attempt = 0
        while True:
            try:
                return self._send(request)
            except urllib.error.HTTPError as answer:
                with answer:
                    error = error_from_response(
                        answer.code, answer.read(), answer.headers.get("Retry-After")
                    )
            wait = (
                error.retry_after
                if error.retry_after is not None
                else _BACKOFF_SECONDS * 2**attempt
            )
            if (
                error.status not in RETRYABLE_STATUSES
                or attempt >= self.max_retries
                or wait > MAX_RETRY_WAIT_SECONDS
            ):
                raise error
            time.sleep(wait)
            attempt += 1

    def _send(self, request: urllib.request.Request) -> Any:
        where = f"{request.get_method()} {urlsplit(request.full_url).path}"
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError:
            raise
        except (OSError, http.client.HTTPException) as exc:
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            if isinstance(reason, TimeoutError):
                raise TransportError(f"{where}: no answer within {self.timeout:g} s") from exc
            raise TransportError(f"{where}: cannot reach {self.base_url}: {reason}") from exc
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise UnexpectedResponseError(f"{where}: the answer is not JSON") from exc


def items_of(answer: Any) -> list[Any]:
    """The ``items`` of a list's answer."""
    items = answer.get("items") if isinstance(answer, dict) else None
    if not isinstance(items, list):
        raise UnexpectedResponseError("expected a JSON object with a list of items")
    return items
