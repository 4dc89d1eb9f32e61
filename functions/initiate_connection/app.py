"""POST /v1/connected_accounts: start connecting an end user's account."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from keyfob.models.connections import ConnectionCreate, InitiatedAccount
from keyfob.services import connections
from keyfob.web.resolver import API_KEY_SECURITY, callback_url, create_app, entry, tenant_id

app = create_app()


@app.post(
    "/v1/connected_accounts",
    summary="Initiate a connection: an OAuth authorization URL, or an API key stored at once",
    description="An API key, bearer token or basic credential is first verified with the "
    "app where the catalog names a call for it: a rejected one gives 422 "
    "`credentials_rejected` and no account.",
    responses={201: {"description": "Created"}},
    security=API_KEY_SECURITY,
)
def initiate(
    request: ConnectionCreate,
    validate: Annotated[
        bool, Query(description="false: store the credential without asking the app")
    ] = True,
) -> Response[InitiatedAccount]:
    account = connections.initiate(tenant_id(app), request, callback_url(app), validate=validate)
    return Response(status_code=201, content_type="application/json", body=account)


lambda_handler = entry(app)
