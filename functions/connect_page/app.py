"""GET and POST /v1/connect/{token}: the hosted connect page (public: the token is the key)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler import Response

from keyfob.services.connect_page import Visit
from keyfob.web import connect_page
from keyfob.web.resolver import callback_url, create_app, entry, public_base

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

app = create_app()

_PAGE: dict[int, OpenAPIResponse] = {200: {"description": "The page", "content": {"text/html": {}}}}


def _visit() -> Visit:
    event = app.current_event
    return Visit(
        base_url=public_base(app),
        callback_url=callback_url(app),
        cookies=list(event.cookies or []),
        fetch_site=event.headers.get("sec-fetch-site"),
    )


@app.get(
    "/v1/connect/<token>",
    summary="The hosted connect page a connect link opens",
    description="Public: the link's token is its key. An HTML form with the app's "
    "connection fields, or for OAuth 2.0 a button to the provider. 404, 410: the link is "
    "unknown, used or expired (an HTML page that says which).",
    responses=_PAGE,
)
def show(token: str) -> Response[str]:
    return connect_page.show(token, _visit())


@app.post(
    "/v1/connect/<token>",
    summary="Submit the hosted connect page's form",
    description="Public. An application/x-www-form-urlencoded form with the connection "
    "fields and the page's CSRF token (with its cookie). 303 to the link's redirect_url "
    "with connected_account_id and status, or to the OAuth provider; 422 and 502 show the "
    "form again with the problem; 403: the CSRF check failed.",
    responses={
        303: {"description": "On to the application or the provider", "content": {}},
        **_PAGE,
    },
)
def submit(token: str) -> Response[str]:
    event = app.current_event
    return connect_page.submit(
        token,
        _visit(),
        event.body,
        bool(event.is_base64_encoded),
        event.headers.get("content-type", ""),
    )


# Its body is a form, which the route reads itself.
lambda_handler = entry(app, json_body=False)
