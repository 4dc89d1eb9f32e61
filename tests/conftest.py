"""Session fixtures: real servers on loopback, started once.

- a moto server (DynamoDB, KMS, ...) with the resources template.yaml defines,
- the local HTTP gateway that runs the functions as API Gateway would,
- an OAuth 2.0 authorization server built from Authlib's server components,
- two tenants, so every test can also try to cross between them.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from devstack.gateway import Gateway
from devstack.moto_server import EmbeddedAWS
from devstack.oauth_provider import OAuthServer
from devstack.resources import provision
from devstack.template import load_template

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"

# Before anything imports boto3 or reads settings: no real AWS, ever.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    KEYFOB_ALLOW_HTTP_LOOPBACK="true",
    KEYFOB_HTTP_TIMEOUT="1.5",
    # How long a caller waits for another's refresh before a 503 (8 s in production).
    KEYFOB_LEASE_WAIT_SECONDS="2",
    POWERTOOLS_METRICS_NAMESPACE="Keyfob",
    POWERTOOLS_TRACE_DISABLED="true",
)
os.environ.pop("AWS_PROFILE", None)
logging.getLogger("werkzeug").setLevel(logging.ERROR)

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}
_real_getaddrinfo = socket.getaddrinfo


def _loopback_only(host: object, *args: object, **kwargs: object) -> object:
    """Tests never reach a real provider: no name but loopback resolves, whatever the
    machine's network (a catalog app's real host would otherwise be called)."""
    name = host.decode() if isinstance(host, bytes) else str(host)
    try:
        allowed = ipaddress.ip_address(name.split("%")[0]).is_loopback
    except ValueError:
        allowed = name.lower() in _LOOPBACK_NAMES
    if not allowed:
        raise socket.gaierror(socket.EAI_NONAME, f"tests reach loopback only, not {name}")
    return _real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]


socket.getaddrinfo = _loopback_only  # type: ignore[assignment]


@dataclass(frozen=True)
class Tenant:
    id: str
    api_key: str


@pytest.fixture(scope="session")
def aws() -> Iterator[EmbeddedAWS]:
    server = EmbeddedAWS()
    os.environ["AWS_ENDPOINT_URL"] = server.endpoint_url
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stack_env(aws: EmbeddedAWS) -> dict[str, str]:
    """The functions' environment, as template.yaml defines it, with local resources."""
    resources = provision(load_template(TEMPLATE), endpoint_url=aws.endpoint_url)
    env = dict(resources.function_env)
    os.environ.update(env)
    _forget_cached_settings()
    return env


def _forget_cached_settings() -> None:
    from keyfob.core import aws as kf_aws
    from keyfob.core.config import settings

    settings.cache_clear()
    kf_aws.reset()


@pytest.fixture(scope="session")
def gateway(stack_env: dict[str, str]) -> Iterator[Gateway]:
    server = Gateway(TEMPLATE, stack_env)
    server.start()
    os.environ["KEYFOB_PUBLIC_URL"] = server.url
    _forget_cached_settings()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def oauth_server() -> Iterator[OAuthServer]:
    server = OAuthServer().start()
    yield server
    server.stop()


@pytest.fixture
def provider(oauth_server: OAuthServer) -> OAuthServer:
    """The OAuth server, having forgotten every code, token, observation and switch of
    earlier tests (its registered clients stay)."""
    oauth_server.reset()
    return oauth_server


def _tenant(name: str) -> Tenant:
    from keyfob.services.tenants import create_tenant

    record, key = create_tenant(name)
    return Tenant(record.id, key)


@pytest.fixture(scope="session")
def tenant(stack_env: dict[str, str]) -> Tenant:
    return _tenant("acme")


@pytest.fixture(scope="session")
def other_tenant(stack_env: dict[str, str]) -> Tenant:
    return _tenant("globex")


class Api(requests.Session):
    """A requests session bound to the gateway's base URL and one tenant's key."""

    def __init__(self, base_url: str, api_key: str | None) -> None:
        super().__init__()
        self.base_url = base_url
        if api_key:
            self.headers["x-api-key"] = api_key

    def request(self, method: str | bytes, url: str | bytes, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        kwargs.setdefault("timeout", 30)
        # Redirects are what the tests look at; a browser's next hop is theirs to make.
        kwargs["allow_redirects"] = False
        return super().request(method, f"{self.base_url}{url!s}", *args, **kwargs)


@pytest.fixture
def api(gateway: Gateway, tenant: Tenant) -> Iterator[Api]:
    with Api(gateway.url, tenant.api_key) as session:
        yield session


@pytest.fixture
def other_api(gateway: Gateway, other_tenant: Tenant) -> Iterator[Api]:
    with Api(gateway.url, other_tenant.api_key) as session:
        yield session


@pytest.fixture
def anonymous(gateway: Gateway) -> Iterator[Api]:
    with Api(gateway.url, None) as session:
        yield session
