"""OAuth token refresh that never races.

Every refresh of an account, whoever asks (a credentials read, a forced refresh, the
scheduled run, on any number of Lambda instances), goes through one lease on the
account item: a conditional write with an expiry, so a crashed holder blocks others
for at most ``lease_seconds``. Exactly one caller talks to the token endpoint; the
others wait briefly and read what it stored. Every write of a new token set is also
conditional on the ``token_version`` the refresh started from, so that a holder that
somehow lost its lease can never overwrite a newer token, and a refused refresh token
never expires an account that someone else has just refreshed.
"""

from __future__ import annotations

import contextlib
import random
import secrets
import time
from collections.abc import Callable
from datetime import timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from keyfob import auth
from keyfob.auth.base import GrantError
from keyfob.core.config import settings
from keyfob.core.errors import Busy
from keyfob.core.ids import iso, now
from keyfob.core.observability import logger
from keyfob.models.records.accounts import AccountChanges, AccountRecord
from keyfob.models.types import Status
from keyfob.services import integration_secrets, records, store_errors, transitions
from keyfob.services.tokens import expired, scope_changes, token_changes
from keyfob.store import accounts
from keyfob.store.conditions import Expect
from keyfob.store.errors import StaleAccount

# What a refresh needs once it calls the provider: the call's own time-outs (3 + 10 s)
# and the save, with the SDK's retries.
PROVIDER_CALL_MS = 20_000


class Outcome(StrEnum):
    REFRESHED = "refreshed"  # this caller got a new token set and stored it
    CURRENT = "current"  # another caller refreshed it meanwhile, or nothing was due
    BUSY = "busy"  # another caller holds the lease and this one would not wait
    DEFERRED = "deferred"  # too little time left to call the provider: the next run's
    FAILED = "failed"  # the provider failed for now; the account stays ACTIVE
    EXPIRED = "expired"  # the grant is gone: the account is EXPIRED


class Refresh(NamedTuple):
    outcome: Outcome
    account: AccountRecord
    # The plaintext token set when this caller has it already (saves a KMS call).
    tokens: dict[str, Any] | None = None
    message: str | None = None


def _now_ms() -> int:
    return int(time.time() * 1000)


def refresh(account: AccountRecord) -> Refresh:
    """Refresh one ACTIVE OAuth account, as read by an API caller, under its lease.

    The refresh happens unless the account's token_version changed since it was read:
    then someone else refreshed it, and that token set is the answer. While another
    caller holds the lease, this one waits for its outcome."""
    owner = secrets.token_hex(16)
    deadline = time.monotonic() + settings().lease_wait_seconds
    while True:
        try:
            leased = _acquire(
                account.tenant_id, account.id, owner, Expect(token_version=account.token_version)
            )
        except StaleAccount as stale:
            outcome = _wait(stale.current, account, deadline)
            if outcome is not None:
                return outcome
        else:
            return _refresh_leased(leased, owner)


def refresh_due(
    tenant_id: str, account_id: str, due_by: str, time_left_ms: Callable[[], int]
) -> Refresh:
    """The scheduled run's refresh: only if the account is still due by ``due_by``, and
    never waiting for a lease someone else holds (that caller refreshes it). With less
    than ``PROVIDER_CALL_MS`` of the run left, the provider is not called: a Lambda
    stopped between the provider's answer and the save would lose a rotated token."""
    owner = secrets.token_hex(16)
    try:
        leased = _acquire(tenant_id, account_id, owner, Expect(due_by=due_by))
    except StaleAccount as stale:
        current = stale.current
        if current.status is Status.ACTIVE and _leased(current):
            return Refresh(Outcome.BUSY, current)
        return Refresh(Outcome.CURRENT, current)
    return _refresh_leased(leased, owner, time_left_ms)


def _leased(account: AccountRecord) -> bool:
    """Whether someone holds the account's lease now (a lapsed lease holds nothing)."""
    return account.lease_until is not None and account.lease_until > _now_ms()


def _acquire(tenant_id: str, account_id: str, owner: str, expect: Expect) -> AccountRecord:
    moment = _now_ms()
    with store_errors.translated():
        return accounts.update(
            tenant_id,
            account_id,
            AccountChanges(lease_owner=owner, lease_until=moment + settings().lease_seconds * 1000),
            expect._replace(statuses={Status.ACTIVE}, lease_free_at=moment),
            moment // 1000,
        )


def _wait(current: AccountRecord, started: AccountRecord, deadline: float) -> Refresh | None:
    """Wait while another caller holds the lease. Returns the outcome when there is one
    to report, or None when the lease is free to try again."""
    while True:
        if current.status is not Status.ACTIVE:
            outcome = Outcome.EXPIRED if current.status is Status.EXPIRED else Outcome.CURRENT
            return Refresh(outcome, current, message=current.status_reason)
        if current.token_version != started.token_version:
            return Refresh(Outcome.CURRENT, current)  # someone else refreshed it
        if current.refresh_failures > started.refresh_failures:
            return Refresh(Outcome.FAILED, current, message=current.status_reason)
        if time.monotonic() >= deadline:
            # Not a credential failure: the account is fine, only busy.
            raise Busy(
                "refresh_in_progress",
                "Another refresh of this account is under way; retry shortly",
                {"connected_account_id": current.id},
                retry_after=1,
            )
        if not _leased(current):
            return None
        time.sleep(random.uniform(0.05, 0.2))  # noqa: S311 - jitter, not a secret
        current = records.account(current.tenant_id, current.id, consistent=True)


