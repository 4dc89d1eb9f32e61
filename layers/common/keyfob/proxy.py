"""Requests to an app's own API on behalf of a connected account.

The caller names a method, a path under the app's API base URL, a query, headers and a
body; Keyfob applies the account's credential the way the catalog says and relays the
answer, whatever its status. What keeps the credential where it belongs:

- Only the base URL's host is reachable: the path cannot name another host or climb
  above the base path (no dot segments, encoded or not, no double encoding), and every
  connection is checked for the address it actually reached (keyfob.egress).
- Redirects are relayed to the caller, never followed: the credential goes to the base
  URL and nowhere else.
- The caller's own credentials, cookies and transport headers are not forwarded, and
  the upstream's cookies and transport headers are not relayed. Should the app echo
  the credential, it is redacted from what comes back.
- The exchange is bounded in time and in size both ways; nothing of it is logged but
  the account, the method, the status and the time taken.
"""

from __future__ import annotations

import base64
import json
import math
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from keyfob import catalog, http, store, tokens, upstream
from keyfob.catalog import AuthScheme, SchemeSpec
from keyfob.config import settings
from keyfob.errors import (
    Forbidden,
    GatewayTimeout,
    ServiceUnavailable,
    Unprocessable,
    UpstreamError,
)
from keyfob.models import AccountRecord, ProxyRequest, ProxyResponse, Status
from keyfob.observability import logger, metrics
from keyfob.params import url_problem

if TYPE_CHECKING:
    import requests

# The API request carrying the proxied one: within Lambda's 6 MB request payload.
MAX_REQUEST_BYTES = 5 * 1024 * 1024
MAX_UPSTREAM_BYTES = 5 * 1024 * 1024
# Lambda's 6 MB response payload, less room for the status line and headers.
_MAX_ANSWER_BYTES = 6 * 1024 * 1024 - 64 * 1024
_CHUNK = 64 * 1024
_MAX_JSON_DEPTH = 64
# Shorter values are not worth redacting: they would shred unrelated text.
_MIN_REDACTED = 8
_REDACTED = b"[REDACTED]"
_TOKENS = frozenset({"access_token", "refresh_token", "id_token"})

_PATH = re.compile(r"^/[A-Za-z0-9\-._~!$&'()*+,;=:/%]*$")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_HEADER_VALUE = re.compile(r"^[\t\x20-\x7e]*$")

# Never forwarded: the caller's own credentials for Keyfob or the app, cookies, and what
# describes this hop rather than the request (the HTTP client sets those itself).
_REQUEST_DROPPED = frozenset(
    {
        "authorization",
        "x-api-key",
        "cookie",
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "expect",
        "accept-encoding",
        "forwarded",
        "via",
        "x-real-ip",
    }
)
_REQUEST_DROPPED_PREFIXES = ("proxy-", "x-forwarded-")
# Never relayed: cookies are for a browser, not for the caller; the rest described the
# upstream hop (the body comes back decoded, its length is the relayed body's).
_RESPONSE_DROPPED = frozenset(
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


@dataclass(frozen=True)
class _Outbound:
    url: str
    headers: dict[str, str]
    query: list[tuple[str, str]]
    body: bytes | None
    secrets: tuple[bytes, ...]


def path_problem(path: str) -> str | None:
    """Why a caller's path could leave the base URL (or is malformed), or None."""
    if not path.startswith("/") or path.startswith("//"):
        return "must start with a single /"
    if "?" in path or "#" in path:
        return "must not carry a query or fragment: give the query in `query`"
    if "@" in path or "\\" in path:
        return "must not contain @ or a backslash (percent-encode an @ as %40)"
    if not _PATH.match(path):
        return "must be percent-encoded ASCII (RFC 3986)"
    if _BAD_PERCENT.search(path):
        return "has a malformed percent-encoding"
    decoded = unquote(path)
    if "%" in decoded:
        return "must not be percent-encoded twice"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in decoded):
        return "must not encode control characters"
    # Servers differ in what they decode and normalise: no spelling of a dot segment,
    # nor a / or \\ that could make one once decoded, may climb above the base path.
    if any(part in {".", ".."} for part in re.split(r"[/\\]", decoded)):
        return "must not contain . or .. segments"
    return None


