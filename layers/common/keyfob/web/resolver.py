"""The resolver every API function routes with: Powertools' with validation, Keyfob's
errors as their HTTP answers, and what a route needs of its request (the tenant, the
public base URL) and of its body (JSON, within limits), checked before any of it is
parsed or echoed."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from keyfob.core.config import settings
from keyfob.core.errors import (
    Forbidden,
    KeyfobError,
    Malformed,
    TooLarge,
    UnsupportedFormat,
    validation_problems,
)
from keyfob.core.nesting import shallow
from keyfob.web import errors
from keyfob.web.handler import Handler, handler

MAX_BODY_BYTES = 32 * 1024

# Powertools' event handler logs every route's arguments at DEBUG ("Calling API Route
# Handler: ..."), request bodies included, and POWERTOOLS_DEBUG turns its package logger to
# DEBUG: a connection's API key or password would reach the logs. Nothing below INFO from it.
logging.getLogger("aws_lambda_powertools.event_handler").setLevel(logging.INFO)
API_KEY_SECURITY: list[dict[str, list[str]]] = [{"apiKey": []}]


# A route's own answer to some invalid requests (None: the usual 422).
InvalidHook = Callable[[list[dict[str, str]], Mapping[str, str]], Response[Any] | None]


def create_app(*, on_invalid: InvalidHook | None = None) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)

    @app.exception_handler(KeyfobError)  # type: ignore[untyped-decorator]
    def _keyfob_error(exc: KeyfobError) -> Response[Any]:
        return errors.refused(exc)

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def _invalid(exc: RequestValidationError) -> Response[Any]:
        problems = validation_problems(exc.errors())
        if on_invalid is not None:
            answer = on_invalid(problems, app.current_event.headers)
            if answer is not None:
                return answer
        return errors.invalid_request(problems)

    @app.not_found
    def _no_route(exc: Exception) -> Response[Any]:
        return errors.error_response(404, "route_not_found", "No such route")

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def _unexpected(exc: Exception) -> Response[Any]:
        return errors.unexpected(exc)

    return app


def tenant_id(app: APIGatewayHttpResolver) -> str:
    """The tenant the authorizer resolved from a full API key; routes are never
    tenant-less. An agent key never passes the REST API's authorizer; should one ever
    get here, it is refused all the same."""
    context = app.current_event.request_context.authorizer.get_lambda
    if context.get("key_kind", "tenant") != "tenant":
        raise Forbidden("agent_key_not_allowed", "An agent key opens the MCP endpoint only")
    tenant: str = context["tenant_id"]
    return tenant


def key_id(app: APIGatewayHttpResolver) -> str:
    """The id of the API key the request came with."""
    key: str = app.current_event.request_context.authorizer.get_lambda.get("key_id", "")
    return key


def public_base(app: APIGatewayHttpResolver) -> str:
    """Where browsers and providers reach this API: the configured public URL, or the
    domain the request came in on."""
    return settings().public_url or f"https://{app.current_event.request_context.domain_name}"


def callback_url(app: APIGatewayHttpResolver) -> str:
    return f"{public_base(app)}/v1/oauth/callback"


def body_problem(event: dict[str, Any], max_body: int) -> KeyfobError | None:
    """Why a JSON body cannot be taken, before the resolver parses (or echoes) any of
    it: not JSON, too large, or nested deeper than Keyfob handles."""
    body = event.get("body")
    if not body:
        return None
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    media_type = headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        return UnsupportedFormat(
            "unsupported_content_type", "Send the request body as application/json"
        )
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body
    except binascii.Error:
        return Malformed("invalid_body", "The request body is not valid base64")
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode())
    if size > max_body:
        return TooLarge(
            "payload_too_large", f"Request body exceeds {max_body} bytes", {"limit": max_body}
        )
    try:
        parsed = json.loads(raw)
    except RecursionError:
        parsed = None  # deeper than the parser goes: certainly too deep
    except (UnicodeDecodeError, ValueError):
        return Malformed("invalid_json", "The request body is not valid UTF-8 JSON")
    else:
        if shallow(parsed):
            return None
    return Malformed("invalid_json", "The request body nests deeper than 64 levels")


def entry(
    app: APIGatewayHttpResolver, *, max_body: int = MAX_BODY_BYTES, json_body: bool = True
) -> Handler:
    """The Lambda handler of an API function: its resolver, behind the body check (for
    a JSON body; a form is the route's own to read) and the one decorator."""

    def resolve(event: dict[str, Any], context: Any) -> dict[str, Any]:
        problem = body_problem(event, max_body) if json_body else None
        if problem is not None:
            return errors.refused_event(problem)
        return app.resolve(event, context)

    return handler(resolve)
