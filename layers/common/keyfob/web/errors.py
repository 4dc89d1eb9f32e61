"""Errors as HTTP answers: the one place that knows status codes.

Errors are JSON ``{"error": {"code", "message", "details"}}``. Validation details name
the offending location but never echo the submitted value: it may be a secret.
"""

from __future__ import annotations

import json
import traceback
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types

from keyfob.core import errors
from keyfob.core.observability import logger

STATUS: dict[type[errors.KeyfobError], int] = {
    errors.Malformed: 400,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Lapsed: 410,
    errors.TooLarge: 413,
    errors.UnsupportedFormat: 415,
    errors.Invalid: 422,
    errors.Tampered: 500,
    errors.UpstreamFailed: 502,
    errors.Busy: 503,
    errors.UpstreamTimedOut: 504,
}


def status_of(error: errors.KeyfobError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 400


def error_response(
    status: int, code: str, message: str, details: Any = None, retry_after: int | None = None
) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"error": {"code": code, "message": message, "details": details}},
        headers={"Retry-After": str(retry_after)} if retry_after is not None else None,
    )


def refused(error: errors.KeyfobError) -> Response[Any]:
    """The answer to a request Keyfob refuses, logged by its code."""
    status = status_of(error)
    logger.info("request refused", extra={"error_code": error.code, "status": status})
    return error_response(status, error.code, error.message, error.details, error.retry_after)


def refused_event(error: errors.KeyfobError) -> dict[str, Any]:
    """``refused`` as the Lambda response itself, for a request refused before routing."""
    status = status_of(error)
    logger.info("request refused", extra={"error_code": error.code, "status": status})
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": json.dumps(error.body()),
    }


def invalid_request(problems: list[dict[str, str]]) -> Response[Any]:
    where = ", ".join(p["location"] for p in problems)
    return error_response(422, "validation_error", f"Invalid request: {where}", problems)


def unexpected(exc: Exception) -> Response[Any]:
    # Frames only: an exception's message can quote request data.
    logger.error(
        "unhandled error",
        extra={"error_type": type(exc).__name__, "frames": traceback.format_tb(exc.__traceback__)},
    )
    return error_response(500, "internal_error", "Internal error; it has been logged")
