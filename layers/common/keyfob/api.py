"""The HTTP plumbing every API function shares: resolver, errors, tenant, limits.

Errors are JSON ``{"error": {"code", "message", "details"}}``. Validation details
name the offending location but never echo the submitted value: it may be a secret.
"""

from __future__ import annotations

import base64
import binascii
import json
import traceback
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.typing import LambdaContext

from keyfob.config import settings
from keyfob.errors import (
    BadRequest,
    KeyfobError,
    PayloadTooLarge,
    UnsupportedMediaType,
    validation_problems,
)
from keyfob.observability import logger

MAX_BODY_BYTES = 32 * 1024
API_KEY_SECURITY: list[dict[str, list[str]]] = [{"apiKey": []}]


def error_response(
    status: int, code: str, message: str, details: Any = None, retry_after: int | None = None
) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"error": {"code": code, "message": message, "details": details}},
        headers={"Retry-After": str(retry_after)} if retry_after is not None else None,
    )


def _validation_response(exc: RequestValidationError) -> Response[Any]:
    problems = validation_problems(exc.errors())
    where = ", ".join(p["location"] for p in problems)
    return error_response(422, "validation_error", f"Invalid request: {where}", problems)


def create_app() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)

    @app.exception_handler(KeyfobError)  # type: ignore[untyped-decorator]
    def _keyfob_error(exc: KeyfobError) -> Response[Any]:
        logger.info("request refused", extra={"error_code": exc.code, "status": exc.status})
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.retry_after)

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def _invalid(exc: RequestValidationError) -> Response[Any]:
        return _validation_response(exc)

    @app.not_found
    def _no_route(exc: Exception) -> Response[Any]:
        return error_response(404, "route_not_found", "No such route")

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def _unexpected(exc: Exception) -> Response[Any]:
        # Frames only: an exception's message can quote request data.
        logger.error(
            "unhandled error",
            extra={
                "error_type": type(exc).__name__,
                "frames": traceback.format_tb(exc.__traceback__),
            },
        )
        return error_response(500, "internal_error", "Internal error; it has been logged")

    return app


def tenant_id(app: APIGatewayHttpResolver) -> str:
    """The tenant the authorizer resolved from the API key; routes are never tenant-less."""
    tenant: str = app.current_event.request_context.authorizer.get_lambda["tenant_id"]
    return tenant


def public_base(app: APIGatewayHttpResolver) -> str:
    """Where browsers and providers reach this API: the configured public URL, or the
    domain the request came in on."""
    return settings().public_url or f"https://{app.current_event.request_context.domain_name}"


def callback_url(app: APIGatewayHttpResolver) -> str:
    return f"{public_base(app)}/v1/oauth/callback"


def _body_problem(event: dict[str, Any], max_body: int) -> KeyfobError | None:
    """Refuse a body the resolver would choke on, before it can echo any of it back."""
    body = event.get("body")
    if not body:
        return None
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    media_type = headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        return UnsupportedMediaType(
            "unsupported_content_type", "Send the request body as application/json"
        )
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body
    except binascii.Error:
        return BadRequest("invalid_body", "The request body is not valid base64")
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode())
    if size > max_body:
        return PayloadTooLarge(
            "payload_too_large", f"Request body exceeds {max_body} bytes", {"limit": max_body}
        )
    try:
        json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return BadRequest("invalid_json", "The request body is not valid UTF-8 JSON")
    return None


def handle(
    app: APIGatewayHttpResolver,
    event: dict[str, Any],
    context: LambdaContext,
    *,
    max_body: int = MAX_BODY_BYTES,
) -> dict[str, Any]:
    problem = _body_problem(event, max_body)
    if problem is not None:
        logger.info("request refused", extra={"error_code": problem.code})
        return {
            "statusCode": problem.status,
            "headers": {"Content-Type": content_types.APPLICATION_JSON},
            "body": json.dumps(problem.body()),
        }
    return app.resolve(event, context)
