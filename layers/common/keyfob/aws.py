"""boto3 clients, created once per Lambda instance on first use."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_kms import KMSClient

# Fail fast rather than hold a Lambda for the SDK's default of 60 s a call.
_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})


@cache
def dynamodb() -> DynamoDBClient:
    return boto3.client("dynamodb", config=_CONFIG)


@cache
def kms() -> KMSClient:
    return boto3.client("kms", config=_CONFIG)


def reset() -> None:
    """Forget cached clients (tests that change endpoint or credentials)."""
    dynamodb.cache_clear()
    kms.cache_clear()
