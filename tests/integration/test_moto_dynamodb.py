"""The local stack's DynamoDB (moto's server, devstack.moto_dynamodb) behaves like DynamoDB
where our tests see it: a cancelled transaction undoes exactly its own writes, and a
transaction retried with its ClientRequestToken applies once."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from devstack.moto_server import EmbeddedAWS


@pytest.fixture(scope="module")
def dynamodb(aws: EmbeddedAWS) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=aws.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def table(dynamodb: Any) -> Iterator[str]:
    name = f"moto-fidelity-{secrets.token_hex(4)}"
    dynamodb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    yield name
    dynamodb.delete_table(TableName=name)


def _key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": "ITEM"}}


def _put_new(table: str, pk: str, **attributes: str) -> dict[str, Any]:
    item = {**_key(pk), **{k: {"S": v} for k, v in attributes.items()}}
    return {
        "Put": {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}
    }


def _count_up(table: str, pk: str) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": table,
            "Key": _key(pk),
            "UpdateExpression": "ADD n :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }


def _item(dynamodb: Any, table: str, pk: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = dynamodb.get_item(TableName=table, Key=_key(pk)).get("Item")
    return found


def test_a_cancelled_transaction_undoes_its_own_writes_and_no_one_elses(
    dynamodb: Any, table: str
) -> None:
    # Given an item written before, and another written by its own PutItem
    dynamodb.put_item(TableName=table, Item={**_key("taken"), "v": {"S": "first"}})
    dynamodb.put_item(TableName=table, Item={**_key("counted"), "n": {"N": "5"}})
    # When a transaction writes a new item, counts one up, then fails a condition
    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(
            TransactItems=[
                _put_new(table, "new", v="x"),
                _count_up(table, "counted"),
                _put_new(table, "taken", v="second"),
            ]
        )
    # Then DynamoDB's reasons name the failed condition alone, and nothing it wrote stays
    reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "ConditionalCheckFailed"]
    assert _item(dynamodb, table, "new") is None
    assert _item(dynamodb, table, "counted") == {**_key("counted"), "n": {"N": "5"}}
    assert _item(dynamodb, table, "taken") == {**_key("taken"), "v": {"S": "first"}}


def test_a_cancelled_transaction_keeps_the_table_it_ran_on(dynamodb: Any, table: str) -> None:
    # Given moto's table object (moto's own rollback puts back a deep copy of the whole
    # table, which costs in proportion to it)
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends["123456789012"]["us-east-1"]
    before = backend.tables[table]
    dynamodb.put_item(TableName=table, Item=_key("taken"))
    # When a transaction is cancelled
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(TransactItems=[_put_new(table, "taken")])
    # Then the table is the same object: only the touched items were put back
    assert backend.tables[table] is before


def test_a_transaction_retried_with_its_token_applies_once(dynamodb: Any, table: str) -> None:
    # Given a transaction that succeeded (the SDK would retry it when its answer came late)
    token = secrets.token_hex(16)
    writes = [_put_new(table, "made"), _count_up(table, "counter")]
    dynamodb.transact_write_items(TransactItems=writes, ClientRequestToken=token)
    # When the very same request comes again with its token
    dynamodb.transact_write_items(TransactItems=writes, ClientRequestToken=token)
    # Then it succeeds, and was applied once
    assert _item(dynamodb, table, "counter") == {**_key("counter"), "n": {"N": "1"}}
    # And the token with other writes is refused, as DynamoDB does
    with pytest.raises(ClientError) as mismatch:
        dynamodb.transact_write_items(
            TransactItems=[_count_up(table, "counter")], ClientRequestToken=token
        )
    assert mismatch.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"


def test_a_cancelled_transaction_retried_with_its_token_runs_again(
    dynamodb: Any, table: str
) -> None:
    # Given a transaction cancelled by its condition
    dynamodb.put_item(TableName=table, Item=_key("blocker"))
    token = secrets.token_hex(16)
    writes = [_put_new(table, "blocker"), _count_up(table, "counter")]
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(TransactItems=writes, ClientRequestToken=token)
    # When what blocked it is gone and it is retried with its token
    dynamodb.delete_item(TableName=table, Key=_key("blocker"))
    dynamodb.transact_write_items(TransactItems=writes, ClientRequestToken=token)
    # Then it ran this time (a token remembers only what succeeded)
    assert _item(dynamodb, table, "counter") == {**_key("counter"), "n": {"N": "1"}}


def test_a_query_answers_in_key_order_page_by_page(dynamodb: Any) -> None:
    # Given a table with an index, its items written in no particular order
    name = f"moto-order-{secrets.token_hex(4)}"
    strings = ("pk", "sk", "shard", "due")
    dynamodb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in strings],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "due",
                "KeySchema": [
                    {"AttributeName": "shard", "KeyType": "HASH"},
                    {"AttributeName": "due", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    numbers = list(range(60))
    secrets.SystemRandom().shuffle(numbers)
    for n in numbers:
        item = {"pk": f"T#{n % 3}", "sk": f"A#{n:03d}", "shard": f"S#{n % 2}", "due": f"{n % 7}"}
        dynamodb.put_item(TableName=name, Item={k: {"S": v} for k, v in item.items()})

    def pages(**query: Any) -> list[tuple[str, ...]]:
        seen: list[tuple[str, ...]] = []
        while True:
            answer = dynamodb.query(TableName=name, Limit=4, **query)
            seen += [tuple(i[k]["S"] for k in ("pk", "sk")) for i in answer["Items"]]
            if "LastEvaluatedKey" not in answer:
                return seen
            query["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    # When it is queried by its index and by its key, a page of four at a time
    by_index = pages(
        IndexName="due",
        KeyConditionExpression="shard = :s AND due <= :d",
        ExpressionAttributeValues={":s": {"S": "S#1"}, ":d": {"S": "4"}},
    )
    backwards = pages(
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "T#2"}},
        ScanIndexForward=False,
    )
    # Then they come in key order (moto breaks ties on the index key by the table's key)
    odd = [n for n in range(60) if n % 2 and n % 7 <= 4]
    assert by_index == [
        (f"T#{n % 3}", f"A#{n:03d}") for n in sorted(odd, key=lambda n: (n % 7, n % 3, n))
    ]
    assert backwards == [("T#2", f"A#{n:03d}") for n in range(59, -1, -1) if n % 3 == 2]
    dynamodb.delete_table(TableName=name)
