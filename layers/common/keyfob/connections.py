"""Connected accounts: initiating a connection, completing OAuth, reading accounts."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from keyfob import catalog, params, store
from keyfob.catalog import AuthScheme
from keyfob.config import settings
from keyfob.errors import BadRequest, Conflict, Unprocessable
from keyfob.ids import iso, new_id, now
from keyfob.models import (
    AccountPage,
    AccountRecord,
    AccountView,
    ConnectionCreate,
    Credentials,
    InitiatedAccount,
    IntegrationRecord,
    OAuthSettings,
    StateRecord,
    Status,
)
from keyfob.observability import logger, metrics

_INTEGRATION_CACHE_SECONDS = 300
_PROVIDER_ERROR = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def _account_record(account_id: str) -> str:
    return f"ACCOUNT#{account_id}"


def initiate(tenant_id: str, request: ConnectionCreate, callback_url: str) -> InitiatedAccount:
    integration = store.get_integration(tenant_id, request.integration_id)
    app = catalog.get_app(integration.app)
    scheme = app.scheme(integration.auth_scheme)
    values = params.validate(scheme.connection_fields, request.params, what="params")
    if request.redirect_url and (problem := params.url_problem(request.redirect_url)):
        raise Unprocessable(
            "invalid_redirect_url",
            f"redirect_url {problem}",
            {"invalid": [{"field": "redirect_url", "reason": problem}]},
        )
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
        created_at=created,
        updated_at=created,
    )
    if scheme.type is AuthScheme.OAUTH2:
        return _initiate_oauth(integration, account, callback_url)

    from keyfob import crypto

    secret = {k: v for k, v in values.items() if k in secret_names}
    account = account.model_copy(
        update={
            "status": Status.ACTIVE,
            "secret": crypto.encrypt(
                secret, tenant_id=tenant_id, record=_account_record(account.id)
            ),
        }
    )
    store.create_account(account)
    metrics.add_metric(name="ConnectionsActivated", unit="Count", value=1)
    logger.info("connection activated", extra={"connected_account_id": account.id})
    return InitiatedAccount(**account.view().model_dump(), redirect_url=None)


def _initiate_oauth(
    integration: IntegrationRecord, account: AccountRecord, callback_url: str
) -> InitiatedAccount:
    from keyfob import oauth

    assert integration.oauth and integration.client_id
    endpoints = oauth.resolve(integration.oauth, account.params)
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
        state_hash=oauth.hash_state(state),
        tenant_id=account.tenant_id,
        account_id=account.id,
        integration_id=integration.id,
        code_verifier=verifier,
        redirect_uri=callback_url,
        return_url=account.return_url,
        params=account.params,
        created_at=account.created_at,
        expires_at=int(time.time()) + settings().state_ttl_seconds,
    )
    store.create_account(account, pending)
    metrics.add_metric(name="ConnectionsInitiated", unit="Count", value=1)
    logger.info("connection initiated", extra={"connected_account_id": account.id})
    return InitiatedAccount(**account.view().model_dump(), redirect_url=url)


# --- OAuth callback ----------------------------------------------------------------


@dataclass(frozen=True)
class CallbackOutcome:
    account: AccountRecord
    return_url: str | None


@dataclass(frozen=True)
class _CachedIntegration:
    record: IntegrationRecord
    client_secret: str
    until: float


_integrations: dict[tuple[str, str], _CachedIntegration] = {}


def _integration_with_secret(tenant_id: str, integration_id: str) -> _CachedIntegration:
    """Integrations are immutable and cannot be deleted while an account is pending,
    so a warm instance may keep the decrypted client secret for a few minutes."""
    key = (tenant_id, integration_id)
    cached = _integrations.get(key)
    if cached and cached.until > time.monotonic():
        return cached
    from keyfob import crypto

    record = store.get_integration(tenant_id, integration_id)
    secret = ""
    if record.secret is not None:
        secret = crypto.decrypt(
            record.secret, tenant_id=tenant_id, record=f"INTEGRATION#{record.id}"
        )["client_secret"]
    cached = _CachedIntegration(record, secret, time.monotonic() + _INTEGRATION_CACHE_SECONDS)
    _integrations[key] = cached
    return cached


def complete_authorization(query: dict[str, str]) -> CallbackOutcome:
    """Handle the provider's redirect back to us; every outcome is stored on the account."""
    from keyfob import oauth

    state = query.get("state")
    if not state:
        raise BadRequest("missing_state", "The authorization response carries no state")
    claimed_at = now()
    pending = store.claim_state(
        oauth.hash_state(state), int(claimed_at.timestamp()), iso(claimed_at)
    )
    tokens, reason = None, None
    if error := query.get("error"):
        code = error if _PROVIDER_ERROR.match(error) else "unrecognised_error"
        reason = f"provider returned error: {code}"
    elif not query.get("code"):
        reason = "authorization response had no code"
    else:
        cached = _integration_with_secret(pending.tenant_id, pending.integration_id)
        assert cached.record.oauth and cached.record.client_id
        endpoints = oauth.resolve(cached.record.oauth, pending.params)
        reason = _issuer_problem(endpoints, query.get("iss"))
        if reason is None:
            try:
                tokens = oauth.exchange_code(
                    endpoints,
                    client_id=cached.record.client_id,
                    client_secret=cached.client_secret,
                    code=query["code"],
                    redirect_uri=pending.redirect_uri,
                    code_verifier=pending.code_verifier,
                )
            except oauth.TokenExchangeError as exc:
                reason = str(exc)
    return CallbackOutcome(_finish(pending, tokens, reason), pending.return_url)


