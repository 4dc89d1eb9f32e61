"""The one decorator of every Lambda handler, and the entry point of API functions.

Each invocation's log lines name its function, its request and its correlation id (the
API request id, the EventBridge event id, or the scheduled run's request id), and the
events it publishes carry the same correlation id. Metrics are flushed at the end;
Powertools Tracer wraps it when enabled.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from keyfob.core.observability import bind_invocation, metrics, traced
from keyfob.web.errors import refused_event
from keyfob.web.resolver import MAX_BODY_BYTES, body_problem

Handler = Callable[[Any, Any], Any]


def correlation_of(event: Any, context: Any) -> str | None:
    if isinstance(event, dict):
        request = event.get("requestContext")
        if isinstance(request, dict) and request.get("requestId"):
            return str(request["requestId"])
        if event.get("id") and event.get("detail-type") != "Scheduled Event":
            return str(event["id"])
    return getattr(context, "aws_request_id", None)


def handler(function: Handler) -> Handler:
    """Wrap a Lambda handler with Keyfob's observability."""

    @functools.wraps(function)
    def invoke(event: Any, context: Any) -> Any:
        bind_invocation(context, correlation_of(event, context))
        return function(event, context)

    return traced(metrics.log_metrics(invoke))


def entry(
    app: APIGatewayHttpResolver, *, max_body: int = MAX_BODY_BYTES, json_body: bool = True
) -> Handler:
    """The Lambda handler of an API function: its resolver, behind the body check (for
    a JSON body; a form is the route's own to read) and the one decorator."""

    def resolve(event: dict[str, Any], context: Any) -> dict[str, Any]:
        problem = body_problem(event, max_body) if json_body else None
        if problem is not None:
            return refused_event(problem)
        return app.resolve(event, context)

    return handler(resolve)
