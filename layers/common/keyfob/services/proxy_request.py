"""The proxied request as it is sent: a path that stays under the app's API base URL,
the caller's query and headers less what is never forwarded, the body, and the
credential applied by its auth family, replacing whatever the caller sent in its place.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from keyfob.catalog import loader
from keyfob.core.errors import Invalid
from keyfob.core.urls import url_problem
from keyfob.models.proxy import HEADER_NAME_PATTERN, HEADER_VALUE_PATTERN, ProxyRequest
from keyfob.security import http

if TYPE_CHECKING:
    import requests

    from keyfob.auth.upstream import Credential

_PATH = re.compile(r"^/[A-Za-z0-9\-._~!$&'()*+,;=:/%]*$")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HEADER_NAME = re.compile(HEADER_NAME_PATTERN)
_HEADER_VALUE = re.compile(HEADER_VALUE_PATTERN)

# Never forwarded: the caller's own credentials for Keyfob or the app, cookies, and what
# describes this hop rather than the request (the HTTP client sets those itself).
_DROPPED = frozenset(
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
_DROPPED_PREFIXES = ("proxy-", "x-forwarded-")


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


def _invalid(field: str, reason: str) -> Invalid:
    return Invalid(
        "invalid_proxy_request",
        f"{field} {reason}",
        {"invalid": [{"field": field, "reason": reason}]},
    )


def _dropped(name: str) -> bool:
    lower = name.lower()
    return lower in _DROPPED or lower.startswith(_DROPPED_PREFIXES)


def check(request: ProxyRequest) -> None:
    if problem := path_problem(request.path):
        raise _invalid("path", problem)
    for name, value in request.headers.items():
        if not _HEADER_NAME.match(name):
            raise _invalid("headers", "hold a name that is not an HTTP token")
        if not _HEADER_VALUE.match(value):
            raise _invalid(f"headers.{name}", "must be printable ASCII")


def target(base_url: str, params: dict[str, str], path: str) -> str:
    missing = [name for name in loader.placeholders(base_url) if name not in params]
    # The params filled in were checked against their fields' patterns; this is the
    # last word on the URL actually called.
    problem = f"needs the param {missing[0]}" if missing else None
    base = "" if missing else loader.fill(base_url, params)
    if problem or (problem := url_problem(base)):
        raise Invalid(
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


def prepared(
    url: str,
    request: ProxyRequest,
    credential: Credential,
    fixed: Mapping[str, str] | None = None,
) -> requests.PreparedRequest:
    """The request as sent: the caller's headers and query, less what is never
    forwarded, the app's fixed headers where the caller sent none of that name, with
    the session's defaults and the credential on top."""
    import requests

    headers = {name: value.strip() for name, value in request.headers.items() if not _dropped(name)}
    data, content_type = _body(request)
    given = {name.lower() for name in headers}
    for name, value in (fixed or {}).items():
        if name.lower() not in given:
            headers[name] = value
            given.add(name.lower())
    if content_type and "content-type" not in given:
        headers["Content-Type"] = content_type
    if "user-agent" not in given:
        headers["User-Agent"] = "keyfob-proxy"
    headers["Accept-Encoding"] = "gzip, deflate"
    query: list[tuple[str, Any]] = [
        (name, item)
        for name, value in request.query.items()
        for item in ([value] if isinstance(value, str) else value)
    ]
    outgoing = requests.Request(
        request.method, url, headers=headers, params=query, data=data, auth=credential
    )
    return http.session().prepare_request(outgoing)
