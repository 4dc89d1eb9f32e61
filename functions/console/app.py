"""GET /console and its files: the web console (public: it signs in with an API key it
keeps in the page's memory, and calls the API with it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from keyfob.web import console
from keyfob.web.resolver import create_app, entry

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

app = create_app()

_FILE: dict[int, OpenAPIResponse] = {
    200: {"description": "The file", "content": {"text/javascript": {}, "text/css": {}}}
}


@app.get(
    "/console",
    summary="The web console",
    description="Public: an HTML page whose script asks for an API key, keeps it in the "
    "page's memory only, and calls this API with it.",
    responses={200: {"description": "The page", "content": {"text/html": {}}}},
)
def page() -> Response[str]:
    return console.show()


@app.get(
    "/console/static/<name>",
    summary="The console's script and stylesheet",
    description="Public. 404 `asset_not_found` for any other name.",
    responses=_FILE,
)
def static(name: Annotated[str, Path(max_length=64)]) -> Response[str]:
    return console.asset(name)


lambda_handler = entry(app)
