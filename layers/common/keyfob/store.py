"""All DynamoDB access. Every request-path access is a key lookup or a Query.

Layout (one table, see template.yaml):
    TENANT#<t>      TENANT               the tenant
    APIKEY#<sha256> APIKEY               API key hash -> tenant (authorizer lookup)
    TENANT#<t>      INTEGRATION#<id>     an integration
    TENANT#<t>      ACCOUNT#<id>         a connected account, also on
        gsi1 (TENANT#<t>#ACCOUNTS, <created>#<id>) and gsi2 (TENANT#<t>#ENTITY#<e>, same)
    STATE#<sha256>  STATE                a pending OAuth authorization, single use

Every key begins with the tenant, so a lookup under one tenant can never reach
another tenant's record. Cursors carry only a sort-key position, re-validated and
re-anchored to the caller's tenant before use.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from keyfob import aws
from keyfob.config import settings
from keyfob.errors import BadRequest, Conflict, Gone, NotFound
from keyfob.models import (
    AccountRecord,
    IntegrationRecord,
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


def _account_item(record: AccountRecord) -> dict[str, Any]:
    position = f"{record.created_at}#{record.id}"
    return {
        "pk": _tenant_pk(record.tenant_id),
        "sk": f"ACCOUNT#{record.id}",
        "gsi1pk": f"{_tenant_pk(record.tenant_id)}#ACCOUNTS",
        "gsi1sk": position,
        "gsi2pk": f"{_tenant_pk(record.tenant_id)}#ENTITY#{record.entity_id}",
        "gsi2sk": position,
        **record.model_dump(mode="json"),
    }


def create_account(account: AccountRecord, state: StateRecord | None = None) -> None:
    """Write a new account (and its pending OAuth state) in one transaction.

    The same transaction counts the account on its integration, on the condition
    that the integration still exists: a concurrent delete cannot orphan it.
    """
    writes: list[Any] = [
        {
            "Put": {
                "TableName": _table(),
                "Item": _dump(_account_item(account)),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
        {
            "Update": {
                "TableName": _table(),
                "Key": _key(_tenant_pk(account.tenant_id), f"INTEGRATION#{account.integration_id}"),
                "UpdateExpression": "ADD account_count :one",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        },
    ]
    if state is not None:
        writes.append(
            {
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
        )
    try:
        aws.dynamodb().transact_write_items(TransactItems=writes)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
        if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
            raise _integration_not_found(account.integration_id) from exc
        raise


def get_account(tenant_id: str, account_id: str) -> AccountRecord:
    response = aws.dynamodb().get_item(
        TableName=_table(), Key=_key(_tenant_pk(tenant_id), f"ACCOUNT#{account_id}")
    )
    if "Item" not in response:
        raise NotFound(
            "connected_account_not_found",
            f"No connected account {account_id!r}",
            {"connected_account_id": account_id},
        )
    return AccountRecord.model_validate(_load(response["Item"]))


def query_accounts(
    tenant_id: str,
    *,
    entity_id: str | None,
    filters: Mapping[str, str],
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
            **_key(_tenant_pk(tenant_id), f"ACCOUNT#{account_id}"),
            pk_name: {"S": partition},
            sk_name: {"S": position},
        }
    values: dict[str, AttributeValueTypeDef] = {":p": {"S": partition}}
    names: dict[str, str] = {}
    conditions = []
    for i, (attribute, value) in enumerate(sorted(filters.items())):
        names[f"#f{i}"] = attribute
        values[f":f{i}"] = {"S": value}
        conditions.append(f"#f{i} = :f{i}")
    if conditions:
        kwargs["FilterExpression"] = " AND ".join(conditions)
        kwargs["ExpressionAttributeNames"] = names
    response = aws.dynamodb().query(
        TableName=_table(),
        IndexName=index,
        KeyConditionExpression=f"{pk_name} = :p",
        ExpressionAttributeValues=values,
        ScanIndexForward=False,
        Limit=limit,
        **kwargs,
    )
    records = [AccountRecord.model_validate(_load(i)) for i in response.get("Items", [])]
    last = response.get("LastEvaluatedKey")
    return records, _encode_cursor(last[sk_name]["S"]) if last else None


def finish_authorization(
    tenant_id: str,
    account_id: str,
    *,
    status: Status,
    updated_at: str,
    status_reason: str | None = None,
    secret: dict[str, Any] | None = None,
    token_expires_at: str | None = None,
) -> AccountRecord:
    """Move an INITIATED account to its outcome; only ever from INITIATED."""
    sets = {"#status": status.value, "updated_at": updated_at}
    if status_reason is not None:
        sets["status_reason"] = status_reason
    if secret is not None:
        sets["secret"] = secret  # type: ignore[assignment]
    if token_expires_at is not None:
        sets["token_expires_at"] = token_expires_at
    names = {"#status": "status"}
    values = {f":v{i}": _serializer.serialize(v) for i, v in enumerate(sets.values())}
    values[":initiated"] = {"S": Status.INITIATED.value}
    expression = "SET " + ", ".join(f"{k} = :v{i}" for i, k in enumerate(sets))
    if status_reason is None:
        expression += " REMOVE status_reason"
    try:
        response = aws.dynamodb().update_item(
            TableName=_table(),
            Key=_key(_tenant_pk(tenant_id), f"ACCOUNT#{account_id}"),
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(pk) AND #status = :initiated",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
    except ClientError as exc:
        if not _conditional_failed(exc):
            raise
        raise Conflict(
            "account_not_pending",
            "The connected account is no longer waiting for authorization",
            {"connected_account_id": account_id},
        ) from exc
    return AccountRecord.model_validate(_load(response["Attributes"]))


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
                ":now": {"N": str(now_epoch)},
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
