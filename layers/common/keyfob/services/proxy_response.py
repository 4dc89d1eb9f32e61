"""The upstream exchange of a proxied request and its answer as relayed: bounded in time
and size, redirects relayed rather than followed, the upstream's cookies and transport
headers dropped, the credential redacted should the app echo it, and the body as JSON,
text or base64."""

from __future__ import annotations

import base64
import json
import math
import time
from typing import TYPE_CHECKING, Any

from keyfob.core.config import settings
from keyfob.core.errors import Forbidden, UpstreamFailed, UpstreamTimedOut
from keyfob.core.nesting import shallow
from keyfob.models.proxy import ProxyResponse
from keyfob.security import http

if TYPE_CHECKING:
    import requests

MAX_UPSTREAM_BYTES = 5 * 1024 * 1024
# Lambda's 6 MB response payload, less room for the status line and headers.
_MAX_ANSWER_BYTES = 6 * 1024 * 1024 - 64 * 1024
_CHUNK = 64 * 1024
# Shorter values are not worth redacting: they would shred unrelated text.
_MIN_REDACTED = 8
_REDACTED = b"[REDACTED]"

# Never relayed: cookies are for a browser, not for the caller; the rest described the
# upstream hop (the body comes back decoded, its length is the relayed body's).
_DROPPED = frozenset(
    {
        "set-cookie",
        "set-cookie2",
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "content-encoding",
    }
)
_TEXT_TYPES = frozenset(
    {
        "application/xml",
        "application/javascript",
        "application/x-www-form-urlencoded",
        "application/graphql",
    }
)


def exchange(
    prepared: requests.PreparedRequest, secrets: tuple[str, ...], deadline: float
) -> ProxyResponse:
    """Send the request and relay the answer, whatever its status."""
    import requests

    from keyfob.security.egress import DestinationRefused

    redacted = tuple(s.encode() for s in secrets if len(s) >= _MIN_REDACTED)
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _timed_out()
    try:
        response = http.session().send(
            prepared,
            timeout=(min(http.timeout()[0], remaining), remaining),
            allow_redirects=False,
            stream=True,
        )
    except DestinationRefused as refused:
        raise Forbidden(
            "destination_not_allowed",
            f"The app's API host {refused.host} resolves to an address Keyfob does not call "
            "(loopback, private, link-local or otherwise not public)",
            {"host": refused.host},
        ) from None
    except requests.Timeout:
        raise _timed_out() from None
    except requests.RequestException:
        # Never the exception's text: it names the URL, and a query may hold the credential.
        raise UpstreamFailed(
            "upstream_unreachable", "The app's API could not be reached", None
        ) from None
    with response:
        data = _read(response, deadline)
        headers = {
            name.lower(): _redacted(value.encode("latin-1"), redacted).decode("latin-1")
            for name, value in response.headers.items()
            if name.lower() not in _DROPPED
        }
    body, encoding = decoded(_redacted(data, redacted), response.headers.get("content-type", ""))
    answer = ProxyResponse(
        status=response.status_code, headers=headers, body=body, body_encoding=encoding
    )
    if payload_size(answer) > _MAX_ANSWER_BYTES:
        raise _too_large()
    return answer


def _read(response: requests.Response, deadline: float) -> bytes:
    """The decoded body, within the size limit and the deadline. One read at a time,
    each with the time left, so that a slow trickle cannot outlast the deadline."""
    from urllib3.exceptions import HTTPError, ReadTimeoutError

    chunks: list[bytes] = []
    size = 0
    sock = getattr(response.raw.connection, "sock", None)
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _timed_out()
            if sock is not None:
                sock.settimeout(remaining)
            chunk = response.raw.read1(_CHUNK, decode_content=True)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > MAX_UPSTREAM_BYTES:
                raise _too_large()
            chunks.append(chunk)
    except (ReadTimeoutError, TimeoutError):
        raise _timed_out() from None
    except (HTTPError, OSError):
        raise UpstreamFailed(
            "upstream_failed", "The app's API broke off its answer", None
        ) from None


def _redacted(data: bytes, secrets: tuple[bytes, ...]) -> bytes:
    for secret in secrets:
        if secret in data:
            data = data.replace(secret, _REDACTED)
    return data


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decoded(data: bytes, content_type: str) -> tuple[Any, str]:
    """(body, body_encoding): parsed JSON, text, or base64 for anything else."""
    if not data:
        return None, "text"
    media, _, rest = content_type.partition(";")
    media = media.strip().lower()
    charset = "utf-8"
    for part in rest.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    is_json = media == "application/json" or media.endswith("+json")
    if is_json:
        try:
            parsed = json.loads(data, parse_float=_finite, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            pass
        else:
            if shallow(parsed):
                return parsed, "json"
    textual = media.startswith("text/") or media in _TEXT_TYPES or media.endswith("+xml")
    if is_json or textual or not media:
        try:
            return data.decode(charset), "text"
        except (UnicodeDecodeError, LookupError):
            pass
    return base64.b64encode(data).decode("ascii"), "base64"


def payload_size(answer: ProxyResponse) -> int:
    """The size of the Lambda response that carries the answer: its JSON, embedded as a
    JSON string once more (which escapes every quote and backslash again)."""
    inner = json.dumps(answer.model_dump(mode="json"), separators=(",", ":"))
    return len(inner) + inner.count('"') + inner.count("\\")


def _timed_out() -> UpstreamTimedOut:
    limit = settings().proxy_timeout_seconds
    return UpstreamTimedOut(
        "upstream_timeout", f"The app's API did not answer within {limit:g} s", {"limit": limit}
    )


def _too_large() -> UpstreamFailed:
    return UpstreamFailed(
        "upstream_response_too_large",
        f"The app's answer exceeds what the proxy relays ({MAX_UPSTREAM_BYTES} bytes, "
        "less for a binary body, which is relayed as base64)",
        {"limit": MAX_UPSTREAM_BYTES},
    )
