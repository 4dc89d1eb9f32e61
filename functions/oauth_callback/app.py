"""GET /v1/oauth/callback: the provider sends the user's browser back here (public)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from keyfob.core.errors import KeyfobError
from keyfob.models.types import STATE_PATTERN
from keyfob.services.callback import client_metadata_document, complete
from keyfob.web import pages
from keyfob.web.resolver import create_app, entry, public_base

app = create_app(on_invalid=pages.callback_invalid)

_Param = Annotated[str | None, Query(max_length=4096)]


@app.get(
    "/v1/oauth/callback",
    summary="OAuth redirect endpoint (2.0, 1.0a, GitHub App setup URL); register it",
    description="Public. Redirects to the account's redirect_url with connected_account_id "
    "and status, or shows a small page when there is none.",
    responses={302: {"description": "Back to the application"}},
)
def callback(
    state: Annotated[str, Query(pattern=STATE_PATTERN, description="As Keyfob sent it")],
    code: _Param = None,
    error: _Param = None,
    iss: _Param = None,
    oauth_token: Annotated[str | None, Query(max_length=4096, description="OAuth 1.0a")] = None,
    oauth_verifier: Annotated[str | None, Query(max_length=4096, description="OAuth 1.0a")] = None,
    installation_id: Annotated[
        str | None, Query(max_length=32, description="A GitHub App's install redirect")
    ] = None,
    setup_action: Annotated[
        str | None, Query(max_length=32, description="A GitHub App's install redirect")
    ] = None,
) -> Response[Any]:
    query = {
        "state": state,
        "code": code,
        "error": error,
        "iss": iss,
        "oauth_token": oauth_token,
        "oauth_verifier": oauth_verifier,
        "installation_id": installation_id,
        "setup_action": setup_action,
    }
    try:
        outcome = complete({k: v for k, v in query.items() if v is not None})
    except KeyfobError as exc:
        return pages.callback_refusal(exc, app.current_event.headers.get("accept", ""))
    return pages.callback_outcome(outcome.account, outcome.location)


@app.get(
    "/v1/oauth/client-metadata.json",
    summary="Keyfob's OAuth Client ID Metadata Document",
    description="Public. Keyfob's client_id at the authorization servers of remote MCP "
    "servers that take client metadata documents (it is this document's own URL): a public "
    "client using PKCE, whose one redirect URI is the OAuth callback.",
)
def client_metadata() -> Response[dict[str, Any]]:
    document = client_metadata_document(public_base(app))
    return Response(
        status_code=200,
        content_type="application/json",
        body=document,
        headers={"Cache-Control": "public, max-age=3600"},
    )


lambda_handler = entry(app)
