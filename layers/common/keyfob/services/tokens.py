"""When an OAuth token set falls due: for a refresh ahead of its expiry, or, with no
refresh token to refresh with, for its expiry. The scheduled run finds accounts by it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from keyfob.core.ids import iso
from keyfob.models.records.accounts import AccountChanges, AccountRecord, Increment

if TYPE_CHECKING:
    from keyfob.models.settings import OAuthSettings

_DEFAULT_BUFFER = 300


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


def due_at(
    tokens: dict[str, Any], oauth: OAuthSettings | None, renewable: bool = False
) -> str | None:
    """When the scheduled run next has work on an account holding this token set: its
    refresh, or, with no refresh token to refresh with, its expiry. None: never.
    ``renewable``: renewed without a refresh token (the grant made again)."""
    expires = tokens.get("expires_at")
    if not expires:
        return None
    if not (renewable or tokens.get("refresh_token")):
        return str(expires)
    expires_at = parse(expires)
    lifetime = expires_at - parse(tokens["obtained_at"])
    buffer = timedelta(seconds=_buffer(oauth))
    # At most halfway through its life: a token shorter-lived than the buffer would
    # otherwise be due again the moment it is stored.
    return iso(expires_at - min(buffer, lifetime / 2))


def _buffer(oauth: OAuthSettings | None) -> int:
    if oauth is None or oauth.refresh_buffer_seconds is None:
        return _DEFAULT_BUFFER
    return oauth.refresh_buffer_seconds


def token_changes(
    tokens: dict[str, Any],
    oauth: OAuthSettings | None,
    version: int | Increment,
    renewable: bool = False,
) -> AccountChanges:
    """The account attributes that go with a newly stored OAuth token set. The version
    only ever grows: a reinitiated account's new grant must not match an old read."""
    return AccountChanges(
        token_expires_at=tokens.get("expires_at"),
        refreshable=renewable or bool(tokens.get("refresh_token")),
        token_version=version,
        due_at=due_at(tokens, oauth, renewable),
        refresh_failures=0,
        lease_owner=None,
        lease_until=None,
    )


def scope_changes(
    tokens: dict[str, Any], requested: list[str] | None, oauth: OAuthSettings | None
) -> AccountChanges:
    """What a grant gave of the scopes an attempt asked for: the token answer's ``scope``
    (RFC 6749 5.1: when it names none, the grant is as requested). Fewer than requested
    leaves the account usable; missing_scopes says what to ask for again."""
    if not requested:
        return AccountChanges()
    answered = tokens.get("scope")
    if isinstance(answered, list):
        granted = [str(s) for s in answered]
    elif isinstance(answered, str) and answered.strip():
        separator = oauth.scope_separator if oauth and oauth.scope_separator else " "
        granted = [s for s in re.split(rf"[\s{re.escape(separator)}]+", answered) if s]
    else:
        granted = list(requested)
    missing = [s for s in requested if s not in granted]
    return AccountChanges(granted_scopes=granted, missing_scopes=missing)


def resumed_due_at(account: AccountRecord, oauth: OAuthSettings | None) -> str | None:
    """due_at for an account coming back into service (enabled again) from what is
    stored unencrypted; at worst it refreshes once early."""
    if not account.token_expires_at:
        return None
    if not account.refreshable:
        return account.token_expires_at
    return iso(parse(account.token_expires_at) - timedelta(seconds=_buffer(oauth)))


def expired(account: AccountRecord, moment: Any) -> bool:
    return account.token_expires_at is not None and account.token_expires_at <= iso(moment)
