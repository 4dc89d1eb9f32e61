"""GET /v1/connected_accounts and /v1/connected_accounts/{id}: no secrets."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from keyfob import api, connections
from keyfob.models import (
    AccountPage,
    AccountView,
    EntityId,
    ResourceId,
    Slug,
    Status,
)
from keyfob.observability import logger, traced

app = api.create_app()


@app.get(
    "/v1/connected_accounts",
    summary="List connected accounts, newest first (never any secret)",
    description="Filtering by entity_id is an index lookup. The app, integration_id and "
    "status filters narrow each page, so a page may hold fewer than `limit` items while "
    "`next_cursor` is set: follow it until it is null.",
    security=api.API_KEY_SECURITY,
)
def list_accounts(
    entity_id: Annotated[EntityId | None, Query()] = None,
    app_slug: Annotated[Slug | None, Query(alias="app")] = None,
    integration_id: Annotated[ResourceId | None, Query()] = None,
    status: Annotated[Status | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> AccountPage:
    return connections.list_page(
        api.tenant_id(app),
        entity_id=entity_id,
        app=app_slug,
        integration_id=integration_id,
        status=status,
        limit=limit,
        cursor=cursor,
    )


@app.get(
    "/v1/connected_accounts/<account_id>",
    summary="One connected account (no secrets)",
    security=api.API_KEY_SECURITY,
)
def get_account(account_id: Annotated[ResourceId, Path()]) -> AccountView:
    return connections.get(api.tenant_id(app), account_id)


@traced
@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True
)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(app, event, context)
