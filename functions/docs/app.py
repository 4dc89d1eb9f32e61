"""GET /v1/openapi.json, /v1/docs and Swagger UI's assets: the API's documentation, public."""

from typing import Any

from aws_lambda_powertools.event_handler import Response

from keyfob.web import docs
from keyfob.web.resolver import create_app, entry

app = create_app()


@app.get("/v1/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    return docs.document(__file__)


@app.get("/v1/docs", include_in_schema=False)
def swagger_ui() -> Response[str]:
    return docs.swagger_page()


@app.get("/v1/docs/<asset>", include_in_schema=False)
def swagger_asset(asset: str) -> Response[Any]:
    return docs.asset(asset)


lambda_handler = entry(app)
