"""The hosted connect page: what an end user sees at a connect link's URL.

GET shows the app and a form with exactly the connection fields the end user supplies
(secrets as password inputs), or, for OAuth 2.0, a button to the provider (after the
fields such an app needs first: a Zendesk subdomain, say). POST makes the connection as
POST /v1/connected_accounts does (validated, a key verified with the app) and sends the
browser on: to the link's redirect_url with connected_account_id and status, or to the
provider, whose callback then sends it there. A problem is shown on the page with what
was typed kept, secrets excepted. No script, no framing, no referrer (the URL holds the
link's token), nothing cached.

CSRF: the form carries a token that is an HMAC, keyed with the link's own token, of a
random value the page sets in a cookie too (HttpOnly, SameSite=Strict, and Secure with
a __Host- name except on plain-http loopback). A POST must bring both, matching, and
must not come from another site (Sec-Fetch-Site). Nothing is stored per page view.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from pydantic import ValidationError

from keyfob import catalog, connect_links, connections, store
from keyfob.catalog import App, AuthScheme, ParamField, SchemeSpec
from keyfob.errors import (
    BadRequest,
    Forbidden,
    KeyfobError,
    NotFound,
    PayloadTooLarge,
    Unprocessable,
    UnsupportedMediaType,
    UpstreamError,
)
from keyfob.models import ConnectionCreate, IntegrationRecord, LinkRecord
from keyfob.observability import logger
from keyfob.pages import with_query

MAX_FORM_BYTES = 16 * 1024
_CSRF_FIELD = "csrf_token"

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;"
    "line-height:1.5;color:#1a1a1a}"
    "h1{font-size:1.6rem}"
    "fieldset{border:1px solid #767676;border-radius:6px;padding:1rem;margin:1rem 0}"
    "legend{font-weight:600;padding:0 .3rem}"
    ".field{margin:0 0 1.2rem}"
    "label{display:block;font-weight:600}"
    ".hint{margin:.1rem 0 .3rem;color:#444}"
    "input{width:100%;box-sizing:border-box;padding:.5rem;font:inherit;"
    "border:1px solid #555;border-radius:4px}"
    "input:focus,button:focus,a:focus{outline:3px solid #1d70b8;outline-offset:2px}"
    "input[aria-invalid=true]{border:2px solid #b00020}"
    ".error{color:#b00020;font-weight:600;margin:.2rem 0}"
    ".summary{border:3px solid #b00020;padding:.2rem 1rem;margin:1rem 0}"
    ".summary h2{font-size:1.15rem}"
    "button{font:inherit;font-weight:600;padding:.6rem 1.4rem;background:#1d70b8;color:#fff;"
    "border:0;border-radius:4px;cursor:pointer}"
    ".note{color:#444;font-size:.9rem;margin-top:2rem}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<style>{style}</style>
</head><body><main>
{content}
</main></body></html>
"""


@dataclass(frozen=True)
class Visit:
    """What the page needs of the request besides the form."""

    base_url: str  # where browsers reach Keyfob
    callback_url: str
    cookies: list[str] = field(default_factory=list)  # "name=value", as API Gateway gives them
    fetch_site: str | None = None  # the Sec-Fetch-Site header

    @property
    def secure(self) -> bool:
        return not self.base_url.startswith("http://")


