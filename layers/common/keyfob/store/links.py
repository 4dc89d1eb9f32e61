"""Connect links, keyed by the hash of the secret token in their URL; single use."""

from __future__ import annotations

import time
from typing import Any

from keyfob.models.records.accounts import LinkRecord
from keyfob.store import table
from keyfob.store.table import key


def _key(link_hash: str) -> table.Key:
    return key(f"LINK#{link_hash}", "LINK")


def put(link: LinkRecord) -> None:
    item = {"pk": f"LINK#{link.link_hash}", "sk": "LINK", "ttl": link.expires_at + 3600}
    table.client().put_item(
        TableName=table.name(),
        Item=table.dump({**item, **link.model_dump(mode="json")}),
        ConditionExpression="attribute_not_exists(pk)",
    )


def get(link_hash: str) -> LinkRecord | None:
    """The link as stored, used or expired alike (the caller says which); None if unknown."""
    response = table.client().get_item(
        TableName=table.name(), Key=_key(link_hash), ConsistentRead=True
    )
    item = response.get("Item")
    return LinkRecord.model_validate(table.load(item)) if item else None


def use(link: LinkRecord, account_id: str, used_at: str) -> dict[str, Any]:
    """A transaction's update that uses the link up, if it is unused and unexpired."""
    return {
        "Update": {
            "TableName": table.name(),
            "Key": _key(link.link_hash),
            "UpdateExpression": "SET used_at = :used, account_id = :account",
            "ConditionExpression": (
                "attribute_exists(pk) AND attribute_not_exists(used_at) AND expires_at > :now"
            ),
            "ExpressionAttributeValues": {
                ":used": {"S": used_at},
                ":account": {"S": account_id},
                ":now": {"N": str(int(time.time()))},
            },
        }
    }
