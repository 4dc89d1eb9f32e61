"""Connected accounts: initiating a connection, completing OAuth, reading accounts."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from keyfob import catalog, events, integrations, params, store, tokens, upstream
from keyfob.catalog import AuthScheme
from keyfob.config import settings
from keyfob.errors import BadRequest, Conflict, Unprocessable, UpstreamError
from keyfob.events import Change
from keyfob.ids import iso, iso_epoch, lookup_hash, new_id, now
from keyfob.models import (
    AccountPage,
    AccountRecord,
    AccountView,
    ConnectionCreate,
    InitiatedAccount,
    IntegrationRecord,
    LinkRecord,
    OAuthSettings,
    StateRecord,
    Status,
)
from keyfob.observability import logger, metrics
from keyfob.store import Expect, StaleAccount

_PROVIDER_ERROR = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def _invalid_redirect(problem: str) -> Unprocessable:
    return Unprocessable(
        "invalid_redirect_url",
        f"redirect_url {problem}",
        {"invalid": [{"field": "redirect_url", "reason": problem}]},
    )


def check_return_url(integration: IntegrationRecord, url: str | None) -> None:
    if url and (problem := params.url_problem(url)):
        raise _invalid_redirect(problem)
    if integration.require_confirmation and not url:
        # The confirmation code travels to the app's redirect_url: there must be one.
        raise _invalid_redirect("is required: the integration requires confirmation")


def initiate(
    tenant_id: str,
    request: ConnectionCreate,
    callback_url: str,
    *,
    validate: bool = True,
    oauth_only: bool = False,
) -> InitiatedAccount:
    """Start a connection. ``oauth_only``: refuse any other, whose params carry the
    credential itself (a command event must never carry a secret)."""
    integration = store.get_integration(tenant_id, request.integration_id)
    if oauth_only and integration.auth_scheme is not AuthScheme.OAUTH2:
        raise Unprocessable(
            "credentials_not_accepted",
            f"A {integration.auth_scheme.value} connection takes its credential in the "
            "request: connect it with the API, never in an event",
            {"integration_id": integration.id, "auth_scheme": integration.auth_scheme.value},
        )
    return start(integration, request, callback_url, validate=validate)


def start(
    integration: IntegrationRecord,
    request: ConnectionCreate,
    callback_url: str,
    *,
    validate: bool = True,
    link: LinkRecord | None = None,
) -> InitiatedAccount:
    """initiate, for an integration already read; made through a connect link, the
    account's creation uses the link up."""
    tenant_id = integration.tenant_id
    app = catalog.get_app(integration.app)
    scheme = app.scheme(integration.auth_scheme)
    values = params.validate(scheme.connection_fields, request.params, what="params")
    check_return_url(integration, request.redirect_url)
    secret_names = {f.name for f in scheme.connection_fields if f.secret}
    plain = {k: v for k, v in values.items() if k not in secret_names and isinstance(v, str)}
    created = iso(now())
    account = AccountRecord(
        tenant_id=tenant_id,
        id=new_id("ca"),
        integration_id=integration.id,
        app=integration.app,
        auth_scheme=integration.auth_scheme,
        entity_id=request.entity_id,
        status=Status.INITIATED,
        labels=request.labels,
        params=plain,
        return_url=request.redirect_url,
        requested_by_account=events.requester(),
        created_at=created,
        updated_at=created,
    )
    if scheme.type is AuthScheme.OAUTH2:
        url, state = authorization(integration, account.id, plain, account.return_url, callback_url)
        account = account.model_copy(update=pending_fields(state))
        store.create_account(account, state, link)
        events.connection_changed(Change.INITIATED, account, None, authorization_url=url)
        metrics.add_metric(name="ConnectionsInitiated", unit="Count", value=1)
        logger.info("connection initiated", extra={"connected_account_id": account.id})
        return InitiatedAccount(**account.view().model_dump(), redirect_url=url)

    from keyfob import crypto

    secret = {k: v for k, v in values.items() if k in secret_names}
    identity = _verify(integration, scheme, {**plain, **secret}) if validate else {}
    account = account.model_copy(
        update={
            "status": Status.ACTIVE,
            **identity,
            "secret": crypto.seal_account(secret, tenant_id=tenant_id, account_id=account.id),
        }
    )
    store.create_account(account, link=link)
    events.connection_changed(Change.ACTIVATED, account, None)
    metrics.add_metric(name="ConnectionsActivated", unit="Count", value=1)
    logger.info("connection activated", extra={"connected_account_id": account.id})
    return InitiatedAccount(**account.view().model_dump(), redirect_url=None)


