"""boto3 clients, created once per Lambda instance on first use."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_sqs import SQSClient

# Fail fast rather than hold a Lambda for the SDK's default of 60 s a call. A pool as
# large as the scheduled run's thread count: with botocore's default of 10, its threads
# would discard and reopen connections on every call.
_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "max_attempts": 3},
    max_pool_connections=64,
)
# Publishing sits on API paths after the state is stored, and a failed put is recorded
# for the scheduled run: better to give up quickly than hold the caller.
_PUBLISH_CONFIG = Config(
    connect_timeout=1, read_timeout=2, retries={"mode": "standard", "max_attempts": 2}
)


@cache
def dynamodb() -> DynamoDBClient:
    return boto3.client("dynamodb", config=_CONFIG)


@cache
def kms() -> KMSClient:
    return boto3.client("kms", config=_CONFIG)


@cache
def events() -> EventBridgeClient:
    return boto3.client("events", config=_PUBLISH_CONFIG)


@cache
def sqs() -> SQSClient:
    return boto3.client("sqs", config=_CONFIG)


def reset() -> None:
    """Forget cached clients (tests that change endpoint or credentials)."""
    for client in (dynamodb, kms, events, sqs):
        client.cache_clear()
