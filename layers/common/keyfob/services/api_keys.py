"""API keys: a tenant's full keys and its agent keys. Each key carries 256 random bits
and is shown once; Keyfob stores its SHA-256 hash, which the authorizer looks up.

A full (tenant) key opens the whole API. An agent key opens the MCP endpoint alone, for
the entities it names (and the apps and tools, when it names them), until it expires.
A deleted key is refused by the MCP endpoint's authorizer at once (it caches nothing) and
by the REST API's within its cache time (300 s)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from keyfob.core.errors import Conflict, NotFound
from keyfob.core.ids import iso, iso_epoch, lookup_hash, new_id, now
from keyfob.core.observability import logger
from keyfob.models.api_keys import (
    DEFAULT_AGENT_LIFETIME_SECONDS,
    ApiKeyCreate,
    ApiKeyPage,
    ApiKeyView,
    CreatedApiKey,
)
from keyfob.models.records.tenants import ApiKeyRecord
from keyfob.store import api_keys

KEY_PREFIX = "kf_"
AGENT_KEY_PREFIX = "kfa_"
_MAX_PRESENTED = 256


@dataclass(frozen=True)
class Caller:
    """Who a request comes from, as the authorizer established it."""

    tenant_id: str
    key_id: str
    kind: str
    entity_ids: tuple[str, ...] = ()
    apps: tuple[str, ...] | None = None
    operations: tuple[str, ...] | None = None


def new_key(prefix: str = KEY_PREFIX) -> str:
    return prefix + secrets.token_urlsafe(32)


def record_for(tenant_id: str, key: str, request: ApiKeyCreate, created_at: str) -> ApiKeyRecord:
    lifetime = request.expires_in_seconds
    if lifetime is None and request.kind == "agent":
        lifetime = DEFAULT_AGENT_LIFETIME_SECONDS
    return ApiKeyRecord(
        key_hash=lookup_hash(key),
        id=new_id("key"),
        tenant_id=tenant_id,
        kind=request.kind,
        name=request.name,
        prefix=key[: len(AGENT_KEY_PREFIX) + 4],
        entity_ids=list(dict.fromkeys(request.entity_ids)),
        apps=sorted(set(request.apps)) if request.apps is not None else None,
        operations=sorted(set(request.operations)) if request.operations is not None else None,
        created_at=created_at,
        expires_at=int(time.time()) + lifetime if lifetime else None,
    )


def view(record: ApiKeyRecord) -> ApiKeyView:
    return ApiKeyView(
        id=record.id,
        kind=record.kind,
        name=record.name,
        prefix=record.prefix,
        entity_ids=record.entity_ids,
        apps=record.apps,
        operations=record.operations,
        created_at=record.created_at,
        expires_at=iso_epoch(record.expires_at) if record.expires_at else None,
    )


def create(tenant_id: str, request: ApiKeyCreate) -> CreatedApiKey:
    key = new_key(AGENT_KEY_PREFIX if request.kind == "agent" else KEY_PREFIX)
    record = record_for(tenant_id, key, request, iso(now()))
    api_keys.create(record)
    logger.info("api key created", extra={"api_key_id": record.id, "kind": record.kind})
    return CreatedApiKey(**view(record).model_dump(), api_key=key)


def list_all(tenant_id: str) -> ApiKeyPage:
    found = sorted(api_keys.listed(tenant_id), key=lambda r: (r.created_at, r.id))
    return ApiKeyPage(items=[view(r) for r in found])


def delete(tenant_id: str, key_id: str, caller_key_id: str) -> None:
    if key_id == caller_key_id:
        # The tenant keeps at least the key it deletes with.
        raise Conflict(
            "api_key_in_use",
            "A key cannot delete itself: delete it with another full key",
            {"api_key_id": key_id},
        )
    if not api_keys.delete(tenant_id, key_id):
        raise NotFound("api_key_not_found", f"No API key {key_id!r}", {"api_key_id": key_id})
    logger.info("api key deleted", extra={"api_key_id": key_id})


def authorize(presented: str, *, agents: bool) -> Caller | None:
    """The caller a presented key makes, or None: unknown, expired, or an agent key
    where only full keys may come (``agents`` false)."""
    if not presented or len(presented) > _MAX_PRESENTED:
        return None
    record = api_keys.by_hash(lookup_hash(presented))
    if record is None or record.expired(time.time()):
        return None
    if record.kind == "agent" and not agents:
        return None
    return Caller(
        tenant_id=record.tenant_id,
        key_id=record.id,
        kind=record.kind,
        entity_ids=tuple(record.entity_ids),
        apps=tuple(record.apps) if record.apps is not None else None,
        operations=tuple(record.operations) if record.operations is not None else None,
    )
