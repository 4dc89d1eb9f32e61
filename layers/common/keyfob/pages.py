"""What the user's browser sees at the end of an OAuth flow."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aws_lambda_powertools.event_handler import Response, content_types

from keyfob.api import error_response
from keyfob.errors import KeyfobError
from keyfob.models import AccountRecord, Status

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}}
</style>
</head><body><main><h1>{title}</h1><p>{message}</p></main></body></html>
"""
# The page is static: no scripts, no framing, no referrer carrying the code onward.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _html(status: int, title: str, message: str) -> Response[str]:
    body = _PAGE.format(title=html.escape(title), message=html.escape(message))
    return Response(
        status_code=status, content_type=content_types.TEXT_HTML, body=body, headers=_HEADERS
    )


def with_query(url: str, extra: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in extra]
    return urlunsplit(parts._replace(query=urlencode(query + list(extra.items()))))


def outcome(
    account: AccountRecord, return_url: str | None, confirmation_code: str | None = None
) -> Response[Any]:
    if return_url:
        extra = {"connected_account_id": account.id, "status": account.status.value}
        if confirmation_code:
            extra["confirmation_code"] = confirmation_code
        location = with_query(return_url, extra)
        return Response(status_code=302, headers={"Location": location, **_HEADERS}, body="")
    if account.status is Status.ACTIVE:
        return _html(200, "Account connected", "You can close this window.")
    return _html(
        200,
        "Connection failed",
        f"{account.status_reason or 'Authorization failed'}. Close this window and try again.",
    )


def refusal(exc: KeyfobError, accept: str) -> Response[Any]:
    if "text/html" in accept:
        return _html(exc.status, "Connection not completed", exc.message)
    return error_response(exc.status, exc.code, exc.message, exc.details, exc.retry_after)
