"""GET /v1/connected_accounts, /v1/connected_accounts/{id} and its recent events: no secrets."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from keyfob.models.account_view import AccountView
from keyfob.models.accounts import AccountEvents, AccountPage
from keyfob.models.types import ACCOUNT_CURSOR_PATTERN, EntityId, ResourceId, Slug, Status
from keyfob.services import accounts
from keyfob.web.resolver import API_KEY_SECURITY, create_app, entry, tenant_id

app = create_app()


@app.get(
    "/v1/connected_accounts",
    summary="List connected accounts, newest first (never any secret)",
    description="Filtering by entity_id is an index lookup; the app, integration_id and "
    "status filters are applied as the index is read. A page holds `limit` items unless "
    "it is the last; follow `next_cursor` until it is null.",
    security=API_KEY_SECURITY,
)
def list_accounts(
    entity_id: Annotated[EntityId | None, Query()] = None,
    app_slug: Annotated[Slug | None, Query(alias="app")] = None,
    integration_id: Annotated[ResourceId | None, Query()] = None,
    status: Annotated[Status | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None, Query(pattern=ACCOUNT_CURSOR_PATTERN, description="A page's next_cursor")
    ] = None,
) -> AccountPage:
    return accounts.list_page(
        tenant_id(app),
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
    security=API_KEY_SECURITY,
)
def get_account(account_id: Annotated[ResourceId, Path()]) -> AccountView:
    return accounts.get(tenant_id(app), account_id)


@app.get(
    "/v1/connected_accounts/<account_id>/events",
    summary="A connected account's recent events, newest first (from its record)",
    description="Its last status change (with status_reason), its last refresh and its "
    "creation, as the account's record holds them: one keyed read. Every event as it "
    "happens is published on the event bus.",
    security=API_KEY_SECURITY,
)
def account_events(account_id: Annotated[ResourceId, Path()]) -> AccountEvents:
    return accounts.recent_events(tenant_id(app), account_id)


lambda_handler = entry(app)
