"""Webhook endpoints and their delivery attempts, as stored. Apart from the outbox's
record, which every status change may write, so that only the webhook functions load
these."""

from __future__ import annotations

from typing import Literal

from keyfob.models.records.base import EncryptedBlob, Record


class WebhookRecord(Record):
    """A webhook endpoint. Its signing secrets are encrypted: ``{"keys": [{"secret",
    "expires_at"}]}``, the newest first; a rotated-out secret signs until its expiry."""

    tenant_id: str
    id: str
    url: str
    event_types: list[str] | None = None
    description: str | None = None
    status: Literal["ENABLED", "DISABLED"] = "ENABLED"
    status_reason: str | None = None
    failing_since: str | None = None
    secrets: EncryptedBlob
    created_at: str
    secret_rotated_at: str | None = None


class AttemptRecord(Record):
    """One delivery attempt of a message to an endpoint. The payload is encrypted (an
    Initiated event's authorization URL holds an OAuth state); the listing never shows it."""

    tenant_id: str
    webhook_id: str
    id: str
    message_id: str
    event_type: str
    trigger: Literal["event", "test", "retry"]
    attempt: int
    attempted_at: str
    status_code: int | None = None
    duration_ms: int
    error_class: str | None = None
    succeeded: bool
    next_attempt_at: str | None = None
    payload: EncryptedBlob
    ttl: int
