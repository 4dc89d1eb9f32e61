"""Where a remote MCP server's tokens come from, as the MCP authorization specification
(2025-11-25, with the 2026-07-28 changes) has a client find out: the server's 401
(``WWW-Authenticate: Bearer resource_metadata=..., scope=...``), else the RFC 9728
well-known URIs (at the endpoint's path, then at the root); the protected resource
metadata's first authorization server; then its metadata, trying RFC 8414 and OpenID
Connect discovery in the specification's order, accepted only if its ``issuer`` is the
one the URL was built from and it supports PKCE with S256.

Every call goes through the egress guard (public addresses only), follows no redirect,
and reads a bounded answer. What the servers say is checked, never trusted blindly:
the resource must be the server's own, the issuer the one asked for.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from keyfob.core.errors import Invalid, UpstreamFailed
from keyfob.core.urls import url_problem
from keyfob.security import http

if TYPE_CHECKING:
    import requests

_MAX_DOCUMENT = 64 * 1024
_AUTH_PARAM = re.compile(r'([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]+)')
_PROBE = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "keyfob", "version": "0.1.0"},
    },
}


@dataclass(frozen=True)
class Challenge:
    """What a 401 or 403 from the MCP server asks for (RFC 6750 section 3, RFC 9728)."""

    resource_metadata: str | None = None
    scope: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Discovered:
    """The MCP server's protected resource metadata and its authorization server's."""

    resource: str
    scopes: list[str]
    issuer: str
    metadata: dict[str, Any]


def challenge(header: str) -> Challenge:
    """The Bearer challenge's parameters (the first Bearer challenge of the header)."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return Challenge()
    params = {
        name.lower(): value[1:-1].replace('\\"', '"') if value.startswith('"') else value
        for name, value in _AUTH_PARAM.findall(rest)
    }
    return Challenge(params.get("resource_metadata"), params.get("scope"), params.get("error"))


def _unavailable(message: str) -> UpstreamFailed:
    return UpstreamFailed("mcp_discovery_failed", message, None)


def _refused(message: str) -> Invalid:
    return Invalid("mcp_discovery_failed", message, None)


def _document(url: str) -> dict[str, Any] | None:
    """A JSON object at a URL, or None when there is none (4xx); raises when the server
    cannot tell (unreachable, 5xx)."""
    import requests

    if url_problem(url):
        raise _refused(f"a metadata URL the MCP server named is not usable: {url_problem(url)}")
    try:
        response = http.session().get(
            url,
            headers={"Accept": "application/json", "MCP-Protocol-Version": "2025-11-25"},
            timeout=http.timeout(),
            allow_redirects=False,
            stream=True,
        )
        with response:
            body = response.raw.read(_MAX_DOCUMENT + 1, decode_content=True)
    except requests.RequestException:
        raise _unavailable("the MCP server's metadata could not be fetched") from None
    if response.status_code >= 500:
        raise _unavailable(f"metadata endpoint answered HTTP {response.status_code}")
    if response.status_code != 200 or len(body) > _MAX_DOCUMENT:
        return None
    try:
        found = json.loads(body)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def post_json(url: str, body: dict[str, Any], accept: str) -> requests.Response:
    """A JSON POST through the egress guard, no redirect followed (raises requests')."""
    return http.session().post(
        url, json=body, headers={"Accept": accept}, timeout=http.timeout(), allow_redirects=False
    )


def probe(server_url: str) -> Challenge:
    """An unauthenticated request to the MCP server: its 401's challenge."""
    import requests

    try:
        response = post_json(server_url, _PROBE, "application/json, text/event-stream")
        response.close()
    except requests.RequestException:
        raise _unavailable("the MCP server could not be reached") from None
    if response.status_code != 401:
        raise _refused(
            f"the MCP server answered HTTP {response.status_code} without a token, not 401: "
            "it asks for no OAuth authorization"
        )
    return challenge(response.headers.get("WWW-Authenticate", ""))


def _well_known(url: str, suffix: str, *, append: bool = False) -> str:
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    where = f"{path}/.well-known/{suffix}" if append else f"/.well-known/{suffix}{path}"
    return urlunsplit((parts.scheme, parts.netloc, where, "", ""))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def _covers(resource: str, server_url: str) -> bool:
    """RFC 9728 / RFC 8707: the metadata's resource is the server, or a path above it on
    the same origin."""
    given, server = urlsplit(resource), urlsplit(server_url)
    same_origin = (given.scheme.lower(), given.netloc.lower()) == (
        server.scheme.lower(),
        server.netloc.lower(),
    )
    base = given.path.rstrip("/")
    return same_origin and (server.path == base or server.path.startswith(f"{base}/") or not base)


def resource_metadata_urls(server_url: str, found: Challenge) -> list[str]:
    """The 401's resource_metadata, else RFC 9728's well-known URIs: at the endpoint's
    path, then at the root."""
    if found.resource_metadata:
        return [found.resource_metadata]
    candidates = [
        _well_known(server_url, "oauth-protected-resource"),
        _well_known(_origin(server_url), "oauth-protected-resource"),
    ]
    return list(dict.fromkeys(candidates))


def server_metadata_urls(issuer: str) -> list[str]:
    """RFC 8414 then OpenID discovery, path inserted, then OpenID's path appended."""
    candidates = [
        _well_known(issuer, "oauth-authorization-server"),
        _well_known(issuer, "openid-configuration"),
    ]
    if urlsplit(issuer).path.strip("/"):
        candidates.append(_well_known(issuer, "openid-configuration", append=True))
    return candidates


def resource_metadata(server_url: str, found: Challenge) -> dict[str, Any]:
    for url in resource_metadata_urls(server_url, found):
        document = _document(url)
        if document is None:
            continue
        resource = document.get("resource")
        if not isinstance(resource, str) or not _covers(resource, server_url):
            raise _refused("the protected resource metadata names another resource")
        servers = document.get("authorization_servers")
        if not isinstance(servers, list) or not servers or not isinstance(servers[0], str):
            raise _refused("the protected resource metadata names no authorization server")
        return document
    raise _refused("the MCP server publishes no protected resource metadata (RFC 9728)")


def server_metadata(issuer: str) -> dict[str, Any]:
    """The authorization server's metadata, in the specification's order of URLs."""
    for url in server_metadata_urls(issuer):
        document = _document(url)
        if document is None:
            continue
        if document.get("issuer") != issuer:
            # RFC 8414 3.3: metadata for another issuer is not to be used at all.
            raise _refused("the authorization server's metadata names another issuer")
        if "S256" not in (document.get("code_challenge_methods_supported") or []):
            raise _refused("the authorization server does not support PKCE with S256")
        for name in ("authorization_endpoint", "token_endpoint"):
            value = document.get(name)
            if not isinstance(value, str) or url_problem(value):
                raise _refused(f"the authorization server's {name} is missing or unusable")
        return document
    raise _refused("the authorization server publishes no metadata (RFC 8414, OpenID)")


def discover(server_url: str) -> tuple[Discovered, Challenge]:
    """From the MCP server's URL to its authorization server's validated metadata."""
    found = probe(server_url)
    protected = resource_metadata(server_url, found)
    issuer = protected["authorization_servers"][0]
    scopes = protected.get("scopes_supported")
    discovered = Discovered(
        resource=str(protected["resource"]),
        scopes=[s for s in scopes if isinstance(s, str)] if isinstance(scopes, list) else [],
        issuer=issuer,
        metadata=server_metadata(issuer),
    )
    return discovered, found
