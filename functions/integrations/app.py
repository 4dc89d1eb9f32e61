"""POST/GET /v1/integrations, GET/DELETE /v1/integrations/{id}."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from keyfob import api, integrations
from keyfob.models import IntegrationCreate, IntegrationPage, IntegrationView, ResourceId
from keyfob.observability import logger, traced

app = api.create_app()


@app.post(
    "/v1/integrations",
    summary="Create an integration: an app, an auth scheme and your credentials for it",
    responses={201: {"description": "Created"}},
    security=api.API_KEY_SECURITY,
)
def create_integration(request: IntegrationCreate) -> Response[IntegrationView]:
    created = integrations.create(api.tenant_id(app), request)
    return Response(status_code=201, content_type="application/json", body=created)


@app.get("/v1/integrations", summary="List integrations", security=api.API_KEY_SECURITY)
def list_integrations(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> IntegrationPage:
    return integrations.list_page(api.tenant_id(app), limit, cursor)


@app.get(
    "/v1/integrations/<integration_id>",
    summary="One integration (never its secret)",
    security=api.API_KEY_SECURITY,
)
def get_integration(integration_id: Annotated[ResourceId, Path()]) -> IntegrationView:
    return integrations.get(api.tenant_id(app), integration_id)


@app.delete(
    "/v1/integrations/<integration_id>",
    summary="Delete an integration that has no connected accounts",
    responses={204: {"description": "Deleted"}},
    security=api.API_KEY_SECURITY,
)
def delete_integration(integration_id: Annotated[ResourceId, Path()]) -> Response[None]:
    integrations.delete(api.tenant_id(app), integration_id)
    return Response(status_code=204)


@traced
@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True
)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(app, event, context)
