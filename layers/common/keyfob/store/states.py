"""Pending OAuth authorizations, keyed by the hash of their state value; single use."""

from __future__ import annotations

import time
from typing import Any

from keyfob.core import aws
from keyfob.models.records.accounts import StateRecord
from keyfob.store import table
from keyfob.store.errors import Unusable
from keyfob.store.table import key


def put_new(state: StateRecord) -> dict[str, Any]:
    """A transaction's Put of a new pending state."""
    return table.put_new(
        {
            "pk": f"STATE#{state.state_hash}",
            "sk": "STATE",
            # DynamoDB's own TTL lags; expires_at is what is enforced.
            "ttl": state.expires_at + 3600,
            **state.model_dump(mode="json"),
        }
    )


def claim(state_hash: str, claimed_at: str) -> StateRecord:
    """Mark a pending state used, once: a replayed or concurrent claim fails with
    Unusable (unknown, used or expired)."""
    try:
        response = table.client().update_item(
            TableName=table.name(),
            Key=key(f"STATE#{state_hash}", "STATE"),
            UpdateExpression="SET used_at = :claimed",
            ConditionExpression=(
                "attribute_exists(pk) AND attribute_not_exists(used_at) AND expires_at > :now"
            ),
            ExpressionAttributeValues={
                ":claimed": {"S": claimed_at},
                ":now": {"N": str(int(time.time()))},
            },
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except aws.ClientError as exc:
        old = table.refused_item(exc)
        if old is None:
            raise Unusable("unknown") from exc
        raise Unusable("used" if "used_at" in old else "expired") from exc
    return StateRecord.model_validate(table.load(response["Attributes"]))
