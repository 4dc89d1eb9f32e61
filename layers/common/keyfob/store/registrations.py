"""OAuth clients Keyfob registered with MCP servers' authorization servers, one per tenant
and issuer (``TENANT#<t>``, ``REGISTRATION#<sha256 of the issuer>``)."""

from __future__ import annotations

import hashlib
from typing import Any

from keyfob.core import aws
from keyfob.models.records.integrations import RegistrationRecord
from keyfob.store import table
from keyfob.store.table import key, tenant_pk


def _key(tenant_id: str, issuer: str) -> table.Key:
    digest = hashlib.sha256(issuer.encode()).hexdigest()
    return key(tenant_pk(tenant_id), f"REGISTRATION#{digest}")


def get(tenant_id: str, issuer: str) -> RegistrationRecord | None:
    response = table.client().get_item(
        TableName=table.name(), Key=_key(tenant_id, issuer), ConsistentRead=True
    )
    item = response.get("Item")
    return RegistrationRecord.model_validate(table.load(item)) if item else None


def put(record: RegistrationRecord, replacing: str | None) -> RegistrationRecord:
    """Store a registration where there is none (or where the one ``replacing`` names is
    still there): of connections registering at once, the first stored wins, and the
    others get it back to use instead of their own."""
    request: dict[str, Any] = {
        "TableName": table.name(),
        "Item": {
            **_key(record.tenant_id, record.issuer),
            **table.dump(record.model_dump(mode="json")),
        },
        "ConditionExpression": "attribute_not_exists(pk)",
    }
    if replacing is not None:
        request["ConditionExpression"] += " OR client_id = :replaced"
        request["ExpressionAttributeValues"] = {":replaced": {"S": replacing}}
    try:
        table.client().put_item(**request)
    except aws.ClientError as exc:
        table.refused_item(exc)  # re-raises anything but the failed condition
        stored = get(record.tenant_id, record.issuer)
        if stored is None:  # forgotten in between: ours is as good as any
            return put(record, None)
        return stored
    return record


def forget(tenant_id: str, issuer: str, client_id: str) -> None:
    """Drop a registration the authorization server no longer knows, unless another
    connection has registered again meanwhile (then that one stands)."""
    try:
        table.client().delete_item(
            TableName=table.name(),
            Key=_key(tenant_id, issuer),
            ConditionExpression="client_id = :client",
            ExpressionAttributeValues={":client": {"S": client_id}},
        )
    except aws.ClientError as exc:
        table.refused_item(exc)  # re-raises anything but the failed condition
