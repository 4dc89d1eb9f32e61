"""Powertools Logger and Metrics shared by every function.

Nothing secret is ever passed to either: callers log ids and outcomes only.
"""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics

# A refused callback records no metric; that is expected, not worth a warning per request.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(service="keyfob")
metrics = Metrics(namespace="Keyfob", service="keyfob")
