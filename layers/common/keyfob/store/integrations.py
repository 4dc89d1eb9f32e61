"""Integrations: an app, an auth scheme and the developer's credentials, per tenant."""

from __future__ import annotations

from typing import Any

from keyfob.core import aws
from keyfob.models.records.integrations import IntegrationRecord
from keyfob.models.types import INTEGRATION_CURSOR_PATTERN
from keyfob.store import table
from keyfob.store.errors import InUse, ItemNotFound
from keyfob.store.table import key, tenant_pk


def integration_key(tenant_id: str, integration_id: str) -> table.Key:
    return key(tenant_pk(tenant_id), f"INTEGRATION#{integration_id}")


def put(record: IntegrationRecord) -> None:
    item = {"pk": tenant_pk(record.tenant_id), "sk": f"INTEGRATION#{record.id}"}
    table.client().put_item(
        TableName=table.name(),
        Item=table.dump({**item, **record.model_dump(mode="json")}),
        ConditionExpression="attribute_not_exists(pk)",
    )


def get(tenant_id: str, integration_id: str) -> IntegrationRecord:
    response = table.client().get_item(
        TableName=table.name(), Key=integration_key(tenant_id, integration_id)
    )
    if "Item" not in response:
        raise ItemNotFound("integration", integration_id)
    return IntegrationRecord.model_validate(table.load(response["Item"]))


def page(
    tenant_id: str, limit: int, cursor: str | None
) -> tuple[list[IntegrationRecord], str | None]:
    kwargs: dict[str, Any] = {}
    if cursor:
        after = table.position(cursor, INTEGRATION_CURSOR_PATTERN)
        kwargs["ExclusiveStartKey"] = key(tenant_pk(tenant_id), f"INTEGRATION#{after}")
    response = table.client().query(
        TableName=table.name(),
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={
            ":pk": {"S": tenant_pk(tenant_id)},
            ":prefix": {"S": "INTEGRATION#"},
        },
        Limit=limit,
        **kwargs,
    )
    records = [IntegrationRecord.model_validate(table.load(i)) for i in response.get("Items", [])]
    last = response.get("LastEvaluatedKey")
    return records, last["sk"]["S"].removeprefix("INTEGRATION#") if last else None


def delete(tenant_id: str, integration_id: str) -> None:
    """Delete an integration that has no accounts; raises ItemNotFound or InUse."""
    try:
        table.client().delete_item(
            TableName=table.name(),
            Key=integration_key(tenant_id, integration_id),
            ConditionExpression="attribute_exists(pk) AND account_count = :zero",
            ExpressionAttributeValues={":zero": {"N": "0"}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except aws.ClientError as exc:
        old = table.refused_item(exc)
        if old is None:
            raise ItemNotFound("integration", integration_id) from exc
        raise InUse(old.get("account_count", 0)) from exc


def count(tenant_id: str, integration_id: str, delta: int) -> dict[str, Any]:
    """A transaction's update of the integration's account count, which must exist."""
    return {
        "Update": {
            "TableName": table.name(),
            "Key": integration_key(tenant_id, integration_id),
            "UpdateExpression": "ADD account_count :delta",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": {":delta": {"N": str(delta)}},
        }
    }