def _refresh_leased(
    account: AccountRecord, owner: str, time_left_ms: Callable[[], int] | None = None
) -> Refresh:
    from keyfob.security import crypto

    if not account.refreshable:
        if expired(account, now()):
            return _expire(account, "the access token expired and there is no refresh token")
        _release(account, owner)
        return Refresh(Outcome.CURRENT, account)
    integration = integration_secrets.with_secret(account.tenant_id, account.integration_id)
    oauth = integration.record.oauth
    current, reseal = crypto.open_for_update(account)
    if time_left_ms is not None and time_left_ms() < PROVIDER_CALL_MS:
        _release(account, owner)
        return Refresh(Outcome.DEFERRED, account)
    family = auth.family(account.auth_scheme)
    try:
        fresh = family.refresh(integration.context(account.params), current)
    except GrantError as exc:
        if exc.error == "invalid_grant":
            return _expire(account, f"refresh failed: {exc}")
        return _failed(account, owner, str(exc))
    stamp = transitions.stamp()
    version = account.token_version + 1
    # A refresh that names its scopes may grant fewer (or, after consent, more).
    requested = [*(account.granted_scopes or ()), *(account.missing_scopes or ())]
    granted = scope_changes(fresh, requested, oauth) if fresh.get("scope") else None
    changes = token_changes(fresh, oauth, version, family.renews_itself)
    changes = (changes.merged(granted) if granted else changes).model_copy(
        update={
            "secret": reseal(fresh),
            "status_reason": None,
            "last_refreshed_at": stamp,
            "updated_at": stamp,
        }
    )
    try:
        saved = transitions.move(
            account.tenant_id,
            account.id,
            transitions.REFRESH,
            changes,
            Expect(token_version=account.token_version),
            known=account,
        )
    except StaleAccount as stale:
        # Deleted, disabled or refreshed by a caller that outlived our lease: theirs stands.
        return Refresh(Outcome.CURRENT, stale.current)
    logger.info("token refreshed", extra={"connected_account_id": account.id})
    return Refresh(Outcome.REFRESHED, saved, fresh)


def _release(account: AccountRecord, owner: str) -> None:
    # Stale: the lease lapsed and someone else holds it now; nothing of ours to release.
    with contextlib.suppress(StaleAccount):
        accounts.update(
            account.tenant_id,
            account.id,
            AccountChanges(lease_owner=None, lease_until=None),
            Expect(lease_owner=owner),
            int(time.time()),
        )


def _expire(account: AccountRecord, reason: str) -> Refresh:
    """The grant is gone. Only if nobody refreshed meanwhile: a refresh token refused
    because another caller had just rotated it is no reason to expire anything."""
    changes = AccountChanges(status_reason=reason, due_at=None, lease_owner=None, lease_until=None)
    try:
        gone = transitions.move(
            account.tenant_id,
            account.id,
            transitions.EXPIRE,
            changes,
            Expect(token_version=account.token_version),
        )
    except StaleAccount as stale:
        return Refresh(Outcome.CURRENT, stale.current)
    logger.info(
        "connection expired", extra={"connected_account_id": account.id, "status_reason": reason}
    )
    return Refresh(Outcome.EXPIRED, gone, message=reason)


def _failed(account: AccountRecord, owner: str, reason: str) -> Refresh:
    """A transient failure: back off exponentially, or give up past the threshold."""
    config = settings()
    failures = account.refresh_failures + 1
    if failures >= config.refresh_max_failures:
        return _expire(account, f"refresh failed {failures} times in a row, last: {reason}")
    delay = min(
        config.refresh_backoff_seconds * 2 ** (failures - 1), config.refresh_backoff_max_seconds
    )
    retry = now() + timedelta(seconds=delay * random.uniform(0.8, 1.2))  # noqa: S311
    changes = AccountChanges(
        refresh_failures=failures,
        status_reason=f"refresh failed, retrying: {reason}",
        due_at=iso(retry),
        lease_owner=None,
        lease_until=None,
        updated_at=transitions.stamp(),
    )
    try:
        with store_errors.translated():
            updated = accounts.update(
                account.tenant_id,
                account.id,
                changes,
                Expect(
                    statuses={Status.ACTIVE},
                    token_version=account.token_version,
                    lease_owner=owner,
                ),
                int(time.time()),
            )
    except StaleAccount as stale:
        return Refresh(Outcome.CURRENT, stale.current)
    logger.info(
        "token refresh failed",
        extra={"connected_account_id": account.id, "refresh_failures": failures, "reason": reason},
    )
    return Refresh(Outcome.FAILED, updated, message=reason)
