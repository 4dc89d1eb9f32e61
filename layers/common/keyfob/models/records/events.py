"""Events on their way out: one PutEvents refused (the outbox), kept to send again.
Webhook endpoints and their deliveries: ``keyfob.models.records.webhooks``."""

from __future__ import annotations

from keyfob.models.records.base import EncryptedBlob, Record


class OutboxRecord(Record):
    """An event PutEvents refused, kept for the scheduled run to send again. The event
    is encrypted: an Initiated event carries an authorization URL, whose state Keyfob
    otherwise stores only hashed."""

    event_id: str
    tenant_id: str
    recorded_at: str
    event: EncryptedBlob
    ttl: int  # DynamoDB's TTL drops an event nobody could send for a week
