"""The OAuth callback: the provider sends the user's browser back with a code (or an
error); every outcome is stored on the account the state names."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from keyfob import auth
from keyfob.auth.base import GrantError
from keyfob.core.config import settings
from keyfob.core.errors import Conflict, Lapsed, NotFound
from keyfob.core.ids import iso, iso_epoch, lookup_hash, now
from keyfob.core.observability import logger, metrics
from keyfob.core.urls import with_query
from keyfob.models.records.accounts import AccountChanges, AccountRecord, Increment, StateRecord
from keyfob.services import integration_secrets, tokens, transitions, upstream_identity
from keyfob.store import states
from keyfob.store.errors import StaleAccount, Unusable

if TYPE_CHECKING:
    from keyfob.models.mcp import Grant
    from keyfob.models.settings import OAuthSettings
    from keyfob.services.transitions import Transition

_PROVIDER_ERROR = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


class Outcome(NamedTuple):
    """The account as the callback left it, and where the browser goes: the app's
    redirect_url with connected_account_id and status (and the confirmation code), or
    nowhere (a page says how it went)."""

    account: AccountRecord
    location: str | None


def _outcome(account: AccountRecord, pending: StateRecord, code: str | None = None) -> Outcome:
    if not pending.return_url:
        return Outcome(account, None)
    extra = {"connected_account_id": account.id, "status": account.status.value}
    if code:
        extra["confirmation_code"] = code
    return Outcome(account, with_query(pending.return_url, extra))


def complete(query: Mapping[str, str]) -> Outcome:
    """Handle the provider's redirect back to us (with the state Keyfob sent it)."""
    pending = _claimed(query["state"])
    # Before anything else, an error included: a response from another issuer is not
    # acted on at all (MCP 2026-07-28).
    if pending.grant and (reason := _grant_issuer_problem(pending.grant, query.get("iss"))):
        return _failed(pending, reason)
    if error := query.get("error"):
        reason = error if _PROVIDER_ERROR.match(error) else "unrecognised_error"
        return _failed(pending, f"provider returned error: {reason}")
    integration = integration_secrets.with_secret(pending.tenant_id, pending.integration_id)
    family = auth.family(integration.record.auth_scheme)
    code = family.callback_code(query)
    if not code:
        return _failed(pending, "authorization response had no code")
    context = integration.context(pending.params, pending.grant)
    oauth = integration.record.oauth
    if oauth is not None and (reason := _issuer_problem(oauth, query.get("iss"))):
        return _failed(pending, reason)
    try:
        token_set = family.complete(context, code, pending.redirect_uri, pending.code_verifier)
    except GrantError as exc:
        return _failed(pending, str(exc))
    identity = upstream_identity.identified(integration.record, token_set, pending.params)
    from keyfob.security import crypto

    changes = identity.merged(
        tokens.token_changes(token_set, oauth, Increment(), family.renews_itself)
    ).merged(tokens.scope_changes(token_set, pending.scopes, oauth))
    changes = changes.model_copy(
        update={
            "secret": crypto.seal_account(
                token_set, tenant_id=pending.tenant_id, account_id=pending.account_id
            ),
            "status_reason": None,
        }
    )
    if not integration.record.require_confirmation:
        changes = changes.model_copy(update={"pending_until": None})
        account = _finish(pending, transitions.ACTIVATE, changes)
        logger.info("connection activated", extra={"connected_account_id": account.id})
        metrics.add_metric(name="ConnectionsActivated", unit="Count", value=1)
        return _outcome(account, pending)
    code = secrets.token_urlsafe(32)
    expires = int(time.time()) + settings().state_ttl_seconds
    changes = changes.model_copy(
        update={
            "confirmation_hash": lookup_hash(code),
            "pending_until": expires,
            "due_at": iso_epoch(expires),
        }
    )
    account = _finish(pending, transitions.AWAIT_CONFIRMATION, changes)
    logger.info("connection awaiting confirmation", extra={"connected_account_id": account.id})
    metrics.add_metric(name="ConnectionsActivated", unit="Count", value=1)
    return _outcome(account, pending, code)


def client_metadata_document(base_url: str) -> dict[str, Any]:
    """Keyfob's OAuth Client ID Metadata Document, as served at its client_id URL: the
    client that remote MCP servers' authorization servers send back to this callback."""
    from keyfob.auth import mcp

    return mcp.client_metadata(base_url)


def _claimed(state: str) -> StateRecord:
    """The pending attempt the state names, claimed once and for all."""
    try:
        return states.claim(lookup_hash(state), iso(now()))
    except Unusable as unusable:
        if unusable.reason == "unknown":
            raise NotFound(
                "state_not_found", "No authorization attempt of Keyfob's has this state"
            ) from unusable
        if unusable.reason == "used":
            raise Conflict(
                "state_already_used", "This authorization response was already processed"
            ) from unusable
        raise Lapsed(
            "state_expired", "The authorization attempt has expired; start again"
        ) from unusable


def _issuer_problem(oauth: OAuthSettings, iss: str | None) -> str | None:
    # RFC 9207: an integration that names its issuer requires a matching `iss`.
    if oauth.issuer is None:
        return None
    if iss is None:
        return "authorization response had no iss (RFC 9207)"
    if iss != oauth.issuer:
        return "authorization response came from another issuer (RFC 9207)"
    return None


def _grant_issuer_problem(grant: Grant, iss: str | None) -> str | None:
    """A remote MCP server's attempt recorded its authorization server's issuer (MCP
    2026-07-28, RFC 9207 2.4): a present `iss` must be it, compared as a plain string,
    and an absent one is refused where the server advertised sending it."""
    if iss is None:
        return "authorization response had no iss (RFC 9207)" if grant.iss_required else None
    if iss != grant.issuer:
        return "authorization response came from another issuer (RFC 9207)"
    return None


def _finish(pending: StateRecord, transition: Transition, changes: AccountChanges) -> AccountRecord:
    """Move the INITIATED account to its outcome; only ever from INITIATED."""
    try:
        return transitions.move(pending.tenant_id, pending.account_id, transition, changes)
    except StaleAccount as exc:
        raise Conflict(
            "account_not_pending",
            "The connected account is no longer waiting for authorization",
            {"connected_account_id": pending.account_id},
        ) from exc


def _failed(pending: StateRecord, reason: str) -> Outcome:
    metrics.add_metric(name="ConnectionsFailed", unit="Count", value=1)
    logger.info(
        "connection failed",
        extra={"connected_account_id": pending.account_id, "status_reason": reason},
    )
    changes = AccountChanges(status_reason=reason, pending_until=None, due_at=None)
    return _outcome(_finish(pending, transitions.FAIL, changes), pending)
