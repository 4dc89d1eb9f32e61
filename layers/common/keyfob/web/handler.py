"""The one decorator of every Lambda handler (the API functions' through
``keyfob.web.resolver.entry``).

Each invocation's log lines name its function, its request and its correlation id (the
API request id, the EventBridge event id, or the scheduled run's request id), and the
events it publishes carry the same correlation id. Metrics are flushed at the end;
Powertools Tracer wraps it when enabled. It imports no more than observability does: the
authorizer, the scheduled run and the commands start with it and no HTTP framework.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from keyfob.core.observability import bind_invocation, metrics, traced
from keyfob.web import snapstart  # noqa: F401  (registers the SnapStart hooks)

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
