"""The end of a grant: revoked at the provider (best effort), or an attempt nobody
finished lapsing to EXPIRED."""

from __future__ import annotations

import time

from keyfob import auth
from keyfob.core.errors import NotFound
from keyfob.core.ids import now
from keyfob.core.observability import logger
from keyfob.models.accounts import Revoked
from keyfob.models.records.accounts import LAPSED_REASON, AccountChanges, AccountRecord
from keyfob.models.types import Status
from keyfob.services import integration_secrets, transitions
from keyfob.services.tokens import expired
from keyfob.store.conditions import Expect
from keyfob.store.errors import StaleAccount


def unconfirmed_dropped() -> AccountChanges:
    """What an unconfirmed account loses when it is refused or lapses: its tokens may be
    anyone's. (Built when needed: a model made at import would be built at every cold
    start.)"""
    return AccountChanges(
        secret=None, confirmation_hash=None, token_expires_at=None, refreshable=False
    )


def revoke_grant(account: AccountRecord) -> Revoked:
    if account.secret is None:
        return Revoked(status="not_needed", message="the account holds no token")
    family = auth.family(account.auth_scheme)
    if not family.revocable:
        return Revoked(
            status="not_supported",
            message=f"a {account.auth_scheme.value} credential is revoked at the app by its owner",
        )
    from keyfob.security import crypto

    integration = integration_secrets.with_secret(account.tenant_id, account.integration_id)
    held = None
    oauth = integration.record.oauth
    own_call = oauth.revocation if oauth else None
    if (
        own_call is not None
        and own_call.token == "access_token"
        and account.status is Status.ACTIVE
        and account.refreshable
        and expired(account, now())
    ):
        # A call that revokes with the access token (Dropbox's) refuses an expired one.
        # The refresh machinery is loaded for this rare case, not by every revocation.
        from keyfob.services.refresh import refresh

        refreshed = refresh(account)
        if refreshed.account.status is Status.ACTIVE:
            account, held = refreshed.account, refreshed.tokens
    status, message = family.revoke(
        integration.context(account.params), held or crypto.open_account(account)
    )
    return Revoked(status=status, message=message)


def expire_pending(account: AccountRecord) -> AccountRecord | None:
    """Record a lapsed INITIATED or AWAITING_CONFIRMATION account as EXPIRED. An
    unconfirmed account's tokens may be anyone's: they are dropped and their grant
    revoked. None: it had not lapsed, or changed meanwhile."""
    if not account.lapsed(time.time()):
        return None
    changes = AccountChanges(
        status_reason=LAPSED_REASON[account.status], pending_until=None, due_at=None
    )
    unconfirmed = account.status is Status.AWAITING_CONFIRMATION
    if unconfirmed:
        changes = changes.merged(unconfirmed_dropped())
    try:
        lapsed = transitions.move(
            account.tenant_id,
            account.id,
            transitions.LAPSE,
            changes,
            Expect(token_version=account.token_version),
            previous=account.status,
        )
    except (StaleAccount, NotFound):
        return None
    if unconfirmed:
        revoke_grant(account)
    logger.info("connection expired", extra={"connected_account_id": account.id})
    return lapsed
