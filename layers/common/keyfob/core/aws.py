"""AWS clients, created once per Lambda instance on first use.

botocore's own (the clients boto3 hands out are these): importing boto3 would add a third
to every cold start for nothing Keyfob uses. One botocore session, as boto3's default
session is one: it reads the same environment (region, credentials, AWS_ENDPOINT_URL).
botocore's stubs type a client as a bare one: each is cast to its service's type.

botocore itself is imported by the first client, not with this module: with its session
and client machinery, the API functions' framework (Powertools' resolver with validation)
is about 1.7x a bare ``import boto3``, without it 1.2x (bench/cold_start.py), and the
target is 1.5x for a whole function. With SnapStart, the before-snapshot hook imports it
(``preload``), so that a restored function does not pay for it on its first request.
Its exceptions too: ``except aws.ClientError`` looks the class up only when an exception
reaches the clause, which a call to AWS has by then imported (PEP 562 ``__getattr__``).
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from botocore.exceptions import BotoCoreError as BotoCoreError
    from botocore.exceptions import ClientError as ClientError
    from botocore.session import Session
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_sqs import SQSClient

# Fail fast rather than hold a Lambda for the SDK's default of 60 s a call. A pool as
# large as the scheduled run's thread count: with botocore's default of 10, its threads
# would discard and reopen connections on every call.
_CONFIG: dict[str, Any] = {
    "connect_timeout": 2,
    "read_timeout": 5,
    "retries": {"mode": "standard", "max_attempts": 3},
    "max_pool_connections": 64,
}
# Publishing sits on API paths after the state is stored, and a failed put is recorded
# for the scheduled run: better to give up quickly than hold the caller.
_PUBLISH_CONFIG: dict[str, Any] = {
    "connect_timeout": 1,
    "read_timeout": 2,
    "retries": {"mode": "standard", "max_attempts": 2},
}


if not TYPE_CHECKING:  # the type checker sees the imports above

    def __getattr__(name: str) -> type[Exception]:
        if name in ("BotoCoreError", "ClientError"):
            from botocore import exceptions

            return getattr(exceptions, name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@cache
def _session() -> Session:
    from botocore.session import get_session

    return get_session()


def _client(service: str, options: dict[str, Any]) -> Any:
    from botocore.config import Config

    return _session().create_client(service, config=Config(**options))


def preload() -> None:
    """Import what the first client needs (SnapStart's before-snapshot hook)."""
    for name in ("botocore.config", "botocore.session"):
        importlib.import_module(name)


@cache
def dynamodb() -> DynamoDBClient:
    return cast("DynamoDBClient", _client("dynamodb", _CONFIG))


@cache
def kms() -> KMSClient:
    return cast("KMSClient", _client("kms", _CONFIG))


@cache
def events() -> EventBridgeClient:
    return cast("EventBridgeClient", _client("events", _PUBLISH_CONFIG))


@cache
def sqs() -> SQSClient:
    return cast("SQSClient", _client("sqs", _CONFIG))


def reset() -> None:
    """Forget cached clients (tests that change endpoint or credentials)."""
    for client in (_session, dynamodb, kms, events, sqs):
        client.cache_clear()
