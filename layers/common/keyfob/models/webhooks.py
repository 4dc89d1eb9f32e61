"""Webhook endpoints in the API: where a tenant's events are sent, signed as the Standard
Webhooks specification says, and the record of every delivery attempt. A signing secret
is in an answer twice only: when the endpoint is created and when it is rotated."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field, StringConstraints

from keyfob.models.types import Model

# What an endpoint may subscribe to: every status change, and an endpoint disabled.
EventType = Literal[
    "Keyfob.ConnectionInitiated",
    "Keyfob.ConnectionActivated",
    "Keyfob.ConnectionAwaitingConfirmation",
    "Keyfob.ConnectionFailed",
    "Keyfob.ConnectionExpired",
    "Keyfob.ConnectionRefreshed",
    "Keyfob.ConnectionDisabled",
    "Keyfob.ConnectionEnabled",
    "Keyfob.ConnectionDeleted",
    "Keyfob.WebhookEndpointDisabled",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
TEST_EVENT = "Keyfob.WebhookTest"
WEBHOOK_ID_PATTERN = r"^wh_[a-z2-7]{24}$"
ATTEMPT_ID_PATTERN = r"^att_[0-9a-f]{14}[a-z2-7]{24}$"
EndpointStatus = Literal["ENABLED", "DISABLED"]
# https to a host name or address, or plain http to loopback (the local stack and tests
# only: elsewhere Keyfob refuses loopback with 422 invalid_webhook_url).
WEBHOOK_URL_PATTERN = (
    r"^(https://[A-Za-z0-9.-]+|http://(127\.0\.0\.1|localhost))(:[0-9]{1,5})?(/[^\s#]*)?$"
)
WebhookUrl = Annotated[
    str, StringConstraints(min_length=8, max_length=2048, pattern=WEBHOOK_URL_PATTERN)
]


class WebhookCreate(Model):
    url: WebhookUrl = Field(
        description="An https URL on a public address (the egress guard refuses private, "
        "link-local and metadata addresses, at creation and at every delivery)."
    )
    event_types: Annotated[list[EventType], Field(min_length=1, max_length=20)] | None = Field(
        default=None, description="Only these events; null: all of them."
    )
    description: Annotated[str, StringConstraints(max_length=256)] | None = None


class WebhookView(Model):
    id: str
    url: str
    event_types: list[str] | None
    description: str | None
    status: EndpointStatus
    status_reason: str | None = Field(
        description="Why a DISABLED endpoint is: failing_for_a_day (every delivery failed "
        "for a day)."
    )
    failing_since: str | None = Field(description="The first failure of a streak, if failing.")
    created_at: str
    secret_rotated_at: str | None


class CreatedWebhook(WebhookView):
    secret: str = Field(description="The signing secret (whsec_...): shown this once.")


class RotatedSecret(Model):
    id: str
    secret: str = Field(description="The new signing secret (whsec_...): shown this once.")
    previous_secret_expires_at: str = Field(
        description="Until then, deliveries are signed with both secrets."
    )


class WebhookPage(Model):
    items: list[WebhookView]


class AttemptView(Model):
    id: str
    webhook_id: str
    message_id: str = Field(description="The webhook-id header: the same on every retry.")
    event_type: str
    trigger: Literal["event", "test", "retry"] = Field(
        description="event: an event on the bus; test: POST .../test; retry: POST "
        ".../attempts/{id}/retry."
    )
    attempt: int = Field(description="1 for the first delivery of a message, then 2, 3...")
    attempted_at: str
    status_code: int | None = Field(description="The endpoint's answer; null: none came.")
    duration_ms: int
    error_class: (
        Literal["http_status", "timeout", "connection", "destination_refused", "invalid_url"] | None
    ) = Field(description="Why the attempt failed; null: it succeeded (2xx).")
    succeeded: bool
    next_attempt_at: str | None = Field(description="When it is tried again, if it will be.")


class AttemptPage(Model):
    items: list[AttemptView] = Field(description="Newest first, at most the last 100.")


class Queued(Model):
    message_id: str = Field(description="The webhook-id the delivery will carry.")
