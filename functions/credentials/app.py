"""GET /v1/connected_accounts/{id}/credentials and POST .../refresh: the tokens to act
with, refreshed first when they are about to expire."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from keyfob.models.account_view import AccountView
from keyfob.models.accounts import Credentials
from keyfob.models.types import ResourceId
from keyfob.services import credentials
from keyfob.web.resolver import API_KEY_SECURITY, create_app, entry, tenant_id

app = create_app()


@app.get(
    "/v1/connected_accounts/<account_id>/credentials",
    summary="The decrypted credentials of an ACTIVE account, to act with",
    description="An OAuth access token is refreshed first when it expires within the app's "
    "refresh buffer (5 minutes unless the catalog or integration says otherwise). Any "
    "number of simultaneous calls make one refresh. 503 `refresh_in_progress`: another "
    "refresh is under way, retry; 503 `refresh_failed`: the token has expired and the "
    "provider failed to refresh it for now (the account stays ACTIVE and is retried).",
    security=API_KEY_SECURITY,
)
def get_credentials(account_id: Annotated[ResourceId, Path()]) -> Credentials:
    return credentials.credentials(tenant_id(app), account_id)


@app.post(
    "/v1/connected_accounts/<account_id>/refresh",
    summary="Refresh an OAuth account's token now",
    description="Concurrent refreshes of one account make one call to the provider. 502 "
    "`refresh_failed`: the provider failed for now, the account stays ACTIVE; 409: the "
    "account is not ACTIVE (an `invalid_grant` makes it EXPIRED).",
    security=API_KEY_SECURITY,
)
def refresh(account_id: Annotated[ResourceId, Path()]) -> AccountView:
    return credentials.force_refresh(tenant_id(app), account_id)


lambda_handler = entry(app)
