"""A tenant and its API keys (what the authorizer reads)."""

from __future__ import annotations

from typing import Literal

from keyfob.models.records.base import Record


class TenantRecord(Record):
    id: str
    name: str
    api_key_prefix: str
    created_at: str


class ApiKeyRecord(Record):
    """An API key, found by the hash of the key (the authorizer's lookup) and listed
    under its tenant by id. A tenant key opens the whole API; an agent key only the MCP
    endpoint, for its entities (and apps and tools, when it names them)."""

    key_hash: str
    id: str = ""
    tenant_id: str
    kind: Literal["tenant", "agent"] = "tenant"
    name: str | None = None
    prefix: str = ""
    entity_ids: list[str] = []
    apps: list[str] | None = None
    operations: list[str] | None = None
    created_at: str
    expires_at: int | None = None  # epoch seconds; None: until deleted

    def expired(self, now_epoch: float) -> bool:
        return self.expires_at is not None and self.expires_at <= now_epoch