def _verify(
    integration: IntegrationRecord, scheme: catalog.SchemeSpec, values: dict[str, Any]
) -> dict[str, Any]:
    """Ask the app whether it takes the credential: refuse it if not, before storing."""
    if integration.api is None or integration.api.identity is None:
        return {}
    result = upstream.probe(integration.api, scheme.apply, values, values)
    if result.outcome == "rejected":
        raise Unprocessable(
            "credentials_rejected",
            f"{integration.app} rejected the credentials ({result.message})",
            {"app": integration.app},
        )
    if result.outcome == "unavailable":
        raise UpstreamError(
            "verification_unavailable",
            f"Could not verify the credentials with {integration.app}: {result.message}; "
            "retry, or pass validate=false to store them unverified",
            {"app": integration.app},
        )
    return _identity_fields(result)


def _identity_fields(result: upstream.ProbeResult) -> dict[str, Any]:
    return {
        "upstream_account_id": result.account_id,
        "upstream_display_name": result.display_name,
    }


def authorization(
    integration: IntegrationRecord,
    account_id: str,
    account_params: dict[str, str],
    return_url: str | None,
    callback_url: str,
) -> tuple[str, StateRecord]:
    """A new authorization attempt for an account: the provider URL and its state."""
    from keyfob import oauth

    assert integration.oauth and integration.client_id
    endpoints = oauth.resolve(integration.oauth, account_params)
    state = oauth.new_state()
    verifier = oauth.new_code_verifier() if endpoints.pkce else None
    url = oauth.authorization_url(
        endpoints,
        client_id=integration.client_id,
        redirect_uri=callback_url,
        scopes=integration.scopes,
        state=state,
        code_verifier=verifier,
    )
    pending = StateRecord(
        state_hash=lookup_hash(state),
        tenant_id=integration.tenant_id,
        account_id=account_id,
        integration_id=integration.id,
        code_verifier=verifier,
        redirect_uri=callback_url,
        return_url=return_url,
        params=account_params,
        created_at=iso(now()),
        expires_at=int(time.time()) + settings().state_ttl_seconds,
    )
    return url, pending


def pending_fields(state: StateRecord) -> dict[str, Any]:
    """An attempt lapses with its state; the scheduled run records it as EXPIRED then."""
    return {"pending_until": state.expires_at, "due_at": iso_epoch(state.expires_at)}


# --- OAuth callback ----------------------------------------------------------------


@dataclass(frozen=True)
class CallbackOutcome:
    account: AccountRecord
    return_url: str | None
    confirmation_code: str | None = None


def complete_authorization(query: dict[str, str]) -> CallbackOutcome:
    """Handle the provider's redirect back to us; every outcome is stored on the account."""
    from keyfob import oauth

    state = query.get("state")
    if not state:
        raise BadRequest("missing_state", "The authorization response carries no state")
    claimed_at = now()
    pending = store.claim_state(lookup_hash(state), int(claimed_at.timestamp()), iso(claimed_at))
    if error := query.get("error"):
        code = error if _PROVIDER_ERROR.match(error) else "unrecognised_error"
        return _failed(pending, f"provider returned error: {code}")
    if not query.get("code"):
        return _failed(pending, "authorization response had no code")
    integration = integrations.with_secret(pending.tenant_id, pending.integration_id)
    record = integration.record
    assert record.oauth and record.client_id
    endpoints = oauth.resolve(record.oauth, pending.params)
    if reason := _issuer_problem(endpoints, query.get("iss")):
        return _failed(pending, reason)
    try:
        token_set = oauth.exchange_code(
            endpoints,
            client_id=record.client_id,
            client_secret=integration.client_secret,
            code=query["code"],
            redirect_uri=pending.redirect_uri,
            code_verifier=pending.code_verifier,
        )
    except oauth.TokenError as exc:
        return _failed(pending, str(exc))
    return _activate(pending, record, token_set)


