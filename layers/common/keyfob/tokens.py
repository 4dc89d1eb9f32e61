"""OAuth token refresh that never races, and credentials that are fresh when handed out.

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
import dataclasses
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from keyfob import events, integrations, store
from keyfob.catalog import AuthScheme
from keyfob.config import settings
from keyfob.errors import Conflict, ServiceUnavailable, UpstreamError
from keyfob.events import Change
from keyfob.ids import iso, now
from keyfob.models import (
    AccountRecord,
    AccountView,
    Credentials,
    OAuthSettings,
    Status,
)
from keyfob.observability import logger
from keyfob.store import Expect, StaleAccount

_DEFAULT_BUFFER = 300
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


@dataclass(frozen=True)
class Refresh:
    outcome: Outcome
    account: AccountRecord
    # The plaintext token set when this caller has it already (saves a KMS call).
    tokens: dict[str, Any] | None = None
    message: str | None = None


def _parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


def due_at(tokens: dict[str, Any], oauth: OAuthSettings) -> str | None:
    """When the scheduled run next has work on an account holding this token set: its
    refresh, or, with no refresh token to refresh with, its expiry. None: never."""
    expires = tokens.get("expires_at")
    if not expires:
        return None
    if not tokens.get("refresh_token"):
        return str(expires)
    expires_at = _parse(expires)
    lifetime = expires_at - _parse(tokens["obtained_at"])
    buffer = timedelta(seconds=_buffer(oauth))
    # At most halfway through its life: a token shorter-lived than the buffer would
    # otherwise be due again the moment it is stored.
    return iso(expires_at - min(buffer, lifetime / 2))


def _buffer(oauth: OAuthSettings | None) -> int:
    if oauth is None or oauth.refresh_buffer_seconds is None:
        return _DEFAULT_BUFFER
    return oauth.refresh_buffer_seconds


def stored_fields(
    tokens: dict[str, Any], oauth: OAuthSettings, version: int | store.Increment
) -> dict[str, Any]:
    """The account attributes that go with a newly stored OAuth token set. The version
    only ever grows: a reinitiated account's new grant must not match an old read."""
    return {
        "token_expires_at": tokens.get("expires_at"),
        "refreshable": bool(tokens.get("refresh_token")),
        "token_version": version,
        "due_at": due_at(tokens, oauth),
        "refresh_failures": 0,
        "lease_owner": None,
        "lease_until": None,
    }


def resumed_due_at(account: AccountRecord, oauth: OAuthSettings | None) -> str | None:
    """due_at for an account coming back into service (enabled again) from what is
    stored unencrypted; at worst it refreshes once early."""
    if not account.token_expires_at:
        return None
    if not account.refreshable:
        return account.token_expires_at
    return iso(_parse(account.token_expires_at) - timedelta(seconds=_buffer(oauth)))


def _now_ms() -> int:
    return int(time.time() * 1000)


# --- reading credentials ---------------------------------------------------------


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


@dataclass(frozen=True)
class Usable:
    account: AccountRecord
    # The params and the decrypted secret, as the catalog's credential placement reads them.
    values: dict[str, Any]
    # Whether this caller refreshed the token on the way (it is as fresh as it gets).
    refreshed: bool


