"""URL helpers, and which URLs Keyfob will call or send a browser to."""

from __future__ import annotations

import ipaddress
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from keyfob.core.config import settings


def with_query(url: str, extra: dict[str, str]) -> str:
    """The URL with these query parameters set (replacing any of the same name)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in extra]
    return urlunsplit(parts._replace(query=urlencode(query + list(extra.items()))))


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _is_loopback(host: str) -> bool:
    address = _ip(host)
    return host == "localhost" or (address is not None and address.is_loopback)


def url_problem(value: str) -> str | None:
    """Why a URL Keyfob will call or send a browser to is unacceptable, or None."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return "is not a valid URL"
    if not parts.hostname:
        return "must be an absolute URL"
    if parts.username or parts.password:
        return "must not carry credentials"
    if parts.fragment:
        return "must not have a fragment"
    local_allowed = settings().allow_http_loopback and _is_loopback(parts.hostname)
    address = _ip(parts.hostname)
    # Keyfob calls these URLs from inside AWS: no link-local (instance metadata), private
    # or loopback address literals. A host name is not resolved here, so a name that
    # points at such an address is not caught by this check.
    if address is not None and not address.is_global and not local_allowed:
        return "must not be a private, loopback or link-local address"
    if parts.scheme == "https" or (parts.scheme == "http" and local_allowed):
        return None
    return "must use https"