def _invalid(field: str, reason: str) -> Unprocessable:
    return Unprocessable(
        "invalid_proxy_request",
        f"{field} {reason}",
        {"invalid": [{"field": field, "reason": reason}]},
    )


def _dropped(name: str) -> bool:
    lower = name.lower()
    return lower in _REQUEST_DROPPED or lower.startswith(_REQUEST_DROPPED_PREFIXES)


def _check(request: ProxyRequest) -> None:
    if problem := path_problem(request.path):
        raise _invalid("path", problem)
    for name, value in request.headers.items():
        if not _HEADER_NAME.match(name):
            raise _invalid("headers", "hold a name that is not an HTTP token")
        if not _HEADER_VALUE.match(value):
            raise _invalid(f"headers.{name}", "must be printable ASCII")


def _target(base_url: str, params: dict[str, str], path: str) -> str:
    missing = [name for name in catalog.placeholders(base_url) if name not in params]
    # The params filled in were checked against their fields' patterns; this is the
    # last word on the URL actually called.
    problem = f"needs the param {missing[0]}" if missing else None
    base = "" if missing else catalog.fill(base_url, params)
    if problem or (problem := url_problem(base)):
        raise Unprocessable(
            "invalid_api_base_url", f"The app's API base URL {problem}", {"field": "api.base_url"}
        )
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + path, fragment=""))


def _body(request: ProxyRequest) -> tuple[bytes | None, str | None]:
    """The bytes to send and their default content type."""
    if request.body is None:
        return None, None
    if isinstance(request.body, str):
        return request.body.encode(), "text/plain; charset=utf-8"
    return json.dumps(request.body, separators=(",", ":")).encode(), "application/json"


def _outbound(
    url: str, request: ProxyRequest, scheme: SchemeSpec, values: dict[str, Any]
) -> _Outbound:
    """The request as sent: the caller's headers and query, less what is never forwarded
    and what the credential sets, plus the credential."""
    cred_headers, cred_query, basic = upstream.apply(scheme.apply, values)
    secret_names = {f.name for f in scheme.connection_fields if f.secret}
    secret = [str(values[name]) for name in secret_names | _TOKENS if values.get(name)]
    if basic is not None:
        token = base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
        cred_headers = {"Authorization": f"Basic {token}"}
        secret.append(token)
    taken = {name.lower() for name in cred_headers}
    headers = {
        name: value.strip()
        for name, value in request.headers.items()
        if not _dropped(name) and name.lower() not in taken
    }
    data, content_type = _body(request)
    given = {name.lower() for name in headers}
    if content_type and "content-type" not in given:
        headers["Content-Type"] = content_type
    if "user-agent" not in given:
        headers["User-Agent"] = "keyfob-proxy"
    headers["Accept-Encoding"] = "gzip, deflate"
    headers.update(cred_headers)
    query = [
        (name, item)
        for name, value in request.query.items()
        if name not in cred_query
        for item in ([value] if isinstance(value, str) else value)
    ]
    query += list(cred_query.items())
    return _Outbound(
        url,
        headers,
        query,
        data,
        tuple(s.encode() for s in secret if len(s) >= _MIN_REDACTED),
    )


