"""The pages a browser sees, rendered from Jinja2 templates (autoescaped) under one
Content-Security-Policy: no script, no framing, no referrer (a page's URL or its
redirect can hold a secret), nothing cached, one stylesheet allowed by its hash, and
forms posting only where the page says. Jinja2 is imported only by the functions that
render a page."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import Response, content_types

from keyfob.core.errors import KeyfobError, Malformed
from keyfob.models.types import Status
from keyfob.web import errors

if TYPE_CHECKING:
    from jinja2 import Environment

    from keyfob.models.records.accounts import AccountRecord

TEMPLATES = Path(__file__).with_name("templates")
STYLE = (TEMPLATES / "page.css").read_text(encoding="utf-8")
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()


@cache
def _environment() -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    return Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined
    )


def security_headers(form_action: str = "'none'", image: str | None = None) -> dict[str, str]:
    """The one policy of every page; ``form_action``: where its form may send the browser
    (browsers hold the redirect after a POST to it too); ``image``: the one image it
    shows (an app's logo), by its exact URL."""
    images = f"img-src {image}; " if image else ""
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; {images}"
            f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
        ),
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }


def page(
    status: int, template: str, title: str, headers: dict[str, str], **context: Any
) -> Response[str]:
    body = _environment().get_template(template).render(title=title, style=STYLE, **context)
    return Response(
        status_code=status, content_type=content_types.TEXT_HTML, body=body, headers=headers
    )


def message(status: int, heading: str, text: str, *, reload: bool = False) -> Response[str]:
    """A page that says one thing."""
    return page(
        status,
        "message.html",
        heading,
        security_headers(),
        heading=heading,
        message=text,
        reload=reload,
    )


# --- the end of an OAuth flow -------------------------------------------------------


def callback_outcome(account: AccountRecord, location: str | None) -> Response[Any]:
    """Back to the app, or, with nowhere to go, a page that says how it went."""
    if location:
        return Response(
            status_code=302, headers={"Location": location, **security_headers()}, body=""
        )
    if account.status is Status.ACTIVE:
        return message(200, "Account connected", "You can close this window.")
    reason = account.status_reason or "Authorization failed"
    return message(200, "Connection failed", f"{reason}. Close this window and try again.")


def callback_invalid(
    problems: list[dict[str, str]], headers: Mapping[str, str]
) -> Response[Any] | None:
    """A callback without a state, or with one Keyfob never issues, is refused as the
    callback refuses it: with a page for a browser."""
    for problem in problems:
        if problem["location"] == "query.state":
            if problem["type"] == "missing":
                refused = Malformed("missing_state", "The authorization response carries no state")
            else:
                refused = Malformed("invalid_state", "Unknown OAuth state")
            return callback_refusal(refused, headers.get("accept", ""))
    return None


def callback_refusal(exc: KeyfobError, accept: str) -> Response[Any]:
    """A refused callback: a page for a browser, the JSON error for anyone else."""
    if "text/html" in accept:
        return message(errors.status_of(exc), "Connection not completed", exc.message)
    return errors.refused(exc)
