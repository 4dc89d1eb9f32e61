"""Connected accounts: every read a key lookup or a Query, every write conditional."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from keyfob.core import aws
from keyfob.models.records.accounts import (
    AccountChanges,
    AccountRecord,
    Increment,
    LinkRecord,
    StateRecord,
)
from keyfob.models.types import ACCOUNT_CURSOR_PATTERN, Status
from keyfob.store import integrations, links, states, table
from keyfob.store.conditions import (
    Expect,
    Expression,
    clauses,
    condition,
    due_shard,
    status_filter,
    written,
)
from keyfob.store.errors import ItemNotFound, StaleAccount, Unusable
from keyfob.store.table import key, tenant_pk

# Follow-up Queries of a filtered page read this many items at most (DynamoDB stops a
# page at 1 MB anyway): a sparse filter fills its page in few round trips.
_FILL_LIMIT = 1000


def account_key(tenant_id: str, account_id: str) -> table.Key:
    return key(tenant_pk(tenant_id), f"ACCOUNT#{account_id}")


def _position(record: AccountRecord) -> str:
    return f"{record.created_at}#{record.id}"


def _cursor(record: AccountRecord) -> str:
    return f"{record.created_at}~{record.id}"


def _item(record: AccountRecord) -> dict[str, Any]:
    return {
        "pk": tenant_pk(record.tenant_id),
        "sk": f"ACCOUNT#{record.id}",
        "gsi1pk": f"{tenant_pk(record.tenant_id)}#ACCOUNTS",
        "gsi1sk": _position(record),
        "gsi2pk": f"{tenant_pk(record.tenant_id)}#ENTITY#{record.entity_id}",
        "gsi2sk": _position(record),
        "due_shard": due_shard(record.id) if record.due_at else None,
        **record.model_dump(mode="json"),
    }


def create(
    account: AccountRecord, state: StateRecord | None = None, link: LinkRecord | None = None
) -> None:
    """Write a new account (and its pending OAuth state) in one transaction.

    The same transaction counts the account on its integration, on the condition that
    the integration still exists: a concurrent delete cannot orphan it (ItemNotFound).
    Made through a connect link, it also uses the link up, on the condition that it is
    unused and unexpired (Unusable): a link makes one account at most."""
    writes: list[Any] = [
        table.put_new(_item(account)),
        integrations.count(account.tenant_id, account.integration_id, 1),
    ]
    if state is not None:
        writes.append(states.put_new(state))
    if link is not None:
        writes.append(links.use(link, account.id, account.created_at))
    try:
        table.transact(writes)
    except aws.ClientError as exc:
        reasons = table.cancelled(exc)
        if reasons[1] == "ConditionalCheckFailed":
            raise ItemNotFound("integration", account.integration_id) from exc
        if link is not None and reasons[-1] == "ConditionalCheckFailed":
            raise Unusable("used") from exc
        raise


def get(tenant_id: str, account_id: str, *, consistent: bool = False) -> AccountRecord:
    response = table.client().get_item(
        TableName=table.name(), Key=account_key(tenant_id, account_id), ConsistentRead=consistent
    )
    if "Item" not in response:
        raise ItemNotFound("account", account_id)
    return AccountRecord.model_validate(table.load(response["Item"]))


def page(
    tenant_id: str,
    *,
    entity_id: str | None,
    filters: Mapping[str, str],
    status: Status | None,
    now_epoch: int,
    limit: int,
    cursor: str | None,
) -> tuple[list[AccountRecord], str | None]:
    """A page of accounts, newest first. Filters other than the entity narrow what a
    Query reads (DynamoDB filters after its Limit), so Queries go on from where the last
    one stopped until the page holds ``limit`` accounts or the index has no more: a page
    is short only at the end."""
    if entity_id is not None:
        index, pk_name, sk_name = "gsi2", "gsi2pk", "gsi2sk"
        partition = f"{tenant_pk(tenant_id)}#ENTITY#{entity_id}"
    else:
        index, pk_name, sk_name = "gsi1", "gsi1pk", "gsi1sk"
        partition = f"{tenant_pk(tenant_id)}#ACCOUNTS"

    def start_at(position: str) -> table.Key:
        account_id = position.rsplit("#", 1)[1]
        return {
            **account_key(tenant_id, account_id),
            pk_name: {"S": partition},
            sk_name: {"S": position},
        }

    expression = Expression()
    conditions = [expression.compare(k, "=", v) for k, v in sorted(filters.items())]
    if status is not None:
        conditions.append(status_filter(status, expression, now_epoch))
    query: dict[str, Any] = {
        "TableName": table.name(),
        "IndexName": index,
        "KeyConditionExpression": f"{pk_name} = :p",
        "ExpressionAttributeValues": {":p": {"S": partition}, **expression.values},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if conditions:
        query["FilterExpression"] = " AND ".join(conditions)
        query["ExpressionAttributeNames"] = expression.names
    if cursor:
        after = table.position(cursor, ACCOUNT_CURSOR_PATTERN)
        query["ExclusiveStartKey"] = start_at(after.replace("~", "#"))
    records: list[AccountRecord] = []
    while True:
        response = table.client().query(**query)
        records += [AccountRecord.model_validate(table.load(i)) for i in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        if len(records) >= limit or last is None:
            more = len(records) > limit or last is not None
            records = records[:limit]
            return records, _cursor(records[-1]) if more else None
        query.update(ExclusiveStartKey=last, Limit=_FILL_LIMIT)


def update(
    tenant_id: str,
    account_id: str,
    changes: AccountChanges,
    expect: Expect,
    now_epoch: int,
    *,
    status: Status | None = None,
    known: AccountRecord | None = None,
) -> AccountRecord:
    """Change an account if it is as expected; returns it as written. Raises
    StaleAccount with the account as it is when the condition fails, ItemNotFound when
    it is gone. ``status``: for the state machine alone.

    ``known``: the whole account as the caller holds it, when the condition guarantees
    nothing else changed since; the result is then built from it rather than read back,
    and only what differs from it is written (a hot path's write need carry neither the
    whole item back nor what it would set to what it is)."""
    attributes = written(changes, status)
    if known is not None:
        held = known.model_dump(mode="json")
        attributes = {k: v for k, v in attributes.items() if k not in held or held[k] != v}
    expression = Expression()
    update_expression = clauses(attributes, expression, account_id)
    try:
        response = table.client().update_item(
            TableName=table.name(),
            Key=account_key(tenant_id, account_id),
            UpdateExpression=update_expression,
            ConditionExpression=condition(expect, expression, now_epoch),
            ExpressionAttributeNames=expression.names,
            ExpressionAttributeValues=expression.values,
            ReturnValues="NONE" if known else "ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except aws.ClientError as exc:
        old = table.refused_item(exc)
        if old is None:
            raise ItemNotFound("account", account_id) from exc
        raise StaleAccount(AccountRecord.model_validate(old)) from exc
    if known is not None:
        assert not any(isinstance(v, Increment) for v in attributes.values())
        return AccountRecord.model_validate({**known.model_dump(mode="json"), **attributes})
    return AccountRecord.model_validate(table.load(response["Attributes"]))


def restart(
    tenant_id: str,
    account_id: str,
    changes: AccountChanges,
    expect: Expect,
    now_epoch: int,
    state: StateRecord,
    *,
    status: Status,
) -> None:
    """``update`` and the new attempt's OAuth state, in one transaction."""
    expression = Expression()
    writes: list[Any] = [
        {
            "Update": {
                "TableName": table.name(),
                "Key": account_key(tenant_id, account_id),
                "UpdateExpression": clauses(written(changes, status), expression, account_id),
                "ConditionExpression": condition(expect, expression, now_epoch),
                "ExpressionAttributeNames": expression.names,
                "ExpressionAttributeValues": expression.values,
            }
        },
        states.put_new(state),
    ]
    try:
        table.transact(writes)
    except aws.ClientError as exc:
        if table.cancelled(exc)[0] == "ConditionalCheckFailed":
            raise StaleAccount(get(tenant_id, account_id, consistent=True)) from exc
        raise


