"""The events Keyfob publishes on its bus (their detail; never a secret), and the commands
other AWS accounts put on it for Keyfob to carry out."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from keyfob.models.connections import ConnectionCreate
from keyfob.models.types import Model, ResourceId, Status

# --- events out ----------------------------------------------------------------------


class ConnectionEvent(Model):
    """The detail of every ``Keyfob.Connection*`` event."""

    event_id: str = Field(description="Unique per event: deliveries are at least once.")
    occurred_at: str
    tenant_id: str
    connected_account_id: str
    entity_id: str
    app: str
    integration_id: str
    status: Status | Literal["DELETED"]
    previous_status: Status | None
    status_reason: str | None
    granted_scopes: list[str] | None = Field(
        default=None, description="OAuth 2.0: the scopes granted (ConnectionActivated)."
    )
    missing_scopes: list[str] | None = Field(
        default=None, description="OAuth 2.0: the scopes requested but not granted."
    )
    authorization_url: str | None = Field(
        description="ConnectionInitiated only: where to send the user to authorize."
    )
    correlation_id: str | None = Field(
        description="The API request id, the command's idempotency key or event id, or "
        "the scheduled run's request id."
    )
    requested_by_account: str | None = Field(
        description="The AWS account whose command caused this, or started the connection."
    )


class CommandError(Model):
    code: str
    message: str
    details: Any = None


class CommandRejectedEvent(Model):
    """The detail of ``Keyfob.CommandRejected``: a command Keyfob will not carry out."""

    event_id: str
    occurred_at: str
    tenant_id: str
    command: str = Field(description="The command's detail-type.")
    command_event_id: str
    idempotency_key: str | None
    connected_account_id: str | None
    error: CommandError
    correlation_id: str | None
    requested_by_account: str


class WebhookDisabledEvent(Model):
    """The detail of ``Keyfob.WebhookEndpointDisabled``: an endpoint that failed every
    delivery for a day, disabled."""

    event_id: str
    occurred_at: str
    tenant_id: str
    webhook_id: str
    url: str
    status_reason: str
    failing_since: str


# --- commands in (detail of the events other AWS accounts put on the bus) ----------

# --- commands in ---------------------------------------------------------------------

IdempotencyKey = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9_.:\-]{1,128}$"),
    Field(description="Acts once per key and sending account; default: the event id."),
]


class InitiateConnectionCommand(ConnectionCreate):
    idempotency_key: IdempotencyKey | None = None


class AccountCommand(Model):
    """Refresh, disable, enable: a command on one connected account."""

    connected_account_id: ResourceId
    idempotency_key: IdempotencyKey | None = None


class DeleteConnectionCommand(AccountCommand):
    revoke: bool = True
