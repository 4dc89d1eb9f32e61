"""The one table: its client, marshalling, keys, page cursors and the failure reasons of
conditional writes. Every key begins with the tenant where a record is a tenant's, so a
lookup under one tenant can never reach another tenant's record.

Layout (see template.yaml):
    TENANT#<t>      TENANT               the tenant
    APIKEY#<sha256> APIKEY               API key hash -> tenant (authorizer lookup)
    TENANT#<t>      INTEGRATION#<id>     an integration
    TENANT#<t>      ACCOUNT#<id>         a connected account, also on
        gsi1 (TENANT#<t>#ACCOUNTS, <created>#<id>) and gsi2 (TENANT#<t>#ENTITY#<e>, same),
        and, while the scheduled run has work on it, due (DUE#<shard>, <due_at>)
    TENANT#<t>#ACCOUNT#<id>  EVENT#<at>#<event>  a status change in the account's history
    STATE#<sha256>  STATE                a pending OAuth authorization, single use
    LINK#<sha256>   LINK                 a connect link, single use
    AWSACCOUNT#<id> AWSACCOUNT           AWS account -> the one tenant it may act for
    TENANT#<t>      AWSACCOUNT#<id>      the same, listed under the tenant
    OUTBOX#<shard>  <recorded>#<event>   an event PutEvents refused, for the scheduled run

A page cursor is the position of the page's last item in its listing: an account's
``<created_at>~<id>``, an integration's id. What an API caller sees of it is what a list
item shows anyway, and its grammar is in the API's document.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from keyfob.core import aws
from keyfob.core.config import settings
from keyfob.core.observability import logger
from keyfob.store.attributes import deserialize, serialize
from keyfob.store.errors import InvalidCursor

if TYPE_CHECKING:
    from botocore.exceptions import ClientError
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

Key = dict[str, "AttributeValueTypeDef"]


def client() -> DynamoDBClient:
    return aws.dynamodb()


def name() -> str:
    return settings().table_name


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def dump(item: Mapping[str, Any]) -> dict[str, AttributeValueTypeDef]:
    return {k: serialize(v) for k, v in item.items() if v is not None}


def load(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain(deserialize(v)) for k, v in item.items()}


def key(pk: str, sk: str) -> Key:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def tenant_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}"


def shard(value: str, shards: int) -> int:
    """A stable shard for a key: spreads writes over partitions."""
    return int(hashlib.sha256(value.encode()).hexdigest()[:8], 16) % shards


def refused_item(exc: ClientError) -> dict[str, Any] | None:
    """The item a write's failed condition saw (ReturnValuesOnConditionCheckFailure=ALL_OLD),
    None when there was none; re-raises any other error."""
    if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
        raise exc
    item: Any = exc.response.get("Item")
    return load(item) if item else None


# A transaction DynamoDB cancels for a reason other than a failed condition (another
# transaction writing the same item, as when two accounts made at once count up one
# integration; throttling) says nothing about the data: it is tried again, a few times.
_CANCELLED_TRIES = 4


def transact(writes: list[Any]) -> None:
    """TransactWriteItems, tried again while a cancellation names any reason besides failed
    conditions; one whose only reasons are failed conditions is the caller's to read."""
    for attempt in range(_CANCELLED_TRIES):
        try:
            client().transact_write_items(TransactItems=writes)
            return
        except aws.ClientError as exc:
            reasons = cancelled(exc)
            if set(reasons) <= {"ConditionalCheckFailed", "None", None}:
                raise
            # The reasons' codes only: a message can quote the item a condition saw.
            logger.warning("transaction cancelled", extra={"reasons": reasons, "try": attempt})
            if attempt == _CANCELLED_TRIES - 1:
                raise
            time.sleep((10 + secrets.randbelow(40)) * (attempt + 1) / 1000)


def cancelled(exc: ClientError) -> list[str | None]:
    """The per-item reasons of a cancelled transaction; re-raises any other error."""
    if exc.response["Error"]["Code"] != "TransactionCanceledException":
        raise exc
    return [r.get("Code") for r in exc.response.get("CancellationReasons", [])]


def position(cursor: str, pattern: str) -> str:
    """A page cursor checked against what its listing issues; it is re-anchored to the
    caller's own partition before use, so it can reach nothing of another tenant's."""
    if not re.fullmatch(pattern, cursor):
        raise InvalidCursor
    return cursor


def query_all(**query: Any) -> Iterator[dict[str, Any]]:
    """Every item a Query matches, page after page."""
    while True:
        response = client().query(TableName=name(), **query)
        yield from response.get("Items", [])
        if "LastEvaluatedKey" not in response:
            return
        query["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def put_new(item: Mapping[str, Any]) -> dict[str, Any]:
    """A transaction's Put of an item that must not exist yet."""
    return {
        "Put": {
            "TableName": name(),
            "Item": dump(item),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }
