"""POST /v1/connected_accounts/{id}/proxy: a request to the app's API as the entity."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from keyfob.models.proxy import ProxyRequest, ProxyResponse
from keyfob.models.types import ResourceId
from keyfob.services import proxy
from keyfob.web.resolver import API_KEY_SECURITY, create_app, entry, tenant_id

app = create_app()


@app.post(
    "/v1/connected_accounts/<account_id>/proxy",
    summary="Send a request to the app's API on the entity's behalf",
    description="Keyfob applies the account's credential the way the app takes it and "
    "answers 200 with the upstream's status, headers and body, whatever that status. Only "
    "the app's API base URL is reachable; redirects are relayed, not followed. An OAuth "
    "account the app answers 401 is refreshed once and the request retried once. Errors "
    "of Keyfob's own: 409 the account is not ACTIVE; 422 `invalid_proxy_request` (path, "
    "headers); 403 `destination_not_allowed` (the host is not a public address); 502 "
    "`upstream_unreachable`, `upstream_failed`, `upstream_response_too_large` (over 5 MiB); "
    "504 `upstream_timeout` (20 s). Request bodies up to 5 MiB.",
    security=API_KEY_SECURITY,
)
def proxy_request(
    account_id: Annotated[ResourceId, Path()], request: ProxyRequest
) -> ProxyResponse:
    return proxy.send(tenant_id(app), account_id, request)


lambda_handler = entry(app, max_body=proxy.MAX_REQUEST_BYTES)
