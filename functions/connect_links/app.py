"""POST /v1/connect_links: a single-use link to the hosted connect page."""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from keyfob import api, connect_links
from keyfob.models import ConnectLink, ConnectLinkCreate
from keyfob.observability import logger, traced

app = api.create_app()


@app.post(
    "/v1/connect_links",
    summary="A link to Keyfob's hosted connect page, for an end user to connect there",
    description="Send the end user to `url`: the page asks for exactly the app's "
    "connection fields (or, for OAuth 2.0, sends them to the provider), makes the "
    "connection and sends the browser to `redirect_url` with connected_account_id and "
    "status. The link works once, for 10 minutes.",
    responses={201: {"description": "Created"}},
    security=api.API_KEY_SECURITY,
)
def create_link(request: ConnectLinkCreate) -> Response[ConnectLink]:
    link = connect_links.create(api.tenant_id(app), request, api.public_base(app))
    logger.info("connect link created", extra={"connect_link_id": link.id})
    return Response(status_code=201, content_type="application/json", body=link)


@traced
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(app, event, context)