def _issuer_problem(endpoints: OAuthSettings, iss: str | None) -> str | None:
    # RFC 9207: an integration that names its issuer requires a matching `iss`.
    if endpoints.issuer is None:
        return None
    if iss is None:
        return "authorization response had no iss (RFC 9207)"
    if iss != endpoints.issuer:
        return "authorization response came from another issuer (RFC 9207)"
    return None


def _finish(pending: StateRecord, changes: dict[str, Any]) -> AccountRecord:
    """Move the INITIATED account to its outcome; only ever from INITIATED."""
    try:
        return store.update_account(
            pending.tenant_id,
            pending.account_id,
            {**changes, "updated_at": iso(now())},
            Expect(statuses={Status.INITIATED}),
            int(time.time()),
        )
    except StaleAccount as exc:
        raise Conflict(
            "account_not_pending",
            "The connected account is no longer waiting for authorization",
            {"connected_account_id": pending.account_id},
        ) from exc


def _failed(pending: StateRecord, reason: str) -> CallbackOutcome:
    metrics.add_metric(name="ConnectionsFailed", unit="Count", value=1)
    logger.info(
        "connection failed",
        extra={"connected_account_id": pending.account_id, "status_reason": reason},
    )
    account = _finish(
        pending,
        {
            "status": Status.FAILED.value,
            "status_reason": reason,
            "pending_until": None,
            "due_at": None,
        },
    )
    events.connection_changed(Change.FAILED, account, Status.INITIATED)
    return CallbackOutcome(account, pending.return_url)


def _activate(
    pending: StateRecord, integration: IntegrationRecord, token_set: dict[str, Any]
) -> CallbackOutcome:
    from keyfob import crypto

    assert integration.oauth
    identity = _identify(integration, token_set, pending.params)
    blob = crypto.seal_account(
        token_set, tenant_id=pending.tenant_id, account_id=pending.account_id
    )
    changes: dict[str, Any] = {
        "secret": blob.model_dump(),
        **tokens.stored_fields(token_set, integration.oauth, store.Increment()),
        **identity,
        "status_reason": None,
    }
    code = None
    if integration.require_confirmation:
        code = secrets.token_urlsafe(32)
        expires = int(time.time()) + settings().state_ttl_seconds
        changes.update(
            status=Status.AWAITING_CONFIRMATION.value,
            confirmation_hash=lookup_hash(code),
            pending_until=expires,
            due_at=iso_epoch(expires),
        )
    else:
        changes.update(status=Status.ACTIVE.value, pending_until=None)
    account = _finish(pending, changes)
    change = Change.ACTIVATED if code is None else Change.AWAITING_CONFIRMATION
    events.connection_changed(change, account, Status.INITIATED)
    metrics.add_metric(name="ConnectionsActivated", unit="Count", value=1)
    message = "connection activated" if code is None else "connection awaiting confirmation"
    logger.info(message, extra={"connected_account_id": account.id})
    return CallbackOutcome(account, pending.return_url, code)


def _identify(
    integration: IntegrationRecord, token_set: dict[str, Any], account_params: dict[str, str]
) -> dict[str, Any]:
    """Which upstream account was connected; best effort, it never fails a connection."""
    if integration.api is None or integration.api.identity is None:
        return {}
    scheme = catalog.get_app(integration.app).scheme(integration.auth_scheme)
    result = upstream.probe(integration.api, scheme.apply, token_set, account_params)
    if result.outcome != "valid":
        logger.warning(
            "identity not fetched", extra={"app": integration.app, "reason": result.message}
        )
        return {}
    return _identity_fields(result)


# --- reading accounts --------------------------------------------------------------


def list_page(
    tenant_id: str,
    *,
    entity_id: str | None,
    app: str | None,
    integration_id: str | None,
    status: Status | None,
    limit: int,
    cursor: str | None,
) -> AccountPage:
    filters = {
        k: v for k, v in {"app": app, "integration_id": integration_id}.items() if v is not None
    }
    moment = time.time()
    records, next_cursor = store.query_accounts(
        tenant_id,
        entity_id=entity_id,
        filters=filters,
        status=status,
        now_epoch=int(moment),
        limit=limit,
        cursor=cursor,
    )
    return AccountPage(items=[r.effective(moment).view() for r in records], next_cursor=next_cursor)


def get(tenant_id: str, account_id: str) -> AccountView:
    return store.get_account(tenant_id, account_id).effective(time.time()).view()
