"""The template's EventBridge rules, run by the local stack: moto routes a matched event
to a relay queue, and the stack invokes the rule's function with it."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from devstack.event_rules import RuleRelay
from devstack.gateway import Gateway
from devstack.oauth_provider import OAuthServer
from devstack.template import ACCOUNT_ID, Template
from keyfob.services import commands, tenants
from tests.conftest import Api, Tenant
from tests.integration.flows import create_integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def relay(gateway: Gateway, stack_env: dict[str, str]) -> Iterator[RuleRelay]:
    bus = stack_env["KEYFOB_EVENT_BUS"]
    rules = Template.load(ROOT / "template.yaml").event_rules({"KeyfobBus": {"Ref": bus}})
    running = RuleRelay(gateway, rules).start()
    yield running
    running.stop()


def test_the_template_routes_the_commands_on_the_keyfob_bus_to_their_function(
    stack_env: dict[str, str],
) -> None:
    bus = stack_env["KEYFOB_EVENT_BUS"]
    (rule,) = Template.load(ROOT / "template.yaml").event_rules({"KeyfobBus": {"Ref": bus}})
    assert (rule.function_id, rule.bus) == ("CommandsFunction", bus)
    assert rule.pattern == {"detail-type": list(commands.DETAIL_TYPES)}


def test_an_event_put_on_the_bus_reaches_the_rules_function(
    relay: RuleRelay,
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
