"""Connected accounts in the API: what one shows (never a secret but in Credentials), its
pages and history, and what revoking or deleting one answers. Starting a connection:
``keyfob.models.connections``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from keyfob.catalog.names import AuthScheme
from keyfob.models.account_view import AccountView
from keyfob.models.types import Model, Status


class Revoked(Model):
    status: Literal["revoked", "failed", "skipped", "not_supported", "not_needed"] = Field(
        description="revoked: the provider confirmed; failed: it could not be reached or "
        "refused (the grant may be alive); skipped: revoke=false; not_supported: the app "
        "has no revocation call; not_needed: the account held no token."
    )
    message: str | None = None


class Deleted(Model):
    id: str
    deleted: Literal[True] = True
    revocation: Revoked


class AccountPage(Model):
    items: list[AccountView]
    next_cursor: str | None


class AccountEvent(Model):
    type: str = Field(description="The event's detail-type, as published on the bus.")
    at: str
    event_id: str | None = Field(
        default=None,
        description="The published event's id (absent for the last refresh, which the "
        "account's record shows, and for a pending attempt whose time ran out just now).",
    )
    status: Status | None = Field(
        default=None, description="The status the account went to (absent for a refresh)."
    )
    previous_status: Status | None = None
    status_reason: str | None = None
    correlation_id: str | None = Field(
        default=None, description="The API request, command or scheduled run that caused it."
    )


class AccountEvents(Model):
    """The account's recent history, newest first: its last status changes (kept for 90
    days) and its last refresh. Every change, as it happens, is on the event bus (and in
    webhooks)."""

    connected_account_id: str
    items: list[AccountEvent]


class Credentials(Model):
    connected_account_id: str
    app: str
    auth_scheme: AuthScheme
    status: Status
    credentials: dict[str, Any] = Field(
        description="Access/refresh token and expiry, or the API key and other params."
    )
