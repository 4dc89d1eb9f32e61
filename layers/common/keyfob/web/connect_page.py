"""The hosted connect page over HTTP: the form read from its request, and what the
browser gets (the page, its CSRF cookie, a redirect on)."""

from __future__ import annotations

import base64
import binascii
import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from keyfob.core.errors import KeyfobError, Malformed, TooLarge, UnsupportedFormat
from keyfob.core.observability import logger
from keyfob.security import csrf
from keyfob.services import connect_page
from keyfob.services.connect_page import Done, Form, Visit
from keyfob.web import errors
from keyfob.web.pages import message, page, security_headers

if TYPE_CHECKING:
    from keyfob.models.records.accounts import LinkRecord
    from keyfob.models.records.integrations import IntegrationRecord

MAX_FORM_BYTES = 16 * 1024
_STATUS = {None: 200, "invalid": 422, "unreachable": 502}

_REFUSALS = {
    "connect_link_not_found": (
        "Link not found",
        "This connect link does not exist, or what it was for no longer does. Ask the "
        "application that sent you here for a new link.",
    ),
    "connect_link_expired": (
        "Link expired",
        "This connect link has expired: links work for 10 minutes. Ask the application "
        "that sent you here for a new link.",
    ),
    "connect_link_used": (
        "Link already used",
        "This connect link has been used already; each link works once. Ask the "
        "application that sent you here for a new link if you need to connect again.",
    ),
}


def show(token: str, visit: Visit) -> Response[str]:
    """GET: the form, with a fresh CSRF cookie and the token that goes with it."""
    try:
        form = connect_page.show(token)
    except KeyfobError as refused:
        return _refusal(refused)
    response = _form(form)
    response.cookies.append(_cookie(form.link, visit, form.nonce))
    return response


def submit(
    token: str, visit: Visit, body: str | None, base64_encoded: bool, content_type: str
) -> Response[str]:
    """POST: make the connection from the form, or show the form again."""
    try:
        outcome = connect_page.submit(
            token, visit, lambda: read_form(body, base64_encoded, content_type)
        )
    except KeyfobError as refused:
        return _refusal(refused)
    if isinstance(outcome, Form):
        return _form(outcome)
    return _onward(outcome, visit)


def read_form(body: str | None, base64_encoded: bool, content_type: str) -> dict[str, str]:
    """An application/x-www-form-urlencoded body, each name once."""
    media = content_type.split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise UnsupportedFormat(
            "unsupported_content_type", "Send the form as application/x-www-form-urlencoded"
        )
    body = body or ""
    if len(body) > MAX_FORM_BYTES * 4 // 3 + 4:
        raise _form_too_large()
    try:
        raw = base64.b64decode(body, validate=True) if base64_encoded else body.encode()
        if len(raw) > MAX_FORM_BYTES:
            raise _form_too_large()
        pairs = parse_qsl(
            raw.decode("ascii"), keep_blank_values=True, max_num_fields=64, errors="strict"
        )
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise Malformed("invalid_form", "The form could not be read") from exc
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise Malformed("invalid_form", "A form field was sent twice")
        form[name] = value
    return form


def _form_too_large() -> TooLarge:
    return TooLarge(
        "payload_too_large", f"The form exceeds {MAX_FORM_BYTES} bytes", {"limit": MAX_FORM_BYTES}
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    if "{" in parts.netloc:  # a host named by a connection field: any https site
        return "https:"
    return f"{parts.scheme}://{parts.netloc}"


def _headers(
    link: LinkRecord, integration: IntegrationRecord, logo_url: str | None = None
) -> dict[str, str]:
    # form-action names where the form's answer sends the browser: the app, and for a
    # redirecting scheme the provider.
    targets = {"'self'"}
    if link.redirect_url:
        targets.add(_origin(link.redirect_url))
    provider = [
        integration.oauth.authorization_url if integration.oauth else None,
        integration.oauth1.authorization_url if integration.oauth1 else None,
        integration.github_app.install_url if integration.github_app else None,
    ]
    targets.update(_origin(url) for url in provider if url)
    if integration.mcp is not None:
        # A remote MCP server's authorization server is discovered when the form is sent.
        targets.add("https:")
    return security_headers(" ".join(sorted(targets)), logo_url)


def _form(form: Form) -> Response[str]:
    summary = bool(form.problems or form.errors)
    title = f"Connect {form.app.name}"
    return page(
        _STATUS[form.trouble],
        "connect.html",
        f"Error: {title}" if summary else title,
        _headers(form.link, form.integration, form.app.logo_url),
        app=form.app,
        summary=summary,
        problems=form.problems,
        errors=form.errors,
        redirects=form.redirects,
        fields=form.scheme.connection_fields,
        values=form.values,
        csrf_field=csrf.FIELD,
        csrf_token=form.csrf_token,
    )


def _cookie(link: LinkRecord, visit: Visit, nonce: str) -> Cookie:
    return Cookie(
        csrf.cookie_name(link.link_hash, visit.secure),
        nonce,
        path="/",
        secure=visit.secure,
        http_only=True,
        same_site=SameSite.STRICT_MODE,
        max_age=max(1, link.expires_at - int(time.time())),
    )


def _onward(done: Done, visit: Visit) -> Response[str]:
    if done.location is None:
        return message(200, "Account connected", "You can close this window.")
    gone = Cookie(
        csrf.cookie_name(done.link.link_hash, visit.secure),
        "",
        path="/",
        secure=visit.secure,
        http_only=True,
        max_age=0,
    )
    return Response(
        status_code=303,
        headers={"Location": done.location, **_headers(done.link, done.integration)},
        cookies=[gone],
        body="",
    )


def _refusal(exc: KeyfobError) -> Response[str]:
    heading, text = _REFUSALS.get(exc.code, ("Something went wrong", exc.message))
    status = errors.status_of(exc)
    logger.info("connect page refused", extra={"error_code": exc.code, "status": status})
    return message(status, heading, text, reload=exc.code == "csrf_check_failed")
