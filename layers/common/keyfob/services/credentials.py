"""The credentials endpoint's use cases: an account's credentials as the API returns them
(fresh: `usable`), and a refresh on demand."""

from __future__ import annotations

import time

from keyfob import auth
from keyfob.core.errors import Conflict, UpstreamFailed
from keyfob.core.observability import logger
from keyfob.models.account_view import AccountView
from keyfob.models.accounts import Credentials
from keyfob.models.types import Status
from keyfob.services import records
from keyfob.services.usable import not_usable, usable


def credentials(tenant_id: str, account_id: str) -> Credentials:
    """The account's credentials; a token is refreshed first when it is due."""
    logger.info("credentials read", extra={"connected_account_id": account_id})
    held = usable(tenant_id, account_id)
    return Credentials(
        connected_account_id=held.account.id,
        app=held.account.app,
        auth_scheme=held.account.auth_scheme,
        status=held.account.status,
        credentials=held.values,
    )


def force_refresh(tenant_id: str, account_id: str) -> AccountView:
    """POST .../refresh: a new token set now, whatever the current one's expiry."""
    account = records.account(tenant_id, account_id, consistent=True).effective(time.time())
    if not auth.family(account.auth_scheme).renews:
        raise Conflict(
            "not_refreshable",
            f"A {account.auth_scheme.value} connection has no token to refresh",
            {"connected_account_id": account.id},
        )
    if account.status is not Status.ACTIVE:
        raise not_usable(account)
    if not account.refreshable:
        raise Conflict(
            "not_refreshable",
            "The provider gave this account no refresh token",
            {"connected_account_id": account.id},
        )
    from keyfob.services.refresh import Outcome, refresh

    result = refresh(account)
    if result.account.status is not Status.ACTIVE:
        raise not_usable(result.account)
    if result.outcome is Outcome.FAILED:
        raise UpstreamFailed(
            "refresh_failed",
            f"The provider did not refresh the token: {result.message}",
            {"connected_account_id": account.id, "retry_at": result.account.due_at},
        )
    return result.account.effective(time.time()).view()