def usable(tenant_id: str, account_id: str) -> Usable:
    """An ACTIVE account and its credential; an OAuth token is refreshed first when due."""
    from keyfob import crypto

    moment = now()
    account = store.get_account(tenant_id, account_id, consistent=True).effective(
        moment.timestamp()
    )
    if account.status is not Status.ACTIVE or account.secret is None:
        raise not_usable(account)
    tokens = None
    if account.auth_scheme is AuthScheme.OAUTH2:
        if account.due_at and account.due_at <= iso(moment):
            result = refresh(account)
            if result.account.status is not Status.ACTIVE:
                raise not_usable(result.account)
            account, tokens = result.account, result.tokens
        # After a transient failure the account waits for its retry; until then a token
        # that is still valid is the best there is, and an expired one is no use at all.
        if expired(account, moment) and account.status is Status.ACTIVE:
            raise ServiceUnavailable(
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


def credentials(tenant_id: str, account_id: str) -> Credentials:
    """The account's credentials; an OAuth token is refreshed first when it is due."""
    held = usable(tenant_id, account_id)
    return Credentials(
        connected_account_id=held.account.id,
        app=held.account.app,
        auth_scheme=held.account.auth_scheme,
        status=held.account.status,
        credentials=held.values,
    )


def expired(account: AccountRecord, moment: datetime) -> bool:
    return account.token_expires_at is not None and account.token_expires_at <= iso(moment)


def _seconds_until(when: str | None, moment: datetime) -> int:
    if not when:
        return 1
    return max(1, int((_parse(when) - moment).total_seconds()) + 1)


def force_refresh(tenant_id: str, account_id: str) -> AccountView:
    """POST .../refresh: a new token set now, whatever the current one's expiry."""
    account = store.get_account(tenant_id, account_id, consistent=True).effective(time.time())
    if account.auth_scheme is not AuthScheme.OAUTH2:
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
    result = refresh(account)
    if result.account.status is not Status.ACTIVE:
        raise not_usable(result.account)
    if result.outcome is Outcome.FAILED:
        raise UpstreamError(
            "refresh_failed",
            f"The provider did not refresh the token: {result.message}",
            {"connected_account_id": account.id, "retry_at": result.account.due_at},
        )
    return result.account.effective(time.time()).view()


# --- the refresh -----------------------------------------------------------------


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
    return store.update_account(
        tenant_id,
        account_id,
        {"lease_owner": owner, "lease_until": moment + settings().lease_seconds * 1000},
        dataclasses.replace(expect, statuses={Status.ACTIVE}, lease_free_at=moment),
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
            raise ServiceUnavailable(
                "refresh_in_progress",
                "Another refresh of this account is under way; retry shortly",
                {"connected_account_id": current.id},
                retry_after=1,
            )
        if not _leased(current):
            return None
        time.sleep(random.uniform(0.05, 0.2))  # noqa: S311 - jitter, not a secret
        current = store.get_account(current.tenant_id, current.id, consistent=True)


def _refresh_leased(
    account: AccountRecord, owner: str, time_left_ms: Callable[[], int] | None = None
) -> Refresh:
    from keyfob import crypto, oauth

    if not account.refreshable:
        if expired(account, now()):
            return _expire(account, "the access token expired and there is no refresh token")
        _release(account, owner)
        return Refresh(Outcome.CURRENT, account)
    integration = integrations.with_secret(account.tenant_id, account.integration_id)
    settings_ = integration.record.oauth
    assert settings_ is not None and integration.record.client_id
    current, reseal = crypto.open_for_update(account)
    refresh_token = current["refresh_token"]
    if time_left_ms is not None and time_left_ms() < PROVIDER_CALL_MS:
        _release(account, owner)
        return Refresh(Outcome.DEFERRED, account)
    try:
        fresh = oauth.refresh(
            oauth.resolve(settings_, account.params),
            client_id=integration.record.client_id,
            client_secret=integration.client_secret,
            refresh_token=str(refresh_token),
        )
    except oauth.TokenError as exc:
        if exc.error == "invalid_grant":
            return _expire(account, f"refresh failed: {exc}")
        return _failed(account, owner, str(exc))
    # Providers that do not rotate refresh tokens leave it out: the old one stays good.
    if not fresh.get("refresh_token"):
        fresh["refresh_token"] = refresh_token
    blob = reseal(fresh)
    stamp = iso(now())
    try:
        saved = store.update_account(
            account.tenant_id,
            account.id,
            {
                "secret": blob.model_dump(),
                **stored_fields(fresh, settings_, account.token_version + 1),
                "status_reason": None,
                "last_refreshed_at": stamp,
                "updated_at": stamp,
            },
            Expect(statuses={Status.ACTIVE}, token_version=account.token_version),
            int(time.time()),
            known=account,
        )
    except StaleAccount as stale:
        # Deleted, disabled or refreshed by a caller that outlived our lease: theirs stands.
        return Refresh(Outcome.CURRENT, stale.current)
    events.connection_changed(Change.REFRESHED, saved, Status.ACTIVE)
    logger.info("token refreshed", extra={"connected_account_id": account.id})
    return Refresh(Outcome.REFRESHED, saved, fresh)


def _release(account: AccountRecord, owner: str) -> None:
    # Stale: the lease lapsed and someone else holds it now; nothing of ours to release.
    with contextlib.suppress(StaleAccount):
        store.update_account(
            account.tenant_id,
            account.id,
            {"lease_owner": None, "lease_until": None},
            Expect(lease_owner=owner),
            int(time.time()),
        )


def _expire(account: AccountRecord, reason: str) -> Refresh:
    """The grant is gone. Only if nobody refreshed meanwhile: a refresh token refused
    because another caller had just rotated it is no reason to expire anything."""
    stamp = iso(now())
    try:
        expired = store.update_account(
            account.tenant_id,
            account.id,
            {
                "status": Status.EXPIRED.value,
                "status_reason": reason,
                "due_at": None,
                "lease_owner": None,
                "lease_until": None,
                "updated_at": stamp,
            },
            Expect(statuses={Status.ACTIVE}, token_version=account.token_version),
            int(time.time()),
        )
    except StaleAccount as stale:
        return Refresh(Outcome.CURRENT, stale.current)
    events.connection_changed(Change.EXPIRED, expired, Status.ACTIVE)
    logger.info(
        "connection expired", extra={"connected_account_id": account.id, "status_reason": reason}
    )
    return Refresh(Outcome.EXPIRED, expired, message=reason)


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
    try:
        updated = store.update_account(
            account.tenant_id,
            account.id,
            {
                "refresh_failures": failures,
                "status_reason": f"refresh failed, retrying: {reason}",
                "due_at": iso(retry),
                "lease_owner": None,
                "lease_until": None,
                "updated_at": iso(now()),
            },
            Expect(
                statuses={Status.ACTIVE}, token_version=account.token_version, lease_owner=owner
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
