"""The template's EventBridge rules, run by the local stack: moto routes a matched event
to a relay queue, and the stack invokes the rule's function with it."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import boto3
import pytest

from devstack.gateway import Gateway
from devstack.oauth_provider import OAuthServer
from devstack.rules import Rules
from devstack.template import ACCOUNT_ID
from keyfob.services import commands, tenants
from tests.conftest import Api, Tenant
from tests.integration.flows import create_integration


@pytest.fixture
def relay(gateway: Gateway) -> Iterator[Rules]:
    running = Rules(gateway, [r for r in gateway.stack.rules() if r.pattern]).start()
    yield running
    running.stop()


def test_the_template_routes_the_commands_on_the_keyfob_bus_to_their_function(
    gateway: Gateway, stack_env: dict[str, str]
) -> None:
    (rule,) = [r for r in gateway.stack.rules() if r.pattern]
    assert (rule.function_id, rule.bus) == ("CommandsFunction", stack_env["KEYFOB_EVENT_BUS"])
    assert rule.pattern == {"detail-type": list(commands.DETAIL_TYPES)}


def test_an_event_put_on_the_bus_reaches_the_rules_function(
    relay: Rules,
    other_api: Api,
    other_tenant: Tenant,
    oauth_server: OAuthServer,
    stack_env: dict[str, str],
) -> None:
    # Given the local endpoint's account acting for a tenant (as make dev seeds it)
    tenants.allow_aws_account(other_tenant.id, ACCOUNT_ID)
    integration_id, _ = create_integration(other_api, oauth_server)
    entity = f"relay-{uuid.uuid4().hex[:8]}"
    # When that account puts a command on the bus
    detail = {"integration_id": integration_id, "entity_id": entity}
    boto3.client("events").put_events(
        Entries=[
            {
                "EventBusName": stack_env["KEYFOB_EVENT_BUS"],
                "Source": "com.example.tests",
                "DetailType": "Keyfob.InitiateConnection",
                "Detail": json.dumps(detail),
            }
        ]
    )
    # Then the rule delivers it to the commands function, which starts the connection
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        items = other_api.get("/v1/connected_accounts", params={"entity_id": entity}).json()
        if items["items"]:
            break
        time.sleep(0.1)
    assert [a["status"] for a in items["items"]] == ["INITIATED"]
