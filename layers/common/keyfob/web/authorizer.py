"""The HTTP API's Lambda authorizer (payload 2.0, simple responses): the caller's key,
from ``x-api-key`` or ``Authorization: Bearer``, to the tenant and what the key may do.

Two authorizers of the template run it. The REST API's caches its answer per
``x-api-key`` for 300 s and admits full keys alone. The MCP endpoint's caches nothing
(it has no identity source, so API Gateway invokes it on every request) and admits agent
keys too: an agent key is never cached as good for a REST route, and a deleted or
expired key stops at the MCP endpoint at once."""

from __future__ import annotations

import json
from typing import Any

from keyfob.core.observability import logger
from keyfob.services import api_keys

MCP_ROUTE = "POST /v1/mcp"


def presented_key(headers: dict[str, str]) -> str:
    """x-api-key, else an Authorization: Bearer credential (API Gateway lower-cases names)."""
    if key := headers.get("x-api-key"):
        return key
    scheme, _, credential = headers.get("authorization", "").partition(" ")
    return credential.strip() if scheme.lower() == "bearer" else ""


def decide(event: dict[str, Any]) -> dict[str, Any]:
    headers = event.get("headers") or {}
    caller = api_keys.authorize(presented_key(headers), agents=event.get("routeKey") == MCP_ROUTE)
    if caller is None:
        logger.info("api key refused")
        return {"isAuthorized": False}
    context: dict[str, str] = {
        "tenant_id": caller.tenant_id,
        "key_id": caller.key_id,
        "key_kind": caller.kind,
    }
    if caller.kind == "agent":
        context["entity_ids"] = json.dumps(list(caller.entity_ids))
        context["apps"] = json.dumps(list(caller.apps) if caller.apps is not None else None)
        context["operations"] = json.dumps(
            list(caller.operations) if caller.operations is not None else None
        )
    return {"isAuthorized": True, "context": context}


def caller_of(context: dict[str, Any]) -> api_keys.Caller:
    """The caller the authorizer's context names (what ``decide`` put there)."""

    def listed(name: str) -> tuple[str, ...] | None:
        value = json.loads(context.get(name) or "null")
        return tuple(value) if value is not None else None

    return api_keys.Caller(
        tenant_id=context["tenant_id"],
        key_id=context.get("key_id", ""),
        kind=context.get("key_kind", "tenant"),
        entity_ids=listed("entity_ids") or (),
        apps=listed("apps"),
        operations=listed("operations"),
    )
