"""GET /v1/apps, /v1/apps/{app}, /v1/apps/{app}/params: the catalog."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from keyfob.catalog.names import AuthScheme
from keyfob.models.apps import AppList, AppParams, AppView
from keyfob.models.types import Slug
from keyfob.services import apps
from keyfob.web.resolver import API_KEY_SECURITY, create_app, entry

app = create_app()


@app.get("/v1/apps", summary="List the apps Keyfob can connect to", security=API_KEY_SECURITY)
def list_apps(
    auth_scheme: Annotated[AuthScheme | None, Query(description="Only apps offering it")] = None,
) -> AppList:
    return apps.list_all(auth_scheme)


@app.get("/v1/apps/<app>", summary="One app and its auth schemes", security=API_KEY_SECURITY)
def get_app(app: Annotated[Slug, Path()]) -> AppView:
    return apps.get(app)


@app.get(
    "/v1/apps/<app>/params",
    summary="The fields an integration and a connection need",
    security=API_KEY_SECURITY,
)
def get_params(
    app: Annotated[Slug, Path()],
    auth_scheme: Annotated[AuthScheme, Query()],
) -> AppParams:
    return apps.fields(app, auth_scheme)


lambda_handler = entry(app)
