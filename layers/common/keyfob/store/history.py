"""An account's history: one item per status change, in a partition of its own
(``TENANT#<t>#ACCOUNT#<id>``, so that a busy tenant's writes spread and a read is one
Query of one account), newest first."""

from __future__ import annotations

from keyfob.models.records.accounts import HistoryRecord
from keyfob.store import table
from keyfob.store.table import key, tenant_pk


def _partition(tenant_id: str, account_id: str) -> str:
    return f"{tenant_pk(tenant_id)}#ACCOUNT#{account_id}"


def put(record: HistoryRecord) -> None:
    """Write once: an event sent again (same event id) finds its entry there."""
    item_key = key(
        _partition(record.tenant_id, record.connected_account_id),
        f"EVENT#{record.occurred_at}#{record.event_id}",
    )
    table.client().put_item(
        TableName=table.name(),
        Item={**item_key, **table.dump(record.model_dump(mode="json"))},
        ConditionExpression="attribute_not_exists(pk)",
    )


def newest(tenant_id: str, account_id: str, limit: int) -> list[HistoryRecord]:
    """The account's last ``limit`` changes, newest first: one Query."""
    response = table.client().query(
        TableName=table.name(),
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={
            ":pk": {"S": _partition(tenant_id, account_id)},
            ":prefix": {"S": "EVENT#"},
        },
        ScanIndexForward=False,
        Limit=limit,
    )
    return [HistoryRecord.model_validate(table.load(item)) for item in response.get("Items", [])]
