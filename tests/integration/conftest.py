"""Fixtures of the integration tests: a watch on the Keyfob bus, the commands'
dead-letter queue, AWS accounts that act for the two tenants, a setting changed for one
test, what Keyfob logs, and webhook receivers with the queue's poller."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable, Iterator

import boto3
import pytest

from devstack.gateway import Gateway
from devstack.rules import Rules
from keyfob.core.config import settings
from keyfob.services import tenants
from keyfob.services.tenants import create_tenant
from tests.conftest import Api, Tenant
from tests.integration.bus import Published, Queue
from tests.integration.webhook_receiver import Receiver, serve

TRUSTED_ACCOUNT = "111122223333"  # acts for `tenant`
OTHER_TENANT_ACCOUNT = "444455556666"  # acts for `other_tenant`
UNKNOWN_ACCOUNT = "999988887777"  # acts for no tenant

Setting = Callable[[str, str], None]


@pytest.fixture(scope="session")
def published(stack_env: dict[str, str]) -> Published:
    return Published.subscribe(stack_env["KEYFOB_EVENT_BUS"])


@pytest.fixture(scope="session")
def dead_letters(stack_env: dict[str, str]) -> Queue:
    return Queue(stack_env["KEYFOB_COMMANDS_DLQ_URL"])


@pytest.fixture(scope="session")
def trusted_account(tenant: Tenant) -> str:
    tenants.allow_aws_account(tenant.id, TRUSTED_ACCOUNT)
    return TRUSTED_ACCOUNT


@pytest.fixture(scope="session")
def other_tenant_account(other_tenant: Tenant) -> str:
    tenants.allow_aws_account(other_tenant.id, OTHER_TENANT_ACCOUNT)
    return OTHER_TENANT_ACCOUNT


@pytest.fixture
def setting(monkeypatch: pytest.MonkeyPatch) -> Iterator[Setting]:
    """Change Keyfob's settings (environment variables) for this test alone; the
    functions run in this process and read them afresh."""

    def change(name: str, value: str) -> None:
        monkeypatch.setenv(name, value)
        settings.cache_clear()

    yield change
    monkeypatch.undo()
    settings.cache_clear()


@pytest.fixture
def keyfob_logs() -> Iterator[io.StringIO]:
    """Everything Keyfob's Powertools logger emits, formatted exactly as in Lambda."""
    from keyfob.core.observability import logger

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logging.getLogger(logger.name).addHandler(handler)
    yield stream
    logging.getLogger(logger.name).removeHandler(handler)


# --- webhooks ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def deliveries(gateway: Gateway) -> Iterator[Rules]:
    """The webhook queue's event source, polled as Lambda would. The queue is emptied
    first: the rule has queued every event of the tests before (their tenants have no
    endpoint), and working through that backlog would outlast these tests' waits."""
    sources = [r for r in gateway.stack.rules() if r.function_id == "WebhookDeliveryFunction"]
    assert [r.queue for r in sources] == ["WebhookQueue"]
    boto3.client("sqs").purge_queue(QueueUrl=os.environ["KEYFOB_WEBHOOK_QUEUE_URL"])
    running = Rules(gateway, sources).start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def hooked(stack_env: dict[str, str]) -> Tenant:
    """A tenant of these tests alone: no other test's events reach its endpoints."""
    record, key = create_tenant("hooked")
    return Tenant(record.id, key)


@pytest.fixture
def owner(gateway: Gateway, hooked: Tenant, deliveries: Rules) -> Iterator[Api]:
    with Api(gateway.url, hooked.api_key) as session:
        yield session
        for endpoint in session.get("/v1/webhooks").json()["items"]:
            session.delete(f"/v1/webhooks/{endpoint['id']}")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve()


@pytest.fixture
def watcher() -> Iterator[Receiver]:
    """A second receiver."""
    yield from serve()