@dataclass
class _Form:
    """The state of the form being shown: typed values and what is wrong with them."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


# --- requests ----------------------------------------------------------------------


def show(token: str, visit: Visit) -> Response[str]:
    """GET: the form, with a fresh CSRF cookie and the token that goes with it."""
    try:
        link = connect_links.find(token)
        integration = _integration(link)
    except KeyfobError as refused:
        return _refusal(refused)
    nonce = secrets.token_urlsafe(24)
    response = _form_response(200, token, link, integration, visit, nonce, _Form())
    response.cookies.append(_cookie(link, visit, nonce))
    return response


def submit(
    token: str, visit: Visit, body: str | None, base64_encoded: bool, content_type: str
) -> Response[str]:
    """POST: make the connection from the form, or show the form again with what is wrong."""
    try:
        link = connect_links.find(token)
        form = read_form(body, base64_encoded, content_type)
        nonce = _verified_nonce(token, link, visit, form)
        integration = _integration(link)
    except KeyfobError as refused:
        return _refusal(refused)
    scheme = catalog.get_app(integration.app).scheme(integration.auth_scheme)
    typed = {f.name: form.get(f.name, "").strip() for f in scheme.connection_fields}
    shown = _Form(values={f.name: typed[f.name] for f in scheme.connection_fields if not f.secret})
    try:
        request = ConnectionCreate(
            integration_id=integration.id,
            entity_id=link.entity_id,
            params={name: value for name, value in typed.items() if value},
            redirect_url=link.redirect_url,
            labels=link.labels,
        )
        started = connections.start(integration, request, visit.callback_url, link=link)
    except ValidationError:
        shown.problems.append("A value is too long.")
        return _form_response(422, token, link, integration, visit, nonce, shown)
    except Unprocessable as exc:
        _explain(exc, scheme, catalog.get_app(integration.app), shown)
        return _form_response(422, token, link, integration, visit, nonce, shown)
    except UpstreamError:
        name = catalog.get_app(integration.app).name
        shown.problems.append(f"{name} could not be reached to check these details. Try again.")
        return _form_response(502, token, link, integration, visit, nonce, shown)
    except KeyfobError as refused:
        return _refusal(refused)
    logger.info(
        "connect link used",
        extra={"connect_link_id": link.id, "connected_account_id": started.id},
    )
    if started.redirect_url is not None:
        location = started.redirect_url  # the provider's authorization page
    else:
        extra = {"connected_account_id": started.id, "status": started.status.value}
        location = with_query(link.redirect_url, extra)
    gone = Cookie(
        _cookie_name(link, visit), "", path="/", secure=visit.secure, http_only=True, max_age=0
    )
    return Response(
        status_code=303,
        headers={"Location": location, **_headers(link, integration)},
        cookies=[gone],
        body="",
    )


def read_form(body: str | None, base64_encoded: bool, content_type: str) -> dict[str, str]:
    """An application/x-www-form-urlencoded body, each name once."""
    media = content_type.split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType(
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
        raise BadRequest("invalid_form", "The form could not be read") from exc
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise BadRequest("invalid_form", "A form field was sent twice")
        form[name] = value
    return form


def _form_too_large() -> PayloadTooLarge:
    return PayloadTooLarge(
        "payload_too_large", f"The form exceeds {MAX_FORM_BYTES} bytes", {"limit": MAX_FORM_BYTES}
    )


def _integration(link: LinkRecord) -> IntegrationRecord:
    try:
        return store.get_integration(link.tenant_id, link.integration_id)
    except NotFound as exc:
        raise NotFound(
            "connect_link_not_found", "The connection this link was for no longer exists"
        ) from exc


# --- CSRF --------------------------------------------------------------------------


def _csrf_token(token: str, nonce: str) -> str:
    return hmac.new(token.encode(), f"connect-page-csrf:{nonce}".encode(), "sha256").hexdigest()


def _cookie_name(link: LinkRecord, visit: Visit) -> str:
    # One per link, so that two links open in two tabs do not undo each other's form.
    name = f"keyfob_csrf_{link.link_hash[:16]}"
    return f"__Host-{name}" if visit.secure else name


def _cookie(link: LinkRecord, visit: Visit, nonce: str) -> Cookie:
    return Cookie(
        _cookie_name(link, visit),
        nonce,
        path="/",
        secure=visit.secure,
        http_only=True,
        same_site=SameSite.STRICT_MODE,
        max_age=max(1, link.expires_at - int(time.time())),
    )


def _verified_nonce(token: str, link: LinkRecord, visit: Visit, form: dict[str, str]) -> str:
    """The cookie's value, if the form's CSRF token goes with it and the POST is not
    another site's."""
    prefix = f"{_cookie_name(link, visit)}="
    nonce = next((c[len(prefix) :] for c in visit.cookies if c.startswith(prefix)), "")
    sent = form.get(_CSRF_FIELD, "")
    cross_site = visit.fetch_site not in (None, "same-origin")
    if cross_site or not nonce or not hmac.compare_digest(sent, _csrf_token(token, nonce)):
        logger.info("connect form refused", extra={"connect_link_id": link.id})
        raise Forbidden(
            "csrf_check_failed",
            "This form could not be verified: it may have been open too long, or been "
            "sent from another site. Reload the page and try again.",
        )
    return nonce


# --- pages -------------------------------------------------------------------------


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    if "{" in parts.netloc:  # a host named by a connection field: any https site
        return "https:"
    return f"{parts.scheme}://{parts.netloc}"


def _security_headers(form_action: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; "
            f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
        ),
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }


def _headers(link: LinkRecord, integration: IntegrationRecord) -> dict[str, str]:
    # form-action: browsers hold the redirect after a POST to it too, so it names where
    # the form's answer sends the browser: the app, and for OAuth the provider.
    targets = {"'self'", _origin(link.redirect_url)}
    if integration.oauth is not None and integration.oauth.authorization_url:
        targets.add(_origin(integration.oauth.authorization_url))
    return _security_headers(" ".join(sorted(targets)))


def _page(status: int, title: str, content: str, headers: dict[str, str]) -> Response[str]:
    body = _PAGE.format(title=_e(title), style=_STYLE, content=content)
    return Response(
        status_code=status, content_type=content_types.TEXT_HTML, body=body, headers=headers
    )


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