def _issuer_problem(endpoints: OAuthSettings, iss: str | None) -> str | None:
    # RFC 9207: an integration that names its issuer requires a matching `iss`.
    if endpoints.issuer is None:
        return None
    if iss is None:
        return "authorization response had no iss (RFC 9207)"
    if iss != endpoints.issuer:
        return "authorization response came from another issuer (RFC 9207)"
    return None


def _finish(
    pending: StateRecord, tokens: dict[str, Any] | None, reason: str | None
) -> AccountRecord:
    updated = iso(now())
    if tokens is None:
        metrics.add_metric(name="ConnectionsFailed", unit="Count", value=1)
        logger.info(
            "connection failed",
            extra={"connected_account_id": pending.account_id, "status_reason": reason},
        )
        return store.finish_authorization(
            pending.tenant_id,
            pending.account_id,
            status=Status.FAILED,
            status_reason=reason or "authorization failed",
            updated_at=updated,
        )
    from keyfob import crypto

    blob = crypto.encrypt(
        tokens, tenant_id=pending.tenant_id, record=_account_record(pending.account_id)
    )
    account = store.finish_authorization(
        pending.tenant_id,
        pending.account_id,
        status=Status.ACTIVE,
        secret=blob.model_dump(),
        token_expires_at=tokens.get("expires_at"),
        updated_at=updated,
    )
    metrics.add_metric(name="ConnectionsActivated", unit="Count", value=1)
    logger.info("connection activated", extra={"connected_account_id": account.id})
    return account


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
        k: v
        for k, v in {
            "app": app,
            "integration_id": integration_id,
            "status": status.value if status else None,
        }.items()
        if v is not None
    }
    records, next_cursor = store.query_accounts(
        tenant_id, entity_id=entity_id, filters=filters, limit=limit, cursor=cursor
    )
    return AccountPage(items=[r.view() for r in records], next_cursor=next_cursor)


def get(tenant_id: str, account_id: str) -> AccountView:
    return store.get_account(tenant_id, account_id).view()


def credentials(tenant_id: str, account_id: str) -> Credentials:
    account = store.get_account(tenant_id, account_id)
    if account.status is not Status.ACTIVE or account.secret is None:
        raise Conflict(
            "account_not_active",
            f"Connected account is {account.status.value}, not ACTIVE",
            {"connected_account_id": account_id, "status": account.status.value},
        )
    from keyfob import crypto

    secret = crypto.decrypt(account.secret, tenant_id=tenant_id, record=_account_record(account.id))
    return Credentials(
        connected_account_id=account.id,
        app=account.app,
        auth_scheme=account.auth_scheme,
        status=account.status,
        credentials={**account.params, **secret},
    )
