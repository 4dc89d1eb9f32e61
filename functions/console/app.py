"""GET /console and its files: the web console (public: it signs in with an API key it
keeps in the page's memory, and calls the API with it)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from keyfob.web import console
from keyfob.web.resolver import create_app, entry

app = create_app()


# Pages, not the API: left out of its document, as the documentation's own routes are.
@app.get("/console", include_in_schema=False)
def page() -> Response[str]:
    return console.show()


@app.get("/console/static/<name>", include_in_schema=False)
def static(name: Annotated[str, Path(max_length=64)]) -> Response[str]:
    return console.asset(name)


lambda_handler = entry(app)
