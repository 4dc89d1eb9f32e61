"""Tenants, their API keys (found by hash), and the AWS accounts that act for them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from keyfob.core import aws
from keyfob.store import api_keys, table
from keyfob.store.errors import ItemNotFound, Taken
from keyfob.store.table import key, tenant_pk

if TYPE_CHECKING:
    from keyfob.models.records.tenants import ApiKeyRecord, TenantRecord


def put_tenant(tenant: TenantRecord, api_key: ApiKeyRecord) -> None:
    """The tenant and its first (full) API key, together."""
    writes: list[Any] = [
        table.put_new({"pk": tenant_pk(tenant.id), "sk": "TENANT", **tenant.model_dump()}),
        *api_keys.puts(api_key),
    ]
    table.transact(writes)


def _aws_account_key(aws_account_id: str) -> table.Key:
    return key(f"AWSACCOUNT#{aws_account_id}", "AWSACCOUNT")


def allow_aws_account(tenant_id: str, aws_account_id: str, created_at: str) -> bool:
    """Let an AWS account act for a tenant; False if it already does. An account acts
    for one tenant at most: the mapping is written only where none exists, in the same
    transaction as the tenant's own list of its accounts and a check that it exists.
    Raises ItemNotFound (no such tenant) or Taken (another tenant's)."""
    mapping = {"tenant_id": tenant_id, "aws_account_id": aws_account_id, "created_at": created_at}
    writes: list[Any] = [
        {
            "ConditionCheck": {
                "TableName": table.name(),
                "Key": key(tenant_pk(tenant_id), "TENANT"),
                "ConditionExpression": "attribute_exists(pk)",
            }
        },
        table.put_new({"pk": f"AWSACCOUNT#{aws_account_id}", "sk": "AWSACCOUNT", **mapping}),
        {
            "Put": {
                "TableName": table.name(),
                "Item": table.dump(
                    {"pk": tenant_pk(tenant_id), "sk": f"AWSACCOUNT#{aws_account_id}", **mapping}
                ),
            }
        },
    ]
    try:
        table.transact(writes)
    except aws.ClientError as exc:
        if table.cancelled(exc)[0] == "ConditionalCheckFailed":
            raise ItemNotFound("tenant", tenant_id) from exc
        if tenant_for_aws_account(aws_account_id) == tenant_id:
            return False
        raise Taken(aws_account_id) from exc
    return True


def revoke_aws_account(tenant_id: str, aws_account_id: str) -> bool:
    """Stop an AWS account acting for a tenant: only that tenant's own mapping goes.
    False: it did not act for this tenant."""
    writes: list[Any] = [
        {
            "Delete": {
                "TableName": table.name(),
                "Key": _aws_account_key(aws_account_id),
                "ConditionExpression": "tenant_id = :tenant",
                "ExpressionAttributeValues": {":tenant": {"S": tenant_id}},
            }
        },
        {
            "Delete": {
                "TableName": table.name(),
                "Key": key(tenant_pk(tenant_id), f"AWSACCOUNT#{aws_account_id}"),
            }
        },
    ]
    try:
        table.transact(writes)
    except aws.ClientError as exc:
        if table.cancelled(exc)[0] == "ConditionalCheckFailed":
            return False
        raise
    return True


def tenant_for_aws_account(aws_account_id: str) -> str | None:
    # Strongly consistent: a revoked account must not act a moment longer.
    response = table.client().get_item(
        TableName=table.name(), Key=_aws_account_key(aws_account_id), ConsistentRead=True
    )
    item = response.get("Item")
    return item["tenant_id"]["S"] if item else None


def aws_accounts(tenant_id: str) -> list[str]:
    """The AWS accounts that act for a tenant (an admin listing, a Query)."""
    items = table.query_all(
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={
            ":pk": {"S": tenant_pk(tenant_id)},
            ":prefix": {"S": "AWSACCOUNT#"},
        },
    )
    return [item["aws_account_id"]["S"] for item in items]
