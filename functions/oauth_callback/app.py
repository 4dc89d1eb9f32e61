"""GET /v1/oauth/callback: the provider sends the user's browser back here (public)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from keyfob import api, connections, pages
from keyfob.errors import KeyfobError
from keyfob.observability import logger, metrics, traced

app = api.create_app()

_Param = Annotated[str | None, Query(max_length=4096)]


@app.get(
    "/v1/oauth/callback",
    summary="OAuth 2.0 redirect endpoint; register it with each provider",
    description="Public. Redirects to the account's redirect_url with connected_account_id "
    "and status, or shows a small page when there is none.",
    responses={302: {"description": "Back to the application"}},
)
def callback(
    state: _Param = None,
    code: _Param = None,
    error: _Param = None,
    iss: _Param = None,
) -> Response[Any]:
    query = {
        k: v
        for k, v in {"state": state, "code": code, "error": error, "iss": iss}.items()
        if v is not None
    }
    try:
        result = connections.complete_authorization(query)
    except KeyfobError as exc:
        logger.info("callback refused", extra={"error_code": exc.code})
        return pages.refusal(exc, app.current_event.headers.get("accept", ""))
    return pages.outcome(result.account, result.return_url, result.confirmation_code)


@metrics.log_metrics
@traced
@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True
)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(app, event, context)
