"""An ACTIVE account's credential, fresh when handed out: the token refreshed first when
it is due. What the credentials endpoint, the proxy and the MCP gateway act with."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from keyfob import auth
from keyfob.core.errors import Busy, Conflict
from keyfob.core.ids import iso, now
from keyfob.models.types import Status
from keyfob.services import records
from keyfob.services.tokens import expired, parse

if TYPE_CHECKING:
    from keyfob.models.records.accounts import AccountRecord


def not_usable(account: AccountRecord) -> Conflict:
    if account.status is Status.INACTIVE:
        return Conflict(
            "account_disabled",
            "Connected account is disabled; enable it first",
            {"connected_account_id": account.id, "status": account.status.value},
        )
    return Conflict(
        "account_not_active",
        f"Connected account is {account.status.value}, not ACTIVE",
        {
            "connected_account_id": account.id,
            "status": account.status.value,
            "status_reason": account.status_reason,
        },
    )


class Usable(NamedTuple):
    account: AccountRecord
    # The params and the decrypted secret, as the catalog's credential placement reads them.
    values: dict[str, Any]
    # Whether this caller refreshed the token on the way (it is as fresh as it gets).
    refreshed: bool


def usable(tenant_id: str, account_id: str) -> Usable:
    """An ACTIVE account and its credential; a token is refreshed first when due."""
    from keyfob.security import crypto

    moment = now()
    account = records.account(tenant_id, account_id, consistent=True).effective(moment.timestamp())
    if account.status is not Status.ACTIVE or account.secret is None:
        raise not_usable(account)
    tokens = None
    if auth.family(account.auth_scheme).renews:
        if account.due_at and account.due_at <= iso(moment):
            # The refresh machinery (the lease, the state machine, events): loaded when
            # a token is due, not by every read of a fresh one.
            from keyfob.services.refresh import refresh

            result = refresh(account)
            if result.account.status is not Status.ACTIVE:
                raise not_usable(result.account)
            account, tokens = result.account, result.tokens
        # After a transient failure the account waits for its retry; until then a token
        # that is still valid is the best there is, and an expired one is no use at all.
        if expired(account, moment) and account.status is Status.ACTIVE:
            raise Busy(
                "refresh_failed",
                "The access token has expired and the provider failed to refresh it: "
                f"{account.status_reason or 'retrying'}",
                {"connected_account_id": account.id, "retry_at": account.due_at},
                retry_after=_seconds_until(account.due_at, moment),
            )
    refreshed = tokens is not None
    if tokens is None:
        tokens = crypto.open_account(account)
    return Usable(account, {**account.params, **tokens}, refreshed)


def _seconds_until(when: str | None, moment: datetime) -> int:
    if not when:
        return 1
    return max(1, int((parse(when) - moment).total_seconds()) + 1)
