"""All DynamoDB access. Every request-path access is a key lookup or a Query.

Layout (one table, see template.yaml):
    TENANT#<t>      TENANT               the tenant
    APIKEY#<sha256> APIKEY               API key hash -> tenant (authorizer lookup)
    TENANT#<t>      INTEGRATION#<id>     an integration
    TENANT#<t>      ACCOUNT#<id>         a connected account, also on
        gsi1 (TENANT#<t>#ACCOUNTS, <created>#<id>) and gsi2 (TENANT#<t>#ENTITY#<e>, same),
        and, while the scheduled run has work on it, due (DUE#<shard>, <due_at>)
    STATE#<sha256>  STATE                a pending OAuth authorization, single use
    LINK#<sha256>   LINK                 a connect link, single use
    AWSACCOUNT#<id> AWSACCOUNT           AWS account -> the one tenant it may act for
    TENANT#<t>      AWSACCOUNT#<id>      the same, listed under the tenant
    OUTBOX#<shard>  <recorded>#<event>   an event PutEvents refused, for the scheduled run

Every key begins with the tenant, so a lookup under one tenant can never reach
another tenant's record. Cursors carry only a sort-key position, re-validated and
re-anchored to the caller's tenant before use.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import time
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from keyfob import aws
from keyfob.config import settings
from keyfob.errors import BadRequest, Conflict, Gone, NotFound
from keyfob.models import (
    PENDING,
    AccountRecord,
    IntegrationRecord,
    LinkRecord,
    OutboxRecord,
    StateRecord,
    Status,
    TenantRecord,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

_ACCOUNT_POSITION = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z#ca_[a-z2-7]{24}$")
_INTEGRATION_POSITION = re.compile(r"^INTEGRATION#int_[a-z2-7]{24}$")
# The due index is spread over shards so that no single partition takes every write.
DUE_SHARDS = 8
# Written to only while EventBridge refuses events, then by every status change at once.
OUTBOX_SHARDS = 4


# --- marshalling -----------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _dump(item: Mapping[str, Any]) -> dict[str, AttributeValueTypeDef]:
    return {k: _serializer.serialize(v) for k, v in item.items() if v is not None}


def _load(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


def _key(pk: str, sk: str) -> dict[str, AttributeValueTypeDef]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _tenant_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}"


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] == "ConditionalCheckFailedException"


def _old_item(exc: ClientError) -> dict[str, Any] | None:
    """The item a failed condition saw (ReturnValuesOnConditionCheckFailure=ALL_OLD)."""
    item: Any = exc.response.get("Item")
    return _load(item) if item else None


def _encode_cursor(position: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"p": position}).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, pattern: re.Pattern[str]) -> str:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = json.loads(raw)["p"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise BadRequest("invalid_cursor", "cursor is not one this API returned") from exc
    if not isinstance(position, str) or not pattern.match(position):
        raise BadRequest("invalid_cursor", "cursor is not one this API returned")
    return position


def _table() -> str:
    return settings().table_name


def _query_all(**query: Any) -> Iterator[dict[str, Any]]:
    """Every item a Query matches, page after page."""
    while True:
        response = aws.dynamodb().query(TableName=_table(), **query)
        yield from response.get("Items", [])
        if "LastEvaluatedKey" not in response:
            return
        query["ExclusiveStartKey"] = response["LastEvaluatedKey"]


# --- tenants ---------------------------------------------------------------------


def put_tenant(tenant: TenantRecord, api_key_hash: str) -> None:
    aws.dynamodb().transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": _table(),
                    "Item": _dump(
                        {"pk": _tenant_pk(tenant.id), "sk": "TENANT", **tenant.model_dump()}
                    ),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": _table(),
                    "Item": _dump(
                        {
                            "pk": f"APIKEY#{api_key_hash}",
                            "sk": "APIKEY",
                            "tenant_id": tenant.id,
                            "created_at": tenant.created_at,
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
    )


def tenant_for_api_key(api_key_hash: str) -> str | None:
    response = aws.dynamodb().get_item(
        TableName=_table(), Key=_key(f"APIKEY#{api_key_hash}", "APIKEY")
    )
    item = response.get("Item")
    return item["tenant_id"]["S"] if item else None


# --- AWS accounts that act for a tenant (commands on the event bus) ---------------


def _aws_account_key(aws_account_id: str) -> dict[str, AttributeValueTypeDef]:
    return _key(f"AWSACCOUNT#{aws_account_id}", "AWSACCOUNT")


def _tenant_not_found(tenant_id: str) -> NotFound:
    return NotFound("tenant_not_found", f"No tenant {tenant_id!r}", {"tenant_id": tenant_id})


def allow_aws_account(tenant_id: str, aws_account_id: str, created_at: str) -> bool:
    """Let an AWS account act for a tenant; False if it already does. An account acts
    for one tenant at most: the mapping is written only where none exists, in the same
    transaction as the tenant's own list of its accounts and a check that it exists."""
    mapping = {"tenant_id": tenant_id, "aws_account_id": aws_account_id, "created_at": created_at}
    writes: list[Any] = [
        {
            "ConditionCheck": {
                "TableName": _table(),
                "Key": _key(_tenant_pk(tenant_id), "TENANT"),
                "ConditionExpression": "attribute_exists(pk)",
            }
        },
        {
            "Put": {
                "TableName": _table(),
                "Item": _dump(
                    {"pk": f"AWSACCOUNT#{aws_account_id}", "sk": "AWSACCOUNT", **mapping}
                ),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
        {
            "Put": {
                "TableName": _table(),
                "Item": _dump(
                    {"pk": _tenant_pk(tenant_id), "sk": f"AWSACCOUNT#{aws_account_id}", **mapping}
                ),
            }
        },
    ]
    try:
        aws.dynamodb().transact_write_items(TransactItems=writes)
    except ClientError as exc:
        reasons = _cancelled(exc)
        if reasons[0] == "ConditionalCheckFailed":
            raise _tenant_not_found(tenant_id) from exc
        if tenant_for_aws_account(aws_account_id) == tenant_id:
            return False
        raise Conflict(
            "aws_account_taken",
            f"AWS account {aws_account_id} already acts for another tenant; revoke it there first",
            {"aws_account_id": aws_account_id},
        ) from exc
    return True


def revoke_aws_account(tenant_id: str, aws_account_id: str) -> None:
    """Stop an AWS account acting for a tenant: only that tenant's own mapping goes."""
    writes: list[Any] = [
        {
            "Delete": {
                "TableName": _table(),
                "Key": _aws_account_key(aws_account_id),
                "ConditionExpression": "tenant_id = :tenant",
                "ExpressionAttributeValues": {":tenant": {"S": tenant_id}},
            }
        },
        {
            "Delete": {
                "TableName": _table(),
                "Key": _key(_tenant_pk(tenant_id), f"AWSACCOUNT#{aws_account_id}"),
            }
        },
    ]
    try:
        aws.dynamodb().transact_write_items(TransactItems=writes)
    except ClientError as exc:
        if _cancelled(exc)[0] == "ConditionalCheckFailed":
            raise NotFound(
                "aws_account_not_allowed",
                f"AWS account {aws_account_id} does not act for tenant {tenant_id!r}",
                {"aws_account_id": aws_account_id, "tenant_id": tenant_id},
            ) from exc
        raise


def tenant_for_aws_account(aws_account_id: str) -> str | None:
    # Strongly consistent: a revoked account must not act a moment longer.
    response = aws.dynamodb().get_item(
        TableName=_table(), Key=_aws_account_key(aws_account_id), ConsistentRead=True
    )
    item = response.get("Item")
    return item["tenant_id"]["S"] if item else None


def aws_accounts(tenant_id: str) -> list[str]:
    """The AWS accounts that act for a tenant (an admin listing, a Query)."""
    items = _query_all(
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={
            ":pk": {"S": _tenant_pk(tenant_id)},
            ":prefix": {"S": "AWSACCOUNT#"},
        },
    )
    return [item["aws_account_id"]["S"] for item in items]


# --- integrations ----------------------------------------------------------------


def _integration_not_found(integration_id: str) -> NotFound:
    return NotFound(
        "integration_not_found",
        f"No integration {integration_id!r}",
        {"integration_id": integration_id},
    )


def put_integration(record: IntegrationRecord) -> None:
    item = {"pk": _tenant_pk(record.tenant_id), "sk": f"INTEGRATION#{record.id}"}
    aws.dynamodb().put_item(
        TableName=_table(),
        Item=_dump({**item, **record.model_dump(mode="json")}),
        ConditionExpression="attribute_not_exists(pk)",
    )


def get_integration(tenant_id: str, integration_id: str) -> IntegrationRecord:
    response = aws.dynamodb().get_item(
        TableName=_table(), Key=_key(_tenant_pk(tenant_id), f"INTEGRATION#{integration_id}")
    )
    if "Item" not in response:
        raise _integration_not_found(integration_id)
    return IntegrationRecord.model_validate(_load(response["Item"]))


def list_integrations(
    tenant_id: str, limit: int, cursor: str | None
) -> tuple[list[IntegrationRecord], str | None]:
    kwargs: dict[str, Any] = {}
    if cursor:
        position = _decode_cursor(cursor, _INTEGRATION_POSITION)
        kwargs["ExclusiveStartKey"] = _key(_tenant_pk(tenant_id), position)
    response = aws.dynamodb().query(
        TableName=_table(),
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={
            ":pk": {"S": _tenant_pk(tenant_id)},
            ":prefix": {"S": "INTEGRATION#"},
        },
        Limit=limit,
        **kwargs,
    )
    records = [IntegrationRecord.model_validate(_load(i)) for i in response.get("Items", [])]
    last = response.get("LastEvaluatedKey")
    return records, _encode_cursor(last["sk"]["S"]) if last else None


def delete_integration(tenant_id: str, integration_id: str) -> None:
    try:
        aws.dynamodb().delete_item(
            TableName=_table(),
            Key=_key(_tenant_pk(tenant_id), f"INTEGRATION#{integration_id}"),
            ConditionExpression="attribute_exists(pk) AND account_count = :zero",
            ExpressionAttributeValues={":zero": {"N": "0"}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as exc:
        if not _conditional_failed(exc):
            raise
        old = _old_item(exc)
        if old is None:
            raise _integration_not_found(integration_id) from exc
        count = old.get("account_count", 0)
        raise Conflict(
            "integration_in_use",
            f"Integration {integration_id!r} still has {count} connected account(s)",
            {"integration_id": integration_id, "account_count": count},
        ) from exc


# --- connected accounts ----------------------------------------------------------


def _shard(key: str, shards: int) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % shards


def _due_shard(account_id: str) -> str:
    return f"DUE#{_shard(account_id, DUE_SHARDS)}"


def _account_item(record: AccountRecord) -> dict[str, Any]:
    position = f"{record.created_at}#{record.id}"
    return {
        "pk": _tenant_pk(record.tenant_id),
        "sk": f"ACCOUNT#{record.id}",
        "gsi1pk": f"{_tenant_pk(record.tenant_id)}#ACCOUNTS",
        "gsi1sk": position,
        "gsi2pk": f"{_tenant_pk(record.tenant_id)}#ENTITY#{record.entity_id}",
        "gsi2sk": position,
        "due_shard": _due_shard(record.id) if record.due_at else None,
        **record.model_dump(mode="json"),
    }


def _account_key(tenant_id: str, account_id: str) -> dict[str, AttributeValueTypeDef]:
    return _key(_tenant_pk(tenant_id), f"ACCOUNT#{account_id}")


def _state_put(state: StateRecord) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": _table(),
            "Item": _dump(
                {
                    "pk": f"STATE#{state.state_hash}",
                    "sk": "STATE",
                    # DynamoDB's own TTL lags; expires_at is what is enforced.
                    "ttl": state.expires_at + 3600,
                    **state.model_dump(mode="json"),
                }
            ),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def _cancelled(exc: ClientError) -> list[str | None]:
    """The per-item reasons of a cancelled transaction; re-raises any other error."""
    if exc.response["Error"]["Code"] != "TransactionCanceledException":
        raise exc
    return [r.get("Code") for r in exc.response.get("CancellationReasons", [])]


def _integration_count(tenant_id: str, integration_id: str, delta: int) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": _table(),
            "Key": _key(_tenant_pk(tenant_id), f"INTEGRATION#{integration_id}"),
            "UpdateExpression": "ADD account_count :delta",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": {":delta": {"N": str(delta)}},
        }
    }


def create_account(
    account: AccountRecord,
    state: StateRecord | None = None,
    link: LinkRecord | None = None,
) -> None:
    """Write a new account (and its pending OAuth state) in one transaction.

    The same transaction counts the account on its integration, on the condition
    that the integration still exists: a concurrent delete cannot orphan it. Made
    through a connect link, it also uses the link up, on the condition that it is
    unused and unexpired: a link makes one account at most.
    """
    writes: list[Any] = [
        {
            "Put": {
                "TableName": _table(),
                "Item": _dump(_account_item(account)),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
        _integration_count(account.tenant_id, account.integration_id, 1),
    ]
    if state is not None:
        writes.append(_state_put(state))
    if link is not None:
        writes.append(_link_use(link, account))
    try:
        aws.dynamodb().transact_write_items(TransactItems=writes)
    except ClientError as exc:
        reasons = _cancelled(exc)
        if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
            raise _integration_not_found(account.integration_id) from exc
        if link is not None and reasons[-1] == "ConditionalCheckFailed":
            raise _link_unusable(link.id) from exc
        raise


def _account_not_found(account_id: str) -> NotFound:
    return NotFound(
        "connected_account_not_found",
        f"No connected account {account_id!r}",
        {"connected_account_id": account_id},
    )


def get_account(tenant_id: str, account_id: str, *, consistent: bool = False) -> AccountRecord:
    response = aws.dynamodb().get_item(
        TableName=_table(), Key=_account_key(tenant_id, account_id), ConsistentRead=consistent
    )
    if "Item" not in response:
        raise _account_not_found(account_id)
    return AccountRecord.model_validate(_load(response["Item"]))


class StaleAccount(Exception):
    """A conditional account write found the account other than expected."""

    def __init__(self, current: AccountRecord) -> None:
        super().__init__(current.id)
        self.current = current


@dataclass(frozen=True)
class Expect:
    """What a conditional account write requires of the stored account."""

    statuses: Collection[Status] = ()  # one of these (empty: any status)
    lapsed: bool = False  # ... or a pending attempt whose time is over
    token_version: int | None = None
    lease_free_at: int | None = None  # no lease, or one that ended by this epoch ms
    lease_owner: str | None = None
    due_by: str | None = None  # due_at at or before this
    confirmation_hash: str | None = None
    pending_after: int | None = None  # pending_until later than this epoch


class _Expression:
    """Collects placeholders for one update's expressions."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, AttributeValueTypeDef] = {}

    def name(self, attribute: str) -> str:
        placeholder = f"#n{len(self.names)}"
        self.names[placeholder] = attribute
        return placeholder

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = _serializer.serialize(value)
        return placeholder

    def compare(self, attribute: str, operator: str, value: Any) -> str:
        return f"{self.name(attribute)} {operator} {self.value(value)}"

    def one_of(self, attribute: str, options: Collection[str]) -> str:
        listed = ", ".join(self.value(o) for o in sorted(options))
        return f"{self.name(attribute)} IN ({listed})"


def _status_filter(status: Status, expression: _Expression, now_epoch: int) -> str:
    """A status as the API shows it: a pending attempt past its time counts as EXPIRED."""
    matches = expression.compare("status", "=", status.value)
    if status is Status.EXPIRED:
        pending = expression.one_of("status", {s.value for s in PENDING})
        return (
            f"({matches} OR ({pending} AND {expression.compare('pending_until', '<=', now_epoch)}))"
        )
    if status in PENDING:
        return f"({matches} AND {expression.compare('pending_until', '>', now_epoch)})"
    return matches


def query_accounts(
    tenant_id: str,
    *,
    entity_id: str | None,
    filters: Mapping[str, str],
    status: Status | None,
    now_epoch: int,
    limit: int,
    cursor: str | None,
) -> tuple[list[AccountRecord], str | None]:
    """One Query for a page, newest first; filters other than the entity narrow it."""
    if entity_id is not None:
        index, pk_name, sk_name = "gsi2", "gsi2pk", "gsi2sk"
        partition = f"{_tenant_pk(tenant_id)}#ENTITY#{entity_id}"
    else:
        index, pk_name, sk_name = "gsi1", "gsi1pk", "gsi1sk"
        partition = f"{_tenant_pk(tenant_id)}#ACCOUNTS"
    kwargs: dict[str, Any] = {}
    if cursor:
        position = _decode_cursor(cursor, _ACCOUNT_POSITION)
        account_id = position.rsplit("#", 1)[1]
        kwargs["ExclusiveStartKey"] = {
            **_account_key(tenant_id, account_id),
            pk_name: {"S": partition},
            sk_name: {"S": position},
        }
    expression = _Expression()
    conditions = [expression.compare(k, "=", v) for k, v in sorted(filters.items())]
    if status is not None:
        conditions.append(_status_filter(status, expression, now_epoch))
    if conditions:
        kwargs["FilterExpression"] = " AND ".join(conditions)
        kwargs["ExpressionAttributeNames"] = expression.names
    response = aws.dynamodb().query(
        TableName=_table(),
        IndexName=index,
        KeyConditionExpression=f"{pk_name} = :p",
        ExpressionAttributeValues={":p": {"S": partition}, **expression.values},
        ScanIndexForward=False,
        Limit=limit,
        **kwargs,
    )
    records = [AccountRecord.model_validate(_load(i)) for i in response.get("Items", [])]
    last = response.get("LastEvaluatedKey")
    return records, _encode_cursor(last[sk_name]["S"]) if last else None


def _condition(expect: Expect, expression: _Expression, now_epoch: int) -> str:
    parts = ["attribute_exists(pk)"]
    allowed = []
    if expect.statuses:
        allowed.append(expression.one_of("status", {s.value for s in expect.statuses}))
    if expect.lapsed:
        allowed.append(
            f"{expression.one_of('status', {s.value for s in PENDING})} AND "
            f"{expression.compare('pending_until', '<=', now_epoch)}"
        )
    # DynamoDB refuses doubled parentheses: only an OR of the two needs any.
    if len(allowed) == 2:
        parts.append(f"({allowed[0]} OR ({allowed[1]}))")
    elif allowed:
        parts.append(allowed[0])
    if expect.lease_free_at is not None:
        ended = expression.compare("lease_until", "<=", expect.lease_free_at)
        parts.append(f"(attribute_not_exists({expression.name('lease_until')}) OR {ended})")
    for attribute, operator, value in (
        ("token_version", "=", expect.token_version),
        ("lease_owner", "=", expect.lease_owner),
        ("due_at", "<=", expect.due_by),
        ("confirmation_hash", "=", expect.confirmation_hash),
        ("pending_until", ">", expect.pending_after),
    ):
        if value is not None:
            parts.append(expression.compare(attribute, operator, value))
    return " AND ".join(parts)


@dataclass(frozen=True)
class Increment:
    """A change that adds to a number where it is stored (ADD), whatever it is now."""

    by: int = 1


def _update(changes: Mapping[str, Any], expression: _Expression, account_id: str) -> str:
    """SET what has a value, REMOVE what is None, ADD an Increment; due_at carries its
    index shard along."""
    changes = dict(changes)
    if "due_at" in changes:
        changes["due_shard"] = _due_shard(account_id) if changes["due_at"] else None
    sets, removes, adds = [], [], []
    for attribute, value in changes.items():
        if value is None:
            removes.append(expression.name(attribute))
        elif isinstance(value, Increment):
            adds.append(f"{expression.name(attribute)} {expression.value(value.by)}")
        else:
            sets.append(f"{expression.name(attribute)} = {expression.value(value)}")
    clauses = [
        f"{verb} {', '.join(parts)}"
        for verb, parts in (("SET", sets), ("REMOVE", removes), ("ADD", adds))
        if parts
    ]
    return " ".join(clauses)


def update_account(
    tenant_id: str,
    account_id: str,
    changes: Mapping[str, Any],
    expect: Expect,
    now_epoch: int,
    *,
    known: AccountRecord | None = None,
) -> AccountRecord:
    """Change an account if it is as expected; returns it as written. JSON-ready values
    only (dump models first); None removes the attribute. Raises StaleAccount with the
    account as it is when the condition fails, NotFound when it is gone.

    ``known``: the whole account as the caller holds it, when the condition guarantees
    nothing else changed since; the result is then built from it rather than read back,
    and only what differs from it is written (a hot path's write need carry neither the
    whole item back nor what it would set to what it is)."""
    if known is not None:
        held = known.model_dump(mode="json")
        changes = {k: v for k, v in changes.items() if k not in held or held[k] != v}
    expression = _Expression()
    update = _update(changes, expression, account_id)
    condition = _condition(expect, expression, now_epoch)
    try:
        response = aws.dynamodb().update_item(
            TableName=_table(),
            Key=_account_key(tenant_id, account_id),
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames=expression.names,
            ExpressionAttributeValues=expression.values,
            ReturnValues="NONE" if known else "ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as exc:
        if not _conditional_failed(exc):
            raise
        old = _old_item(exc)
        if old is None:
            raise _account_not_found(account_id) from exc
        raise StaleAccount(AccountRecord.model_validate(old)) from exc
    if known is not None:
        assert not any(isinstance(v, Increment) for v in changes.values())
        return AccountRecord.model_validate({**known.model_dump(mode="json"), **changes})
    return AccountRecord.model_validate(_load(response["Attributes"]))


def restart_account(
    tenant_id: str,
    account_id: str,
    changes: Mapping[str, Any],
    expect: Expect,
    now_epoch: int,
    state: StateRecord,
) -> None:
    """update_account and the new attempt's OAuth state, in one transaction."""
    expression = _Expression()
    update = _update(changes, expression, account_id)
    condition = _condition(expect, expression, now_epoch)
    writes: list[Any] = [
        {
            "Update": {
                "TableName": _table(),
                "Key": _account_key(tenant_id, account_id),
                "UpdateExpression": update,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": expression.names,
                "ExpressionAttributeValues": expression.values,
            }
        },
        _state_put(state),
    ]
    try:
        aws.dynamodb().transact_write_items(TransactItems=writes)
    except ClientError as exc:
        if _cancelled(exc)[0] == "ConditionalCheckFailed":
            raise StaleAccount(get_account(tenant_id, account_id, consistent=True)) from exc
        raise


def delete_account(account: AccountRecord) -> None:
    """Delete an account and uncount it from its integration, in one transaction."""
    writes: list[Any] = [
        {
            "Delete": {
                "TableName": _table(),
                "Key": _account_key(account.tenant_id, account.id),
                "ConditionExpression": "attribute_exists(pk)",
            }
        },
        _integration_count(account.tenant_id, account.integration_id, -1),
    ]
    try:
        aws.dynamodb().transact_write_items(TransactItems=writes)
    except ClientError as exc:
        if _cancelled(exc)[0] == "ConditionalCheckFailed":
            raise _account_not_found(account.id) from exc
        raise


@dataclass(frozen=True)
class Due:
    tenant_id: str
    account_id: str
    status: Status
    refreshable: bool
    due_at: str


def due_accounts(horizon: str) -> Iterator[Due]:
    """Every account with work due by ``horizon``, soonest first within each shard: a
    Query per shard of the sparse due index, never a Scan."""
    for shard in range(DUE_SHARDS):
        for item in _query_all(
            IndexName="due",
            KeyConditionExpression="due_shard = :shard AND due_at <= :horizon",
            ExpressionAttributeValues={
                ":shard": {"S": f"DUE#{shard}"},
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


# --- the outbox: events PutEvents refused -----------------------------------------


def _outbox_key(record: OutboxRecord) -> dict[str, AttributeValueTypeDef]:
    shard = _shard(record.event_id, OUTBOX_SHARDS)
    return _key(f"OUTBOX#{shard}", f"{record.recorded_at}#{record.event_id}")


def put_outbox(record: OutboxRecord) -> None:
    aws.dynamodb().put_item(
        TableName=_table(),
        Item={**_outbox_key(record), **_dump(record.model_dump(mode="json"))},
        ConditionExpression="attribute_not_exists(pk)",
    )


def outbox(shard: int) -> Iterator[OutboxRecord]:
    """The events recorded in one shard, oldest first: a Query, never a Scan."""
    for item in _query_all(
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"OUTBOX#{shard}"}},
    ):
        yield OutboxRecord.model_validate(_load(item))


def delete_outbox(record: OutboxRecord) -> None:
    aws.dynamodb().delete_item(TableName=_table(), Key=_outbox_key(record))


# --- OAuth state -----------------------------------------------------------------


def claim_state(state_hash: str, now_epoch: int, claimed_at: str) -> StateRecord:
    """Mark a pending state used, once: a replayed or concurrent claim fails."""
    try:
        response = aws.dynamodb().update_item(
            TableName=_table(),
            Key=_key(f"STATE#{state_hash}", "STATE"),
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
    except ClientError as exc:
        if not _conditional_failed(exc):
            raise
        old = _old_item(exc)
        if old is None:
            raise BadRequest("invalid_state", "Unknown OAuth state") from exc
        if "used_at" in old:
            raise Conflict(
                "state_already_used", "This authorization response was already processed"
            ) from exc
        raise Gone("state_expired", "The authorization attempt has expired; start again") from exc
    return StateRecord.model_validate(_load(response["Attributes"]))


# --- connect links -----------------------------------------------------------------


def _link_key(link_hash: str) -> dict[str, AttributeValueTypeDef]:
    return _key(f"LINK#{link_hash}", "LINK")


def put_link(link: LinkRecord) -> None:
    item = {"pk": f"LINK#{link.link_hash}", "sk": "LINK", "ttl": link.expires_at + 3600}
    aws.dynamodb().put_item(
        TableName=_table(),
        Item=_dump({**item, **link.model_dump(mode="json")}),
        ConditionExpression="attribute_not_exists(pk)",
    )


def get_link(link_hash: str) -> LinkRecord | None:
    """The link as stored, used or expired alike (the caller says which); None if unknown."""
    response = aws.dynamodb().get_item(
        TableName=_table(), Key=_link_key(link_hash), ConsistentRead=True
    )
    item = response.get("Item")
    return LinkRecord.model_validate(_load(item)) if item else None


def _link_use(link: LinkRecord, account: AccountRecord) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": _table(),
            "Key": _link_key(link.link_hash),
            "UpdateExpression": "SET used_at = :used, account_id = :account",
            "ConditionExpression": (
                "attribute_exists(pk) AND attribute_not_exists(used_at) AND expires_at > :now"
            ),
            "ExpressionAttributeValues": {
                ":used": {"S": account.created_at},
                ":account": {"S": account.id},
                ":now": {"N": str(int(time.time()))},
            },
        }
    }


def _link_unusable(link_id: str) -> Gone:
    return Gone(
        "connect_link_used",
        "The connect link was used or expired meanwhile",
        {"connect_link_id": link_id},
    )
