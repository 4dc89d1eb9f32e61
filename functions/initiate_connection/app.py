"""POST /v1/connected_accounts: start connecting an end user's account."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from keyfob import api, connections
from keyfob.models import ConnectionCreate, InitiatedAccount
from keyfob.observability import logger, metrics, traced

app = api.create_app()


@app.post(
    "/v1/connected_accounts",
    summary="Initiate a connection: an OAuth authorization URL, or an API key stored at once",
    description="An API key, bearer token or basic credential is first verified with the "
    "app where the catalog names a call for it: a rejected one gives 422 "
    "`credentials_rejected` and no account.",
    responses={201: {"description": "Created"}},
    security=api.API_KEY_SECURITY,
)
def initiate(
    request: ConnectionCreate,
    validate: Annotated[
        bool, Query(description="false: store the credential without asking the app")
    ] = True,
) -> Response[InitiatedAccount]:
    account = connections.initiate(
        api.tenant_id(app), request, api.callback_url(app), validate=validate
    )
    return Response(status_code=201, content_type="application/json", body=account)


@metrics.log_metrics
@traced
@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True
)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(app, event, context)
