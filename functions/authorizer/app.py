"""HTTP API Lambda authorizer (payload 2.0, simple responses): x-api-key -> tenant."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from keyfob import tenants
from keyfob.observability import logger, traced


@traced
@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True
)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    headers = event.get("headers") or {}
    tenant_id = tenants.tenant_for_api_key(headers.get("x-api-key", ""))
    if tenant_id is None:
        logger.info("api key refused")
        return {"isAuthorized": False}
    return {"isAuthorized": True, "context": {"tenant_id": tenant_id}}
