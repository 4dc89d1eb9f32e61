"""Powertools Logger, Metrics and (when enabled) Tracer, shared by every function.

What identifies an invocation (the function, its request id, cold start, the
correlation id) is kept in the logger's thread-local keys, never its global ones: the
local stack runs many functions' invocations at once in one process, and each log line
and event must name its own. Nothing secret is ever passed to any of them: callers log
ids and outcomes only.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics

# A refused callback records no metric; that is expected, not worth a warning per request.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(service="keyfob")
metrics = Metrics(namespace="Keyfob", service="keyfob")

Handler = TypeVar("Handler", bound=Callable[..., Any])

_cold = True


def bind_invocation(context: Any, correlation_id: str | None) -> None:
    """Start this thread's log keys afresh for one invocation."""
    global _cold
    logger.thread_safe_clear_keys()
    logger.thread_safe_append_keys(
        cold_start=_cold,
        function_name=getattr(context, "function_name", None),
        function_memory_size=getattr(context, "memory_limit_in_mb", None),
        function_arn=getattr(context, "invoked_function_arn", None),
        function_request_id=getattr(context, "aws_request_id", None),
        correlation_id=correlation_id,
    )
    _cold = False


def set_correlation_id(value: str | None) -> None:
    logger.thread_safe_append_keys(correlation_id=value)


def correlation_id() -> str | None:
    """The correlation id of the invocation this thread serves (API request id, command
    key or event id, scheduled run's request id)."""
    value = logger.thread_safe_get_current_keys().get("correlation_id")
    return value if isinstance(value, str) else None


def traced(handler: Handler) -> Handler:
    """Powertools Tracer on the handler (X-Ray subsegments for boto3 and provider calls),
    when KEYFOB_TRACING is on. Off, the X-Ray SDK is never imported: it adds about
    40 ms to every cold start, and Lambda's active tracing still records invocations."""
    if os.environ.get("KEYFOB_TRACING", "").lower() != "true":
        return handler
    from aws_lambda_powertools import Tracer

    return cast(Handler, Tracer(service="keyfob").capture_lambda_handler(handler))
