"""Connected accounts in the API: starting one, what one shows (never a secret but in
Credentials), and what its lifecycle's requests take and answer."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from keyfob.catalog.names import AuthScheme
from keyfob.models.account_view import AccountView
from keyfob.models.types import EntityId, Labels, Model, ParamValue, ResourceId, Status, Url


class ConnectionCreate(Model):
    integration_id: ResourceId
    entity_id: EntityId
    params: Annotated[dict[str, ParamValue], Field(max_length=20)] = Field(
        default_factory=dict, description="The app's connection_fields."
    )
    redirect_url: Url | None = Field(
        default=None, description="Where the user's browser goes after the OAuth callback."
    )
    labels: Labels = Field(default_factory=dict)


class InitiatedAccount(AccountView):
    redirect_url: str | None = Field(
        description="OAuth 2.0: send the user here to authorize. Otherwise null."
    )


class Reinitiate(Model):
    redirect_url: Url | None = Field(
        default=None, description="Where the browser goes after the callback; default: as before."
    )
    scopes: (
        Annotated[
            list[Annotated[str, StringConstraints(min_length=1, max_length=256)]],
            Field(min_length=1, max_length=50),
        ]
        | None
    ) = Field(
        default=None,
        description="OAuth 2.0 incremental authorization: scopes to ask for besides the "
        "integration's (its missing_scopes, say). The user is asked to consent again; an "
        "ACTIVE account may be reinitiated so, and is INITIATED until the callback.",
    )


class Confirmation(Model):
    code: Annotated[str, StringConstraints(min_length=1, max_length=256)] = Field(
        description="The confirmation_code your redirect_url received."
    )
    entity_id: EntityId = Field(
        description="The entity whose session received the code, as your app knows it."
    )


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
