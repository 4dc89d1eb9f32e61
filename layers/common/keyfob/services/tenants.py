"""Tenants, their API keys, and the AWS accounts that act for them. Keys are shown once
and stored only as a SHA-256 hash.

A key carries 256 random bits, so a fast hash is enough: there is nothing to
brute-force, and the authorizer can look the hash up directly (no comparison of
secrets in our code, nothing to time).
"""

from __future__ import annotations

import re

from keyfob.core.errors import Conflict, Invalid, NotFound
from keyfob.core.ids import iso, new_id, now
from keyfob.models.api_keys import ApiKeyCreate
from keyfob.models.records.tenants import TenantRecord
from keyfob.models.types import ID_PATTERN
from keyfob.services import api_keys
from keyfob.services.store_errors import translated
from keyfob.store import tenants
from keyfob.store.errors import Taken


def create_tenant(name: str, api_key: str | None = None) -> tuple[TenantRecord, str]:
    """Create a tenant; returns it with its API key, which is not stored anywhere."""
    key = api_key or api_keys.new_key()
    if len(key) < 20:
        raise ValueError("an API key must be at least 20 characters")
    created = iso(now())
    tenant = TenantRecord(id=new_id("tn"), name=name, api_key_prefix=key[:7], created_at=created)
    first = ApiKeyCreate(kind="tenant", name="created with the tenant")
    tenants.put_tenant(tenant, api_keys.record_for(tenant.id, key, first, created))
    return tenant, key


def tenant_for_api_key(api_key: str) -> str | None:
    """The tenant a full key opens (agent keys open only the MCP endpoint)."""
    caller = api_keys.authorize(api_key, agents=False)
    return caller.tenant_id if caller else None


def _checked(tenant_id: str, aws_account_id: str) -> None:
    if not re.fullmatch(ID_PATTERN, tenant_id) or not tenant_id.startswith("tn_"):
        raise Invalid("invalid_tenant_id", f"{tenant_id!r} is not a tenant id (tn_...)")
    if not re.fullmatch(r"\d{12}", aws_account_id):
        raise Invalid(
            "invalid_aws_account_id", f"{aws_account_id!r} is not an AWS account id (12 digits)"
        )


def allow_aws_account(tenant_id: str, aws_account_id: str) -> bool:
    """Let an AWS account put commands for a tenant (one tenant per account); False if
    it already does."""
    _checked(tenant_id, aws_account_id)
    try:
        with translated():
            return tenants.allow_aws_account(tenant_id, aws_account_id, iso(now()))
    except Taken as taken:
        raise Conflict(
            "aws_account_taken",
            f"AWS account {aws_account_id} already acts for another tenant; revoke it there first",
            {"aws_account_id": aws_account_id},
        ) from taken


def revoke_aws_account(tenant_id: str, aws_account_id: str) -> None:
    _checked(tenant_id, aws_account_id)
    if not tenants.revoke_aws_account(tenant_id, aws_account_id):
        raise NotFound(
            "aws_account_not_allowed",
            f"AWS account {aws_account_id} does not act for tenant {tenant_id!r}",
            {"aws_account_id": aws_account_id, "tenant_id": tenant_id},
        )


def tenant_for_aws_account(aws_account_id: str) -> str | None:
    return tenants.tenant_for_aws_account(aws_account_id)


def aws_accounts(tenant_id: str) -> list[str]:
    return tenants.aws_accounts(tenant_id)
