"""The console over HTTP: one page, its script and its stylesheet, all from Keyfob.

The page is a shell: the script signs in with an API key it keeps in a variable (never
storage, a cookie or a URL) and calls the public API with it, so the console can do
nothing a key's holder cannot. Its policy lets in the script and stylesheet Keyfob
serves and calls to the API on the same origin, and nothing else: no inline script or
style, no other origin, no framing, no form posts."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from aws_lambda_powertools.event_handler import Response

from keyfob.core.errors import NotFound
from keyfob.models.types import Status
from keyfob.web.pages import page

STATIC = Path(__file__).with_name("static")
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
ASSETS = ("console.js", "console.css")
_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)


@dataclass(frozen=True)
class Asset:
    body: str
    content_type: str
    integrity: str  # sha384-…, for the page's integrity attribute
    version: str  # in the URL the page asks for, so a cached copy can never be stale


@cache
def _asset(name: str) -> Asset:
    body = (STATIC / name).read_text(encoding="utf-8")
    digest = hashlib.sha384(body.encode()).digest()
    return Asset(
        body=body,
        content_type=_TYPES[Path(name).suffix],
        integrity="sha384-" + base64.b64encode(digest).decode(),
        version=digest.hex()[:16],
    )


def _headers(cache_control: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": _POLICY,
        "Referrer-Policy": "no-referrer",
        "Cache-Control": cache_control,
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


def show() -> Response[str]:
    """The page: never cached (it names the current assets)."""
    assets = {name.split(".")[1]: _asset(name) for name in ASSETS}
    return page(
        200,
        "console.html",
        "Keyfob console",
        _headers("no-store"),
        assets=assets,
        statuses=[status.value for status in Status],
    )


def asset(name: str) -> Response[str]:
    """A script or stylesheet of the console; its URL carries its version, so it may be
    cached for good."""
    if name not in ASSETS:
        raise NotFound("asset_not_found", f"The console has no file {name!r}")
    found = _asset(name)
    return Response(
        status_code=200,
        content_type=found.content_type,
        body=found.body,
        headers=_headers("public, max-age=31536000, immutable"),
    )
