"""Webhook endpoints and their delivery attempts, under their tenant's partition:

    TENANT#<t>  WEBHOOK#<id>                  an endpoint
    TENANT#<t>  WHATTEMPT#<webhook>#<attempt> an attempt; attempt ids begin with their
                                              time, so a Query lists them newest first

Every write that must happen once is conditional: an endpoint is created once, disabled
once (the caller publishes one event for it), and a failure streak starts once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from keyfob.core import aws
from keyfob.models.records.webhooks import AttemptRecord, WebhookRecord
from keyfob.store import attributes, table
from keyfob.store.errors import ItemNotFound
from keyfob.store.table import key, tenant_pk

if TYPE_CHECKING:
    from keyfob.models.records.base import EncryptedBlob

MAX_LISTED_ATTEMPTS = 100


def _endpoint_key(tenant_id: str, webhook_id: str) -> table.Key:
    return key(tenant_pk(tenant_id), f"WEBHOOK#{webhook_id}")


def _attempt_key(tenant_id: str, webhook_id: str, attempt_id: str) -> table.Key:
    return key(tenant_pk(tenant_id), f"WHATTEMPT#{webhook_id}#{attempt_id}")


def create(record: WebhookRecord) -> None:
    table.client().put_item(
        TableName=table.name(),
        Item={
            **_endpoint_key(record.tenant_id, record.id),
            **table.dump(record.model_dump(mode="json")),
        },
        ConditionExpression="attribute_not_exists(pk)",
    )


def get(tenant_id: str, webhook_id: str) -> WebhookRecord:
    response = table.client().get_item(
        TableName=table.name(), Key=_endpoint_key(tenant_id, webhook_id), ConsistentRead=True
    )
    if "Item" not in response:
        raise ItemNotFound("webhook", webhook_id)
    return WebhookRecord.model_validate(table.load(response["Item"]))


def listed(tenant_id: str) -> list[WebhookRecord]:
    """A tenant's endpoints: a Query of its partition."""
    items = table.query_all(
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={
            ":pk": {"S": tenant_pk(tenant_id)},
            ":prefix": {"S": "WEBHOOK#"},
        },
    )
    return [WebhookRecord.model_validate(table.load(item)) for item in items]


def delete(tenant_id: str, webhook_id: str) -> None:
    try:
        table.client().delete_item(
            TableName=table.name(),
            Key=_endpoint_key(tenant_id, webhook_id),
            ConditionExpression="attribute_exists(pk)",
        )
    except aws.ClientError as exc:
        table.refused_item(exc)
        raise ItemNotFound("webhook", webhook_id) from None


def _update(
    tenant_id: str,
    webhook_id: str,
    expression: str,
    values: Mapping[str, Any],
    condition: str = "attribute_exists(pk)",
    names: Mapping[str, str] | None = None,
) -> bool:
    """An update under its condition; False when the condition did not hold."""
    extra: dict[str, Any] = {"ExpressionAttributeNames": dict(names)} if names else {}
    if values:
        extra["ExpressionAttributeValues"] = {k: attributes.serialize(v) for k, v in values.items()}
    try:
        table.client().update_item(
            TableName=table.name(),
            Key=_endpoint_key(tenant_id, webhook_id),
            UpdateExpression=expression,
            ConditionExpression=condition,
            **extra,
        )
    except aws.ClientError as exc:
        table.refused_item(exc)
        return False
    return True


def replace_secrets(
    tenant_id: str, webhook_id: str, secrets: EncryptedBlob, rotated_at: str, expected: str
) -> bool:
    """Store rotated secrets, if nobody rotated them since ``expected`` (the previous
    rotation time, or the creation time); False otherwise."""
    return _update(
        tenant_id,
        webhook_id,
        "SET secrets = :secrets, secret_rotated_at = :at",
        {":secrets": secrets.model_dump(mode="json"), ":at": rotated_at, ":expected": expected},
        "attribute_exists(pk) AND (secret_rotated_at = :expected OR "
        "(attribute_not_exists(secret_rotated_at) AND created_at = :expected))",
    )


def start_failing(tenant_id: str, webhook_id: str, since: str) -> None:
    """The first failure of a streak: kept if a streak is on already."""
    _update(
        tenant_id,
        webhook_id,
        "SET failing_since = if_not_exists(failing_since, :since)",
        {":since": since},
    )


def stop_failing(tenant_id: str, webhook_id: str) -> None:
    _update(tenant_id, webhook_id, "REMOVE failing_since", {})


def disable(tenant_id: str, webhook_id: str, reason: str) -> bool:
    """Disable an enabled endpoint; True for the one call that did."""
    return _update(
        tenant_id,
        webhook_id,
        "SET #status = :disabled, status_reason = :reason",
        {":disabled": "DISABLED", ":reason": reason, ":enabled": "ENABLED"},
        "attribute_exists(pk) AND #status = :enabled",
        names={"#status": "status"},
    )


def enable(tenant_id: str, webhook_id: str) -> bool:
    """Enable a disabled endpoint, its failure streak forgotten; False: it was enabled."""
    return _update(
        tenant_id,
        webhook_id,
        "SET #status = :enabled REMOVE status_reason, failing_since",
        {":enabled": "ENABLED", ":disabled": "DISABLED"},
        "attribute_exists(pk) AND #status = :disabled",
        names={"#status": "status"},
    )


def record_attempt(record: AttemptRecord) -> None:
    table.client().put_item(
        TableName=table.name(),
        Item={
            **_attempt_key(record.tenant_id, record.webhook_id, record.id),
            **table.dump(record.model_dump(mode="json")),
        },
        ConditionExpression="attribute_not_exists(pk)",
    )


def attempts(tenant_id: str, webhook_id: str) -> list[AttemptRecord]:
    """The endpoint's last attempts, newest first: one Query, one page."""
    response = table.client().query(
        TableName=table.name(),
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={
            ":pk": {"S": tenant_pk(tenant_id)},
            ":prefix": {"S": f"WHATTEMPT#{webhook_id}#"},
        },
        ScanIndexForward=False,
        Limit=MAX_LISTED_ATTEMPTS,
    )
    return [AttemptRecord.model_validate(table.load(item)) for item in response.get("Items", [])]


def attempt(tenant_id: str, webhook_id: str, attempt_id: str) -> AttemptRecord:
    response = table.client().get_item(
        TableName=table.name(), Key=_attempt_key(tenant_id, webhook_id, attempt_id)
    )
    if "Item" not in response:
        raise ItemNotFound("attempt", attempt_id)
    return AttemptRecord.model_validate(table.load(response["Item"]))
