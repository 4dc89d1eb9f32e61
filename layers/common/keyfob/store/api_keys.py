"""API keys: found by the hash of the key (the authorizer's one GetItem) and listed under
their tenant by id. The two items are written and deleted together, in one transaction."""

from __future__ import annotations

from typing import Any

from keyfob.core import aws
from keyfob.models.records.tenants import ApiKeyRecord
from keyfob.store import table
from keyfob.store.table import key, tenant_pk

# DynamoDB's TTL clears an expired key a while after its expiry, which is enforced anyway.
_TTL_GRACE_SECONDS = 86400


def _lookup_key(key_hash: str) -> table.Key:
    return key(f"APIKEY#{key_hash}", "APIKEY")


def _listed_key(tenant_id: str, key_id: str) -> table.Key:
    return key(tenant_pk(tenant_id), f"APIKEY#{key_id}")


def puts(record: ApiKeyRecord) -> list[dict[str, Any]]:
    """A transaction's Puts of a new key: its lookup by hash and its listing."""
    item = record.model_dump(mode="json")
    ttl = {"ttl": record.expires_at + _TTL_GRACE_SECONDS} if record.expires_at else {}
    return [
        table.put_new({"pk": f"APIKEY#{record.key_hash}", "sk": "APIKEY", **item, **ttl}),
        table.put_new({"pk": tenant_pk(record.tenant_id), "sk": f"APIKEY#{record.id}", **item}),
    ]


def create(record: ApiKeyRecord) -> None:
    writes: list[Any] = puts(record)
    table.transact(writes)


def by_hash(key_hash: str) -> ApiKeyRecord | None:
    """The key a hash names. Strongly consistent: a deleted key must not open anything."""
    response = table.client().get_item(
        TableName=table.name(), Key=_lookup_key(key_hash), ConsistentRead=True
    )
    item = response.get("Item")
    # A key written before keys had ids is a tenant key that no listing shows.
    return ApiKeyRecord.model_validate({"key_hash": key_hash, **table.load(item)}) if item else None


def listed(tenant_id: str) -> list[ApiKeyRecord]:
    """A tenant's keys (a Query of its partition)."""
    items = table.query_all(
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={
            ":pk": {"S": tenant_pk(tenant_id)},
            ":prefix": {"S": "APIKEY#"},
        },
    )
    return [ApiKeyRecord.model_validate(table.load(item)) for item in items]


def delete(tenant_id: str, key_id: str) -> bool:
    """Delete a tenant's key, both items at once; False: the tenant has no such key."""
    response = table.client().get_item(
        TableName=table.name(), Key=_listed_key(tenant_id, key_id), ConsistentRead=True
    )
    if "Item" not in response:
        return False
    record = ApiKeyRecord.model_validate(table.load(response["Item"]))
    writes: list[Any] = [
        {
            "Delete": {
                "TableName": table.name(),
                "Key": _listed_key(tenant_id, key_id),
                "ConditionExpression": "attribute_exists(pk)",
            }
        },
        {"Delete": {"TableName": table.name(), "Key": _lookup_key(record.key_hash)}},
    ]
    try:
        table.transact(writes)
    except aws.ClientError as exc:
        if table.cancelled(exc)[0] == "ConditionalCheckFailed":
            return False  # deleted meanwhile
        raise
    return True
