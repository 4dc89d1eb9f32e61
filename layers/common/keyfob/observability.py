"""Powertools Logger and Metrics shared by every function.

Nothing secret is ever passed to either: callers log ids and outcomes only.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="keyfob")
metrics = Metrics(namespace="Keyfob", service="keyfob")
