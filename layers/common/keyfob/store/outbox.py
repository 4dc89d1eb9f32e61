"""The outbox: events PutEvents refused, kept (encrypted) for the scheduled run."""

from __future__ import annotations

from collections.abc import Iterator

from keyfob.models.records.events import OutboxRecord
from keyfob.store import table
from keyfob.store.table import key

# Written to only while EventBridge refuses events, then by every status change at once.
SHARDS = 4


def _key(record: OutboxRecord) -> table.Key:
    return key(
        f"OUTBOX#{table.shard(record.event_id, SHARDS)}", f"{record.recorded_at}#{record.event_id}"
    )


def put(record: OutboxRecord) -> None:
    table.client().put_item(
        TableName=table.name(),
        Item={**_key(record), **table.dump(record.model_dump(mode="json"))},
        ConditionExpression="attribute_not_exists(pk)",
    )


def shard(number: int) -> Iterator[OutboxRecord]:
    """The events recorded in one shard, oldest first: a Query, never a Scan."""
    for item in table.query_all(
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"OUTBOX#{number}"}},
    ):
        yield OutboxRecord.model_validate(table.load(item))


def delete(record: OutboxRecord) -> None:
    table.client().delete_item(TableName=table.name(), Key=_key(record))