def _refusal(exc: KeyfobError) -> Response[str]:
    title, message = _REFUSALS.get(exc.code, ("Something went wrong", exc.message))
    content = f"<h1>{_e(title)}</h1>\n<p>{_e(message)}</p>"
    if exc.code == "csrf_check_failed":
        content += '\n<p><a href="">Reload the page</a></p>'
    headers = _security_headers("'none'")
    logger.info("connect page refused", extra={"error_code": exc.code, "status": exc.status})
    return _page(exc.status, title, content, headers)


def _explain(exc: Unprocessable, scheme: SchemeSpec, app: App, shown: _Form) -> None:
    """What the core's 422 means, field by field, in words for the end user."""
    fields = {f.name: f for f in scheme.connection_fields}
    details: Any = exc.details if isinstance(exc.details, dict) else {}
    for name in details.get("missing", []):
        if name in fields:
            shown.errors[name] = f"Enter your {fields[name].display_name}."
    for item in details.get("invalid", []):
        name = item.get("field")
        if name in fields:
            reason = str(item.get("reason", ""))
            if reason.startswith("must match"):
                reason = "is not in the expected format"
            shown.errors[name] = f"{fields[name].display_name} {reason}."
    if exc.code == "credentials_rejected":
        shown.problems.append(
            f"{app.name} did not accept these credentials. Check them and try again."
        )
    elif not shown.errors:
        shown.problems.append(exc.message)


def _form_response(
    status: int,
    token: str,
    link: LinkRecord,
    integration: IntegrationRecord,
    visit: Visit,
    nonce: str,
    shown: _Form,
) -> Response[str]:
    app = catalog.get_app(integration.app)
    scheme = app.scheme(integration.auth_scheme)
    oauth = scheme.type is AuthScheme.OAUTH2
    parts = [f"<h1>Connect your {_e(app.name)} account</h1>"]
    summary = [*(_e(p) for p in shown.problems)]
    summary += [
        f'<a href="#f-{_e(name)}">{_e(message)}</a>' for name, message in shown.errors.items()
    ]
    if summary:
        items = "".join(f"<li>{item}</li>" for item in summary)
        parts.append(
            '<div class="summary" role="alert" aria-labelledby="problem">'
            f'<h2 id="problem">There is a problem</h2><ul>{items}</ul></div>'
        )
    if oauth:
        parts.append(
            f"<p>You will go to {_e(app.name)} to approve access, then back to the "
            "application that sent you here.</p>"
        )
    else:
        parts.append(
            f"<p>The application that sent you here asks for your {_e(app.name)} "
            "credentials, to act on your behalf.</p>"
        )
    form = [
        '<form method="post">',
        f'<input type="hidden" name="{_CSRF_FIELD}" value="{_csrf_token(token, nonce)}">',
    ]
    if scheme.connection_fields:
        legend = f"Your {app.name} account" if oauth else f"Your {app.name} credentials"
        form.append(f"<fieldset><legend>{_e(legend)}</legend>")
        form += [_field(f, shown) for f in scheme.connection_fields]
        form.append("</fieldset>")
    button = f"Continue to {app.name}" if oauth else f"Connect {app.name}"
    form += [f'<button type="submit">{_e(button)}</button>', "</form>"]
    parts += form
    parts.append(
        '<p class="note">Keyfob keeps what you enter encrypted and uses it only for the '
        "application that sent you here.</p>"
    )
    title = f"Connect {app.name}"
    return _page(
        status,
        f"Error: {title}" if summary else title,
        "\n".join(parts),
        _headers(link, integration),
    )


def _field(spec: ParamField, shown: _Form) -> str:
    ident = f"f-{spec.name}"
    kind = "password" if spec.secret else ("url" if spec.type == "url" else "text")
    described = [f"{ident}-hint"]
    error = shown.errors.get(spec.name)
    lines = [
        '<div class="field">',
        f'<label for="{ident}">{_e(spec.display_name)}'
        f"{'' if spec.required else ' (optional)'}</label>",
        f'<p class="hint" id="{ident}-hint">{_e(spec.description)}</p>',
    ]
    if error:
        described.append(f"{ident}-error")
        lines.append(f'<p class="error" id="{ident}-error">Error: {_e(error)}</p>')
    value = "" if spec.secret else shown.values.get(spec.name, "")
    attributes = [
        f'id="{ident}"',
        f'name="{_e(spec.name)}"',
        f'type="{kind}"',
        'autocomplete="off"',
        'spellcheck="false"',
        'autocapitalize="none"',
        'maxlength="4096"',
        f'aria-describedby="{" ".join(described)}"',
    ]
    if spec.required:
        attributes.append("required")
    if error:
        attributes.append('aria-invalid="true"')
    if value:
        attributes.append(f'value="{_e(value)}"')
    lines += [f"<input {' '.join(attributes)}>", "</div>"]
    return "\n".join(lines)
