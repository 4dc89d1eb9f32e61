"""Powertools Logger, Metrics and (when enabled) Tracer, shared by every function.

Nothing secret is ever passed to any of them: callers log ids and outcomes only.
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


def traced(handler: Handler) -> Handler:
    """Powertools Tracer on the handler (X-Ray subsegments for boto3 and provider calls),
    when KEYFOB_TRACING is on. Off, the X-Ray SDK is never imported: it adds about
    40 ms to every cold start, and Lambda's active tracing still records invocations."""
    if os.environ.get("KEYFOB_TRACING", "").lower() != "true":
        return handler
    from aws_lambda_powertools import Tracer

    return cast(Handler, Tracer(service="keyfob").capture_lambda_handler(handler))
