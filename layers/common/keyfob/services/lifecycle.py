"""A connected account's life after it is made: delete (revoking the grant at the
provider), disable and enable, reinitiate a lapsed account. Every status change is a
transition of the state machine (``keyfob.services.transitions``): one conditional
write, so that two callers racing (a delete and a refresh, two confirmations) cannot
both win.
"""

from __future__ import annotations

import time

from keyfob import auth
from keyfob.catalog.names import AuthScheme
from keyfob.core.config import settings
from keyfob.core.errors import Conflict
from keyfob.core.observability import logger
from keyfob.models.account_view import AccountView
from keyfob.models.accounts import Deleted, Revoked
from keyfob.models.connections import InitiatedAccount, Reinitiate
from keyfob.models.records.accounts import AccountChanges, AccountRecord
from keyfob.models.types import Status
from keyfob.services import records, return_urls, transitions
from keyfob.services.grants import expire_pending, revoke_grant
from keyfob.services.tokens import resumed_due_at
from keyfob.services.usable import not_usable
from keyfob.store.conditions import Expect
from keyfob.store.errors import StaleAccount

_POLL_SECONDS = 0.1


def current(tenant_id: str, account_id: str) -> AccountRecord:
    return records.account(tenant_id, account_id, consistent=True).effective(time.time())


# --- delete ------------------------------------------------------------------------


def delete(tenant_id: str, account_id: str, *, revoke: bool) -> Deleted:
    """Revoke the grant at the provider (best effort, reported), then delete the account
    and its secrets."""
    account = current(tenant_id, account_id)
    revocation = revoke_grant(account) if revoke else Revoked(status="skipped")
    transitions.delete(account)
    logger.info(
        "connection deleted",
        extra={"connected_account_id": account.id, "revocation": revocation.status},
    )
    return Deleted(id=account.id, revocation=revocation)


# --- disable and enable ----------------------------------------------------------


def disable(tenant_id: str, account_id: str) -> AccountView:
    """ACTIVE -> INACTIVE: secrets kept, but no credentials and no refresh until enabled.

    Waits out a refresh under way, so that its new token set is stored, not lost."""
    deadline = time.monotonic() + settings().lease_wait_seconds
    while True:
        try:
            account = transitions.move(
                tenant_id,
                account_id,
                transitions.DISABLE,
                AccountChanges(due_at=None),
                Expect(lease_free_at=int(time.time() * 1000)),
            )
        except StaleAccount as stale:
            held = stale.current.effective(time.time())
            if held.status is Status.INACTIVE:
                return held.view()  # already disabled: disabling is idempotent
            if held.status is not Status.ACTIVE:
                raise not_usable(held) from stale
            if time.monotonic() >= deadline:
                raise _busy(account_id) from stale
            time.sleep(_POLL_SECONDS)
            continue
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
    account = current(tenant_id, account_id)
    if account.status is Status.ACTIVE:
        return account.view()
    if account.status is not Status.INACTIVE:
        raise Conflict(
            "account_not_disabled",
            f"Connected account is {account.status.value}; only a disabled one can be enabled",
            {"connected_account_id": account.id, "status": account.status.value},
        )
    try:
        enabled = transitions.move(
            tenant_id, account_id, transitions.ENABLE, AccountChanges(due_at=resumed(account))
        )
    except StaleAccount as stale:
        if stale.current.status is Status.ACTIVE:
            return stale.current.view()
        raise not_usable(stale.current) from stale
    logger.info("connection enabled", extra={"connected_account_id": account.id})
    return enabled.view()


def resumed(account: AccountRecord) -> str | None:
    """When an account coming back into service is next due."""
    oauth = None
    if auth.family(account.auth_scheme).renews:
        oauth = records.integration(account.tenant_id, account.integration_id).oauth
    return resumed_due_at(account, oauth)


# --- reinitiate ------------------------------------------------------------------


def reinitiate(
    tenant_id: str, account_id: str, request: Reinitiate, callback_url: str
) -> InitiatedAccount:
    """A new authorization URL for an EXPIRED or FAILED account, keeping its id. The
    old token set stays until the new one replaces it, so that deleting the account
    meanwhile still revokes the old grant."""
    stored = records.account(tenant_id, account_id, consistent=True)
    account = expire_pending(stored) or stored.effective(time.time())
    if not auth.family(account.auth_scheme).redirects:
        raise Conflict(
            "not_reinitiable",
            f"A {account.auth_scheme.value} connection is remade with a new credential",
            {"connected_account_id": account.id},
        )
    # An ACTIVE OAuth 2.0 account may ask for more scopes (incremental authorization).
    step_up = bool(request.scopes) and account.auth_scheme is AuthScheme.OAUTH2
    transition = transitions.STEP_UP if step_up else transitions.REINITIATE
    if account.status not in transition.sources | transitions.REINITIATE.sources:
        raise Conflict(
            "not_reinitiable",
            f"Connected account is {account.status.value}; only EXPIRED or FAILED "
            "accounts can be reinitiated (and ACTIVE OAUTH2 ones, with scopes)",
            {"connected_account_id": account.id, "status": account.status.value},
        )
    if account.status is not Status.ACTIVE:
        transition = transitions.REINITIATE
    integration = records.integration(tenant_id, account.integration_id)
    return_url = request.redirect_url or account.return_url
    return_urls.check(integration, return_url)
    # Starting an attempt (the catalog, the auth families' begin): loaded by this route,
    # not by the others of the function (delete, disable, enable, confirm).
    from keyfob.services import connections

    url, state = connections.authorization(
        integration,
        account.id,
        account.params,
        return_url,
        callback_url,
        scopes=tuple(request.scopes or ()),
    )
    changes = connections.pending_changes(state).model_copy(
        update={
            "status_reason": None,
            "return_url": return_url,
            "confirmation_hash": None,
            "refresh_failures": 0,
            "lease_owner": None,
            "lease_until": None,
        }
    )
    try:
        restarted = transitions.reinitiate(account, changes, state, url, transition)
    except StaleAccount as stale:
        raise Conflict(
            "not_reinitiable",
            f"Connected account became {stale.current.status.value} meanwhile",
            {"connected_account_id": account_id, "status": stale.current.status.value},
        ) from stale
    logger.info("connection reinitiated", extra={"connected_account_id": account_id})
    return InitiatedAccount(**restarted.view().model_dump(), redirect_url=url)