def delete(account: AccountRecord) -> None:
    """Delete an account and uncount it from its integration, in one transaction."""
    writes: list[Any] = [
        {
            "Delete": {
                "TableName": table.name(),
                "Key": account_key(account.tenant_id, account.id),
                "ConditionExpression": "attribute_exists(pk)",
            }
        },
        integrations.count(account.tenant_id, account.integration_id, -1),
    ]
    try:
        table.transact(writes)
    except aws.ClientError as exc:
        if table.cancelled(exc)[0] == "ConditionalCheckFailed":
            raise ItemNotFound("account", account.id) from exc
        raise


class Due(NamedTuple):
    tenant_id: str
    account_id: str
    status: Status
    refreshable: bool
    due_at: str


def due(horizon: str, shards: Iterable[int]) -> Iterator[Due]:
    """Every account of these shards with work due by ``horizon``, soonest first within
    each shard: a Query per shard of the sparse due index, never a Scan."""
    for number in shards:
        for item in table.query_all(
            IndexName="due",
            KeyConditionExpression="due_shard = :shard AND due_at <= :horizon",
            ExpressionAttributeValues={
                ":shard": {"S": f"DUE#{number}"},
                ":horizon": {"S": horizon},
            },
        ):
            yield Due(
                tenant_id=item["pk"]["S"].removeprefix("TENANT#"),
                account_id=item["sk"]["S"].removeprefix("ACCOUNT#"),
                status=Status(item["status"]["S"]),
                refreshable=item.get("refreshable", {}).get("BOOL", False),
                due_at=item["due_at"]["S"],
            )
