"""AWS clients, created once per Lambda instance on first use.

botocore's own (the clients boto3 hands out are these): importing boto3 would add a third
to every cold start for nothing Keyfob uses. One botocore session, as boto3's default
session is one: it reads the same environment (region, credentials, AWS_ENDPOINT_URL).
botocore's stubs type a client as a bare one: each is cast to its service's type.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, cast

from botocore.config import Config
from botocore.session import Session, get_session

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
def _session() -> Session:
    return get_session()


@cache
def dynamodb() -> DynamoDBClient:
    return cast("DynamoDBClient", _session().create_client("dynamodb", config=_CONFIG))


@cache
def kms() -> KMSClient:
    return cast("KMSClient", _session().create_client("kms", config=_CONFIG))


@cache
def events() -> EventBridgeClient:
    return cast("EventBridgeClient", _session().create_client("events", config=_PUBLISH_CONFIG))


@cache
def sqs() -> SQSClient:
    return cast("SQSClient", _session().create_client("sqs", config=_CONFIG))


def reset() -> None:
    """Forget cached clients (tests that change endpoint or credentials)."""
    for client in (_session, dynamodb, kms, events, sqs):
        client.cache_clear()
