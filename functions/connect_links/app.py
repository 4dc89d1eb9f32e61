"""POST /v1/connect_links: a single-use link to the hosted connect page."""

from aws_lambda_powertools.event_handler import Response

from keyfob.models.links import ConnectLink, ConnectLinkCreate
from keyfob.services import connect_links
from keyfob.web.resolver import API_KEY_SECURITY, create_app, entry, public_base, tenant_id

app = create_app()


@app.post(
    "/v1/connect_links",
    summary="A link to Keyfob's hosted connect page, for an end user to connect there",
    description="Send the end user to `url`: the page asks for exactly the app's "
    "connection fields (or, for OAuth 2.0, sends them to the provider), makes the "
    "connection and sends the browser to `redirect_url` with connected_account_id and "
    "status. The link works once, for 10 minutes.",
    responses={201: {"description": "Created"}},
    security=API_KEY_SECURITY,
)
def create_link(request: ConnectLinkCreate) -> Response[ConnectLink]:
    link = connect_links.create(tenant_id(app), request, public_base(app))
    return Response(status_code=201, content_type="application/json", body=link)


lambda_handler = entry(app)
