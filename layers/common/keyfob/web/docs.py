"""The API's documentation, public: the OpenAPI document that `make lint` checks
(``openapi.json``, shipped beside the docs function's handler) and Swagger UI over it.

Swagger UI's assets come from Keyfob (the ``swagger-ui-bundle-v2`` package the docs
function ships), never a CDN, and its page runs under a strict Content-Security-Policy:
scripts, styles and fetches from Keyfob only, no inline script, no framing."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types

from keyfob.core.errors import NotFound
from keyfob.web.pages import page

TEMPLATES = Path(__file__).with_name("templates")
# Swagger UI's two files, and the script that starts it on the page (no inline script).
ASSETS = {
    "swagger-ui-bundle.js": "application/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "docs.js": "application/javascript; charset=utf-8",
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)
# A day in caches: the assets change only with a deployment.
_ASSET_CACHE = "public, max-age=86400"


def _headers(cache_control: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": CSP,
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": cache_control,
    }


@cache
def _document(path: str) -> str:
    # Parsed and dumped again: a broken file fails here, not in the reader's browser.
    return json.dumps(json.loads(Path(path).read_text(encoding="utf-8")))


def document(handler_file: str) -> Response[str]:
    """The OpenAPI document shipped beside the handler (``openapi.json``)."""
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=_document(str(Path(handler_file).with_name("openapi.json"))),
        headers=_headers("public, max-age=300"),
    )


def swagger_page() -> Response[str]:
    return page(200, "docs.html", "Keyfob API", _headers("public, max-age=300"))


@cache
def _asset(name: str) -> bytes:
    if name == "docs.js":
        return (TEMPLATES / name).read_bytes()
    from swagger_ui_bundle import swagger_ui_path

    return (Path(str(swagger_ui_path)) / name).read_bytes()


def asset(name: str) -> Response[Any]:
    """One of Swagger UI's files, gzipped for a client that takes it."""
    if name not in ASSETS:
        raise NotFound("asset_not_found", "No such documentation asset")
    return Response(
        status_code=200,
        content_type=ASSETS[name],
        body=_asset(name),
        headers=_headers(_ASSET_CACHE),
        compress=True,
    )
