"""The hosted connect page's use case: what an end user sees at a connect link's URL, and
what their form makes.

GET shows the app and a form with exactly the connection fields the end user supplies,
or, for a redirecting scheme, a button to the provider (after the fields such an app
needs first: a Zendesk subdomain, say). POST makes the connection as
POST /v1/connected_accounts does (validated, a key verified with the app) and sends the
browser on: to the link's redirect_url with connected_account_id and status, or to the
provider, whose callback then sends it there. A problem is shown on the page with what
was typed kept, secrets excepted. How it looks is ``keyfob.web.connect_page``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from pydantic import ValidationError

from keyfob import auth
from keyfob.catalog import loader
from keyfob.core.errors import Forbidden, Invalid, KeyfobError, NotFound, UpstreamFailed
from keyfob.core.observability import logger
from keyfob.core.urls import with_query
from keyfob.security import csrf
from keyfob.services import connect_links, records

if TYPE_CHECKING:
    from keyfob.catalog.schema import App, SchemeSpec
    from keyfob.models.records.accounts import LinkRecord
    from keyfob.models.records.integrations import IntegrationRecord


class Visit(NamedTuple):
    """What the page needs of the request besides the form."""

    base_url: str  # where browsers reach Keyfob
    callback_url: str
    cookies: Sequence[str] = ()  # "name=value", as API Gateway gives them
    fetch_site: str | None = None  # the Sec-Fetch-Site header

    @property
    def secure(self) -> bool:
        return not self.base_url.startswith("http://")


@dataclass
class Form:
    """The form to show: the app, its fields, what was typed and what is wrong with it."""

    token: str
    link: LinkRecord
    integration: IntegrationRecord
    app: App
    scheme: SchemeSpec
    nonce: str  # the CSRF cookie's value
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # Why it is shown again: the values (invalid) or the app (unreachable).
    trouble: Literal["invalid", "unreachable"] | None = None

    @property
    def csrf_token(self) -> str:
        return csrf.form_token(self.token, self.nonce)

    @property
    def redirects(self) -> bool:
        """Whether the user connects at the provider (a button) rather than here."""
        return auth.family(self.scheme.type).redirects


class Done(NamedTuple):
    """The connection is made or under way: the browser goes on to ``location`` (None:
    a link without a redirect_url, whose page says the account is connected)."""

    location: str | None
    link: LinkRecord
    integration: IntegrationRecord


def show(token: str) -> Form:
    """GET: the form, with a fresh CSRF nonce for the cookie and the token."""
    link = connect_links.find(token)
    integration = _integration(link)
    return _form(token, link, integration, csrf.new_nonce())


def submit(token: str, visit: Visit, read_form: Callable[[], dict[str, str]]) -> Form | Done:
    """POST: make the connection from the form, or the form again with what is wrong.
    The link is checked before the form is read."""
    link = connect_links.find(token)
    form = read_form()
    nonce = _verified_nonce(token, link, visit, form)
    integration = _integration(link)
    shown = _form(token, link, integration, nonce)
    typed = {f.name: form.get(f.name, "").strip() for f in shown.scheme.connection_fields}
    shown.values = {f.name: typed[f.name] for f in shown.scheme.connection_fields if not f.secret}
    # Starting the connection (the state machine, its events, the auth families): loaded
    # by a submission, not by showing the form.
    from keyfob.models.connections import ConnectionCreate
    from keyfob.services import connections

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
        shown.trouble = "invalid"
        return shown
    except Invalid as exc:
        _explain(exc, shown)
        shown.trouble = "invalid"
        return shown
    except UpstreamFailed:
        shown.problems.append(
            f"{shown.app.name} could not be reached to check these details. Try again."
        )
        shown.trouble = "unreachable"
        return shown
    logger.info(
        "connect link used",
        extra={"connect_link_id": link.id, "connected_account_id": started.id},
    )
    if started.redirect_url is not None:
        return Done(started.redirect_url, link, integration)  # the provider's page
    extra = {"connected_account_id": started.id, "status": started.status.value}
    onward = with_query(link.redirect_url, extra) if link.redirect_url else None
    return Done(onward, link, integration)


def _form(token: str, link: LinkRecord, integration: IntegrationRecord, nonce: str) -> Form:
    app = loader.get_app(integration.app)
    return Form(token, link, integration, app, app.scheme(integration.auth_scheme), nonce)


def _integration(link: LinkRecord) -> IntegrationRecord:
    try:
        return records.integration(link.tenant_id, link.integration_id)
    except NotFound as exc:
        raise NotFound(
            "connect_link_not_found", "The connection this link was for no longer exists"
        ) from exc


def _verified_nonce(token: str, link: LinkRecord, visit: Visit, form: dict[str, str]) -> str:
    """The cookie's nonce, if the form's CSRF token goes with it and the POST is not
    another site's."""
    prefix = f"{csrf.cookie_name(link.link_hash, visit.secure)}="
    nonce = next((c[len(prefix) :] for c in visit.cookies if c.startswith(prefix)), "")
    if not csrf.verified(token, nonce, form.get(csrf.FIELD, ""), visit.fetch_site):
        logger.info("connect form refused", extra={"connect_link_id": link.id})
        raise Forbidden(
            "csrf_check_failed",
            "This form could not be verified: it may have been open too long, or been "
            "sent from another site. Reload the page and try again.",
        )
    return nonce


def _explain(exc: KeyfobError, shown: Form) -> None:
    """What the core's refusal means, field by field, in words for the end user."""
    fields = {f.name: f for f in shown.scheme.connection_fields}
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
            f"{shown.app.name} did not accept these credentials. Check them and try again."
        )
    elif not shown.errors:
        shown.problems.append(exc.message)