def send(tenant_id: str, account_id: str, request: ProxyRequest) -> ProxyResponse:
    """Send the request as the account's entity and relay the answer. An OAuth account
    the app answers 401 is refreshed once and the request retried once."""
    _check(request)
    held = tokens.usable(tenant_id, account_id)
    account = held.account
    integration = store.get_integration(tenant_id, account.integration_id)
    if integration.api is None or not integration.api.base_url:
        raise Unprocessable(
            "no_api_base_url",
            f"The integration names no API base URL for {account.app}: create one with "
            "api.base_url",
            {"integration_id": integration.id},
        )
    scheme = catalog.get_app(account.app).scheme(account.auth_scheme)
    url = _target(integration.api.base_url, account.params, request.path)
    started = time.monotonic()
    deadline = started + settings().proxy_timeout_seconds
    answer = _exchange(_outbound(url, request, scheme, held.values), request.method, deadline)
    retried = False
    if answer.status == 401 and not held.refreshed and time.monotonic() < deadline:
        renewed = _renewed(account)
        if renewed is not None:
            outbound = _outbound(url, request, scheme, renewed)
            answer = _exchange(outbound, request.method, deadline)
            retried = True
    metrics.add_metric(name="ProxyRequests", unit="Count", value=1)
    logger.info(
        "request proxied",
        extra={
            "connected_account_id": account.id,
            "method": request.method,
            "upstream_status": answer.status,
            "retried_after_refresh": retried,
            "elapsed_ms": round((time.monotonic() - started) * 1000),
        },
    )
    return answer


def _renewed(account: AccountRecord) -> dict[str, Any] | None:
    """The credential after one refresh, if the account has a new token to retry with."""
    if account.auth_scheme is not AuthScheme.OAUTH2 or not account.refreshable:
        return None
    try:
        result = tokens.refresh(account)
    except ServiceUnavailable:
        # Another caller's refresh is slow: relay the 401 rather than wait any longer.
        return None
    current = result.account
    if current.status is not Status.ACTIVE or current.token_version == account.token_version:
        return None
    if result.tokens is None:
        from keyfob import crypto

        return {**current.params, **crypto.open_account(current)}
    return {**current.params, **result.tokens}


def _exchange(outbound: _Outbound, method: str, deadline: float) -> ProxyResponse:
    import requests

    from keyfob.egress import DestinationRefused

    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _timed_out()
    try:
        response = http.session().request(
            method,
            outbound.url,
            params=outbound.query,
            data=outbound.body,
            headers=outbound.headers,
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
        raise UpstreamError(
            "upstream_unreachable", "The app's API could not be reached", None
        ) from None
    with response:
        data = _read(response, deadline)
        headers = {
            name.lower(): _redacted(value.encode("latin-1"), outbound.secrets).decode("latin-1")
            for name, value in response.headers.items()
            if name.lower() not in _RESPONSE_DROPPED
        }
    body, encoding = _decoded(
        _redacted(data, outbound.secrets), response.headers.get("content-type", "")
    )
    answer = ProxyResponse(
        status=response.status_code, headers=headers, body=body, body_encoding=encoding
    )
    if _payload_size(answer) > _MAX_ANSWER_BYTES:
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
        raise UpstreamError("upstream_failed", "The app's API broke off its answer", None) from None


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


def _shallow(value: Any) -> bool:
    """Whether a parsed JSON value nests no deeper than serialising it back can take."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > _MAX_JSON_DEPTH:
            return False
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return True


def _decoded(data: bytes, content_type: str) -> tuple[Any, str]:
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
            if _shallow(parsed):
                return parsed, "json"
    textual = media.startswith("text/") or media in _TEXT_TYPES or media.endswith("+xml")
    if is_json or textual or not media:
        try:
            return data.decode(charset), "text"
        except (UnicodeDecodeError, LookupError):
            pass
    return base64.b64encode(data).decode("ascii"), "base64"


def _payload_size(answer: ProxyResponse) -> int:
    """The size of the Lambda response that carries the answer: its JSON, embedded as a
    JSON string once more (which escapes every quote and backslash again)."""
    inner = json.dumps(answer.model_dump(mode="json"), separators=(",", ":"))
    return len(inner) + inner.count('"') + inner.count("\\")


def _timed_out() -> GatewayTimeout:
    limit = settings().proxy_timeout_seconds
    return GatewayTimeout(
        "upstream_timeout", f"The app's API did not answer within {limit:g} s", {"limit": limit}
    )


def _too_large() -> UpstreamError:
    return UpstreamError(
        "upstream_response_too_large",
        f"The app's answer exceeds what the proxy relays ({MAX_UPSTREAM_BYTES} bytes, "
        "less for a binary body, which is relayed as base64)",
        {"limit": MAX_UPSTREAM_BYTES},
    )
