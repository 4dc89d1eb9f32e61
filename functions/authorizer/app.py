"""HTTP API Lambda authorizer (payload 2.0, simple responses): x-api-key -> tenant."""

from typing import Any

from keyfob.core.observability import logger
from keyfob.services import tenants
from keyfob.web.handler import handler


@handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    headers = event.get("headers") or {}
    tenant_id = tenants.tenant_for_api_key(headers.get("x-api-key", ""))
    if tenant_id is None:
        logger.info("api key refused")
        return {"isAuthorized": False}
    return {"isAuthorized": True, "context": {"tenant_id": tenant_id}}
