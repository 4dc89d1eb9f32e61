"""Starting a connection: an authorization to send the user to (INITIATED), or a credential
verified with the app and stored at once (ACTIVE)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from keyfob import auth
from keyfob.auth.base import Begun, Context, GrantError
from keyfob.catalog import loader
from keyfob.catalog.params import validate as validate_params
from keyfob.core.config import settings
from keyfob.core.errors import Invalid, UpstreamFailed
from keyfob.core.ids import iso, iso_epoch, lookup_hash, new_id, now
from keyfob.core.observability import logger, metrics
from keyfob.models.connections import ConnectionCreate, InitiatedAccount
from keyfob.models.records.accounts import AccountChanges, AccountRecord, LinkRecord, StateRecord
from keyfob.models.types import Status
from keyfob.services import events, records, return_urls, transitions, upstream_identity
from keyfob.services.tokens import token_changes

if TYPE_CHECKING:
    from keyfob.models.records.integrations import IntegrationRecord


def initiate(
    tenant_id: str,
    request: ConnectionCreate,
    callback_url: str,
    *,
    validate: bool = True,
    redirect_only: bool = False,
) -> InitiatedAccount:
    """Start a connection. ``redirect_only``: refuse any whose params carry the credential
    itself (a command event must never carry a secret)."""
    integration = records.integration(tenant_id, request.integration_id)
    if redirect_only and not auth.family(integration.auth_scheme).redirects:
        raise Invalid(
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
    scheme = loader.get_app(integration.app).scheme(integration.auth_scheme)
    values = validate_params(scheme.connection_fields, request.params, what="params")
    return_urls.check(integration, request.redirect_url)
    secret_names = {f.name for f in scheme.connection_fields if f.secret}
    plain = {k: v for k, v in values.items() if k not in secret_names and isinstance(v, str)}
    secret = {k: v for k, v in values.items() if k in secret_names}
    created = iso(now())
    account = AccountRecord(
        tenant_id=integration.tenant_id,
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
    begun = _begun(integration, plain, secret, callback_url)
    if begun.authorization is not None:
        url, state = authorization(
            integration, account.id, plain, account.return_url, callback_url, begun
        )
        account = account.model_copy(update=pending_changes(state).model_dump(exclude_unset=True))
        transitions.create(account, state=state, link=link, authorization_url=url)
        metrics.add_metric(name="ConnectionsInitiated", unit="Count", value=1)
        logger.info("connection initiated", extra={"connected_account_id": account.id})
        return InitiatedAccount(**account.view().model_dump(), redirect_url=url)

    from keyfob.security import crypto

    credential = dict(begun.credential)
    identity = (
        upstream_identity.verified(integration, credential, plain) if validate else AccountChanges()
    )
    family = auth.family(integration.auth_scheme)
    if family.renews:  # a token obtained at once (client credentials, a JWT assertion)
        renewal = token_changes(credential, integration.oauth, 0, family.renews_itself)
        identity = identity.merged(renewal)
    account = account.model_copy(
        update={
            **identity.model_dump(exclude_unset=True),
            "status": Status.ACTIVE,
            "secret": crypto.seal_account(
                credential, tenant_id=integration.tenant_id, account_id=account.id
            ),
        }
    )
    transitions.create(account, link=link)
    metrics.add_metric(name="ConnectionsActivated", unit="Count", value=1)
    logger.info("connection activated", extra={"connected_account_id": account.id})
    return InitiatedAccount(**account.view().model_dump(), redirect_url=None)


def _begin(
    integration: IntegrationRecord,
    plain: dict[str, str],
    secret: Mapping[str, Any],
    callback_url: str,
    scopes: tuple[str, ...],
) -> Begun:
    family = auth.family(integration.auth_scheme)
    context = Context(integration, plain, scopes=scopes)
    if family.begins_with_secret:
        from keyfob.services import integration_secrets

        held = integration_secrets.with_secret(integration.tenant_id, integration.id)
        context = held.context(plain)._replace(scopes=scopes)
    return family.begin(context, secret, callback_url)


def _begun(
    integration: IntegrationRecord,
    plain: dict[str, str],
    secret: Mapping[str, Any],
    callback_url: str,
    scopes: tuple[str, ...] = (),
) -> Begun:
    """The family's start; a credential it was refused at the provider is a 4xx."""
    try:
        return _begin(integration, plain, secret, callback_url, scopes)
    except GrantError as exc:
        if exc.transient:
            raise UpstreamFailed(
                "token_unavailable",
                f"Could not obtain a token from {integration.app}: {exc}; retry",
                {"app": integration.app},
            ) from None
        raise Invalid(
            "credentials_rejected",
            f"{integration.app} did not grant a token: {exc}",
            {"app": integration.app, "error": exc.error},
        ) from None


def authorization(
    integration: IntegrationRecord,
    account_id: str,
    params: dict[str, str],
    return_url: str | None,
    callback_url: str,
    begun: Begun | None = None,
    scopes: tuple[str, ...] = (),
) -> tuple[str, StateRecord]:
    """A new authorization attempt for an account: where to send the user, and the
    pending state the callback will match it by (its state value stored hashed)."""
    if begun is None:
        begun = _begun(integration, params, {}, callback_url, scopes)
    assert begun.authorization is not None
    pending = StateRecord(
        state_hash=lookup_hash(begun.authorization.state),
        tenant_id=integration.tenant_id,
        account_id=account_id,
        integration_id=integration.id,
        code_verifier=begun.authorization.code_verifier,
        redirect_uri=callback_url,
        return_url=return_url,
        params=params,
        created_at=iso(now()),
        expires_at=int(time.time()) + settings().state_ttl_seconds,
        grant=begun.authorization.grant,
        scopes=list(begun.authorization.scopes) if begun.authorization.scopes else None,
    )
    return begun.authorization.url, pending


def pending_changes(state: StateRecord) -> AccountChanges:
    """An attempt lapses with its state; the scheduled run records it as EXPIRED then."""
    return AccountChanges(pending_until=state.expires_at, due_at=iso_epoch(state.expires_at))
