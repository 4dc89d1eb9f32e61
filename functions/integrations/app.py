"""POST/GET /v1/integrations, GET/DELETE /v1/integrations/{id}."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from keyfob.models.integrations import IntegrationCreate, IntegrationPage, IntegrationView
from keyfob.models.types import INTEGRATION_CURSOR_PATTERN, ResourceId
from keyfob.services import integrations
from keyfob.web.resolver import API_KEY_SECURITY, create_app, entry, tenant_id

app = create_app()


@app.post(
    "/v1/integrations",
    summary="Create an integration: an app, an auth scheme and your credentials for it",
    responses={201: {"description": "Created"}},
    security=API_KEY_SECURITY,
)
def create_integration(request: IntegrationCreate) -> Response[IntegrationView]:
    created = integrations.create(tenant_id(app), request)
    return Response(status_code=201, content_type="application/json", body=created)


@app.get("/v1/integrations", summary="List integrations", security=API_KEY_SECURITY)
def list_integrations(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None, Query(pattern=INTEGRATION_CURSOR_PATTERN, description="A page's next_cursor")
    ] = None,
) -> IntegrationPage:
    return integrations.list_page(tenant_id(app), limit, cursor)


@app.get(
    "/v1/integrations/<integration_id>",
    summary="One integration (never its secret)",
    security=API_KEY_SECURITY,
)
def get_integration(integration_id: Annotated[ResourceId, Path()]) -> IntegrationView:
    return integrations.get(tenant_id(app), integration_id)


@app.delete(
    "/v1/integrations/<integration_id>",
    summary="Delete an integration that has no connected accounts",
    responses={204: {"description": "Deleted"}},
    security=API_KEY_SECURITY,
)
def delete_integration(integration_id: Annotated[ResourceId, Path()]) -> Response[None]:
    integrations.delete(tenant_id(app), integration_id)
    return Response(status_code=204)


lambda_handler = entry(app)
