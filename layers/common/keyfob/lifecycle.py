"""A connected account's life after it is made: delete (revoking the grant at the
provider), disable and enable, reinitiate a lapsed OAuth account, confirm a
session-bound one, and expire attempts nobody finished.

Every change is one conditional write on the account, so two callers racing (a
delete and a refresh, two confirmations) cannot both win.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from keyfob import connections, events, integrations, store, tokens
from keyfob.catalog import AuthScheme
from keyfob.config import settings
from keyfob.errors import Conflict, Forbidden, Gone, NotFound
from keyfob.events import Change
from keyfob.ids import iso, lookup_hash, now
from keyfob.models import (
    LAPSED_REASON,
    AccountRecord,
    AccountView,
    Confirmation,
    Deleted,
    InitiatedAccount,
    Reinitiate,
    Revoked,
    Status,
)
from keyfob.observability import logger
from keyfob.store import Expect, StaleAccount

_POLL_SECONDS = 0.1


def _current(tenant_id: str, account_id: str) -> AccountRecord:
    return store.get_account(tenant_id, account_id, consistent=True).effective(time.time())


def _stamp() -> str:
    return iso(now())


# --- delete ------------------------------------------------------------------------


def delete(tenant_id: str, account_id: str, *, revoke: bool) -> Deleted:
    """Revoke the grant at the provider (best effort, reported), then delete the account
    and its secrets."""
    account = _current(tenant_id, account_id)
    revocation = revoke_grant(account) if revoke else Revoked(status="skipped")
    store.delete_account(account)
    events.connection_changed(Change.DELETED, account, account.status)
    logger.info(
        "connection deleted",
        extra={"connected_account_id": account.id, "revocation": revocation.status},
    )
    return Deleted(id=account.id, revocation=revocation)


def revoke_grant(account: AccountRecord) -> Revoked:
    if account.secret is None:
        return Revoked(status="not_needed", message="the account holds no token")
    if account.auth_scheme is not AuthScheme.OAUTH2:
        return Revoked(
            status="not_supported",
            message=f"a {account.auth_scheme.value} credential is revoked at the app by its owner",
        )
    from keyfob import crypto, oauth

    integration = integrations.with_secret(account.tenant_id, account.integration_id)
    record = integration.record
    assert record.oauth and record.client_id
    held = None
    own_call = record.oauth.revocation
    if (
        own_call is not None
        and own_call.token == "access_token"
        and account.status is Status.ACTIVE
        and account.refreshable
        and tokens.expired(account, now())
    ):
        # A call that revokes with the access token (Dropbox's) refuses an expired one.
        refreshed = tokens.refresh(account)
        if refreshed.account.status is Status.ACTIVE:
            account, held = refreshed.account, refreshed.tokens
    status, message = oauth.revoke(
        oauth.resolve(record.oauth, account.params),
        client_id=record.client_id,
        client_secret=integration.client_secret,
        tokens=held or crypto.open_account(account),
    )
    return Revoked(status=status, message=message)


# --- disable and enable ----------------------------------------------------------


def disable(tenant_id: str, account_id: str) -> AccountView:
    """ACTIVE -> INACTIVE: secrets kept, but no credentials and no refresh until enabled.

    Waits out a refresh under way, so that its new token set is stored, not lost."""
    deadline = time.monotonic() + settings().lease_wait_seconds
    while True:
        moment = int(time.time() * 1000)
        try:
            account = store.update_account(
                tenant_id,
                account_id,
                {"status": Status.INACTIVE.value, "due_at": None, "updated_at": _stamp()},
                Expect(statuses={Status.ACTIVE}, lease_free_at=moment),
                moment // 1000,
            )
        except StaleAccount as stale:
            current = stale.current.effective(time.time())
            if current.status is Status.INACTIVE:
                return current.view()  # already disabled: disabling is idempotent
            if current.status is not Status.ACTIVE:
                raise tokens.not_usable(current) from stale
            if time.monotonic() >= deadline:
                raise _busy(account_id) from stale
            time.sleep(_POLL_SECONDS)
            continue
        events.connection_changed(Change.DISABLED, account, Status.ACTIVE)
        logger.info("connection disabled", extra={"connected_account_id": account.id})
        return account.view()


def _busy(account_id: str) -> Conflict:
    return Conflict(
        "account_busy",
        "A refresh of this account is under way; retry shortly",
        {"connected_account_id": account_id},
        retry_after=1,
    )


def enable(tenant_id: str, account_id: str) -> AccountView:
    """INACTIVE -> ACTIVE, back on the refresh schedule."""
    account = _current(tenant_id, account_id)
    if account.status is Status.ACTIVE:
        return account.view()
    if account.status is not Status.INACTIVE:
        raise Conflict(
            "account_not_disabled",
            f"Connected account is {account.status.value}; only a disabled one can be enabled",
            {"connected_account_id": account.id, "status": account.status.value},
        )
    oauth = None
    if account.auth_scheme is AuthScheme.OAUTH2:
        oauth = store.get_integration(tenant_id, account.integration_id).oauth
    try:
        enabled = store.update_account(
            tenant_id,
            account_id,
            {
                "status": Status.ACTIVE.value,
                "due_at": tokens.resumed_due_at(account, oauth),
                "updated_at": _stamp(),
            },
            Expect(statuses={Status.INACTIVE}),
            int(time.time()),
        )
    except StaleAccount as stale:
        if stale.current.status is Status.ACTIVE:
            return stale.current.view()
        raise tokens.not_usable(stale.current) from stale
    events.connection_changed(Change.ENABLED, enabled, Status.INACTIVE)
    logger.info("connection enabled", extra={"connected_account_id": account.id})
    return enabled.view()


# --- reinitiate ------------------------------------------------------------------


def reinitiate(
    tenant_id: str, account_id: str, request: Reinitiate, callback_url: str
) -> InitiatedAccount:
    """A new authorization URL for an EXPIRED or FAILED OAuth account, keeping its id.
    The old token set stays until the new one replaces it, so that deleting the
    account meanwhile still revokes the old grant."""
    stored = store.get_account(tenant_id, account_id, consistent=True)
    account = expire_pending(stored) or stored.effective(time.time())
    if account.auth_scheme is not AuthScheme.OAUTH2:
        raise Conflict(
            "not_reinitiable",
            f"A {account.auth_scheme.value} connection is remade with a new credential",
            {"connected_account_id": account.id},
        )
    if account.status not in {Status.EXPIRED, Status.FAILED}:
        raise Conflict(
            "not_reinitiable",
            f"Connected account is {account.status.value}; only EXPIRED or FAILED "
            "accounts can be reinitiated",
            {"connected_account_id": account.id, "status": account.status.value},
        )
    integration = store.get_integration(tenant_id, account.integration_id)
    return_url = request.redirect_url or account.return_url
    connections.check_return_url(integration, return_url)
    url, state = connections.authorization(
        integration, account.id, account.params, return_url, callback_url
    )
    changes: dict[str, Any] = {
        "status": Status.INITIATED.value,
        "status_reason": None,
        "return_url": return_url,
        "confirmation_hash": None,
        "refresh_failures": 0,
        "lease_owner": None,
        "lease_until": None,
        "updated_at": _stamp(),
        **connections.pending_fields(state),
    }
    try:
        store.restart_account(
            tenant_id,
            account_id,
            changes,
            Expect(statuses={Status.EXPIRED, Status.FAILED}),
            int(time.time()),
            state,
        )
    except StaleAccount as stale:
        raise Conflict(
            "not_reinitiable",
            f"Connected account became {stale.current.status.value} meanwhile",
            {"connected_account_id": account_id, "status": stale.current.status.value},
        ) from stale
    # The enum for the status written as its value: model_copy does not validate.
    restarted = account.model_copy(update={**changes, "status": Status.INITIATED})
    events.connection_changed(Change.INITIATED, restarted, account.status, authorization_url=url)
    logger.info("connection reinitiated", extra={"connected_account_id": account_id})
    return InitiatedAccount(**restarted.view().model_dump(), redirect_url=url)


# --- confirm ---------------------------------------------------------------------


def confirm(tenant_id: str, account_id: str, request: Confirmation) -> AccountView:
    """AWAITING_CONFIRMATION -> ACTIVE, for the code the callback handed the app's
    redirect_url and the entity the app saw arrive there with it.

    A code for another entity means the connect link reached someone else (a link sent
    to a victim): the account fails for good and its grant is revoked, so the tokens of
    whoever followed the link never serve the entity that started it."""
    account = _current(tenant_id, account_id)
    if account.status is Status.EXPIRED and account.confirmation_hash:
        raise Gone(
            "confirmation_expired",
            "The connection was not confirmed in time; reinitiate it",
            {"connected_account_id": account.id},
        )
    if account.status is not Status.AWAITING_CONFIRMATION or not account.confirmation_hash:
        raise Conflict(
            "not_awaiting_confirmation",
            f"Connected account is {account.status.value}, not AWAITING_CONFIRMATION",
            {"connected_account_id": account.id, "status": account.status.value},
        )
    presented = lookup_hash(request.code)
    if not secrets.compare_digest(presented, account.confirmation_hash):
        raise Forbidden(
            "invalid_confirmation_code",
            "The confirmation code is not this account's",
            {"connected_account_id": account.id},
        )
    moment = int(time.time())
    expect = Expect(
        statuses={Status.AWAITING_CONFIRMATION},
        confirmation_hash=presented,
        pending_after=moment,
    )
    common = {"confirmation_hash": None, "pending_until": None, "updated_at": _stamp()}
    if request.entity_id != account.entity_id:
        reason = "confirmed by another entity than the one that started it"
        try:
            failed = store.update_account(
                tenant_id,
                account_id,
                {
                    **common,
                    **_UNCONFIRMED_DROPPED,
                    "status": Status.FAILED.value,
                    "status_reason": reason,
                    "due_at": None,
                },
                expect,
                moment,
            )
        except StaleAccount as stale:
            raise _already_settled(stale.current) from stale
        events.connection_changed(Change.FAILED, failed, Status.AWAITING_CONFIRMATION)
        revocation = revoke_grant(account)
        logger.warning(
            "connection confirmation refused",
            extra={"connected_account_id": account.id, "revocation": revocation.status},
        )
        raise Forbidden(
            "entity_mismatch",
            "The code was confirmed for another entity than the one that started the "
            "connection; the connection is refused and its grant revoked",
            {"connected_account_id": account.id, "revocation": revocation.status},
        )
    oauth = store.get_integration(tenant_id, account.integration_id).oauth
    try:
        confirmed = store.update_account(
            tenant_id,
            account_id,
            {
                **common,
                "status": Status.ACTIVE.value,
                "due_at": tokens.resumed_due_at(account, oauth),
            },
            expect,
            moment,
        )
    except StaleAccount as stale:
        raise _already_settled(stale.current) from stale
    events.connection_changed(Change.ACTIVATED, confirmed, Status.AWAITING_CONFIRMATION)
    logger.info("connection confirmed", extra={"connected_account_id": account.id})
    return confirmed.view()


def _already_settled(account: AccountRecord) -> Conflict:
    return Conflict(
        "not_awaiting_confirmation",
        "The confirmation code was used already, or its time is over",
        {"connected_account_id": account.id, "status": account.status.value},
    )


# --- pending attempts --------------------------------------------------------------


def expire_pending(account: AccountRecord) -> AccountRecord | None:
    """Record a lapsed INITIATED or AWAITING_CONFIRMATION account as EXPIRED. An
    unconfirmed account's tokens may be anyone's: they are dropped and their grant
    revoked. None: it had not lapsed, or changed meanwhile."""
    if not account.lapsed(time.time()):
        return None
    changes: dict[str, Any] = {
        "status": Status.EXPIRED.value,
        "status_reason": LAPSED_REASON[account.status],
        "pending_until": None,
        "due_at": None,
        "updated_at": _stamp(),
    }
    unconfirmed = account.status is Status.AWAITING_CONFIRMATION
    if unconfirmed:
        changes.update(_UNCONFIRMED_DROPPED)
    try:
        expired = store.update_account(
            account.tenant_id,
            account.id,
            changes,
            Expect(lapsed=True, token_version=account.token_version),
            int(time.time()),
        )
    except (StaleAccount, NotFound):
        return None
    events.connection_changed(Change.EXPIRED, expired, account.status)
    if unconfirmed:
        revoke_grant(account)
    logger.info("connection expired", extra={"connected_account_id": account.id})
    return expired


# What an unconfirmed account loses when it is refused or lapses.
_UNCONFIRMED_DROPPED: dict[str, Any] = {
    "secret": None,
    "confirmation_hash": None,
    "token_expires_at": None,
    "refreshable": False,
}
