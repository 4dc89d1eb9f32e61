"""GET /v1/apps, /v1/apps/{app}, /v1/apps/{app}/params: the catalog."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from keyfob import api, apps
from keyfob.catalog import AuthScheme
from keyfob.models import AppList, AppParams, AppView, Slug
from keyfob.observability import logger, traced

app = api.create_app()


@app.get("/v1/apps", summary="List the apps Keyfob can connect to", security=api.API_KEY_SECURITY)
def list_apps(
    auth_scheme: Annotated[AuthScheme | None, Query(description="Only apps offering it")] = None,
) -> AppList:
    return apps.list_all(auth_scheme)


@app.get("/v1/apps/<app>", summary="One app and its auth schemes", security=api.API_KEY_SECURITY)
def get_app(app: Annotated[Slug, Path()]) -> AppView:
    return apps.get(app)


@app.get(
    "/v1/apps/<app>/params",
    summary="The fields an integration and a connection need",
    security=api.API_KEY_SECURITY,
)
def get_params(
    app: Annotated[Slug, Path()],
    auth_scheme: Annotated[AuthScheme, Query()],
) -> AppParams:
    return apps.fields(app, auth_scheme)


@traced
@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True
)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(app, event, context)
