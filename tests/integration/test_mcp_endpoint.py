"""Keyfob as an MCP server for agents, with the official MCP client (Python SDK) against
the local gateway: an agent key lists its tools and apps, connects its user through the
demo provider (a connect link), calls the app's API as the user, and never reaches
another entity; every tool call is an audit event."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import pytest
import requests
from mcp import Client

from devstack.gateway import Gateway
from devstack.oauth_provider import OAuthServer
from tests.conftest import Api, Tenant
from tests.integration import flows, mcp_client
from tests.integration.bus import Published
from tests.integration.flows import callback, create_integration
from tests.integration.test_connect_links import Browser


@pytest.fixture
def own_tenant(gateway: Gateway) -> Tenant:
    """A tenant of its own: list_apps shows exactly its integrations."""
    from keyfob.services.tenants import create_tenant

    record, key = create_tenant(f"agents-{secrets.token_hex(3)}")
    return Tenant(record.id, key)


@pytest.fixture
def tenant_api(gateway: Gateway, own_tenant: Tenant) -> Api:
    return Api(gateway.url, own_tenant.api_key)


def agent_key(api: Api, *entities: str, **limits: Any) -> str:
    response = api.post("/v1/api_keys", json={"entity_ids": list(entities), **limits})
    assert response.status_code == 201, response.text
    return str(response.json()["api_key"])


def connect_through_link(connect_url: str, anonymous: Api) -> None:
    """What the user does with the link: the page's button, the provider, the callback."""
    browser = Browser()
    to_provider = browser.submit(connect_url, {})
    assert to_provider.status_code == 303, to_provider.text
    to_callback = browser.session.get(to_provider.headers["Location"], allow_redirects=False)
    page = callback(anonymous, to_callback.headers["Location"])
    assert page.status_code == 200 and "Account connected" in page.text


def test_an_agent_connects_its_user_and_calls_the_api_as_them(
    gateway: Gateway, tenant_api: Api, anonymous: Api, provider: OAuthServer
) -> None:
    create_integration(tenant_api, provider, api_settings={"base_url": provider.api_url})
    key = agent_key(tenant_api, "alice")

    async def discover(client: Client) -> tuple[list[str], Any]:
        tools = await client.list_tools()
        apps = await client.call_tool("list_apps", {})
        return [t.name for t in tools.tools], apps

    names, apps = mcp_client.run(gateway.url, mcp_client.bearer(key), discover)
    assert names == [
        "list_apps",
        "list_connections",
        "connect_app",
        "connection_status",
        "call_api",
    ]
    assert [a["app"] for a in apps.structured_content["apps"]] == ["oauth2"]

    started = mcp_client.call(gateway.url, key, "connect_app", {"app": "oauth2"})
    assert started.structured_content["status"] == "NOT_CONNECTED"
    connect_through_link(started.structured_content["connect_url"], anonymous)

    status = mcp_client.call(
        gateway.url, key, "connection_status", {"app": "oauth2", "wait_seconds": 2}
    )
    assert status.structured_content["status"] == "ACTIVE"
    answer = mcp_client.call(
        gateway.url, key, "call_api", {"app": "oauth2", "method": "GET", "path": "/me"}
    )
    assert not answer.is_error
    assert answer.structured_content["status"] == 200
    assert answer.structured_content["body"]["login"] == "keyfob-tester"
    assert "access_token" not in str(answer.structured_content)


def test_an_agent_key_never_reaches_another_entity(
    gateway: Gateway, tenant_api: Api, anonymous: Api, provider: OAuthServer
) -> None:
    create_integration(tenant_api, provider, api_settings={"base_url": provider.api_url})
    alice = agent_key(tenant_api, "alice")
    started = mcp_client.call(gateway.url, alice, "connect_app", {"app": "oauth2"})
    connect_through_link(started.structured_content["connect_url"], anonymous)
    listed = mcp_client.call(gateway.url, alice, "list_connections", {})
    (account,) = listed.structured_content["connections"]

    bob = agent_key(tenant_api, "bob")
    assert mcp_client.call(gateway.url, bob, "list_connections", {}).structured_content == {
        "entity_id": "bob",
        "connections": [],
    }
    for tool, arguments in (
        (
            "call_api",
            {
                "connected_account_id": account["connected_account_id"],
                "method": "GET",
                "path": "/me",
            },
        ),
        ("connection_status", {"connected_account_id": account["connected_account_id"]}),
    ):
        refused = mcp_client.call(gateway.url, bob, tool, arguments)
        assert refused.is_error
        assert refused.structured_content["error"]["code"] == "connected_account_not_found"
    named = mcp_client.call(gateway.url, bob, "list_connections", {"entity_id": "alice"})
    assert named.is_error and named.structured_content["error"]["code"] == "entity_not_found"
    # A full key must name the entity.
    unnamed = mcp_client.call(gateway.url, tenant_api.headers["x-api-key"], "list_connections", {})
    assert unnamed.structured_content["error"]["code"] == "entity_id_required"


def test_a_client_that_takes_url_elicitation_gets_the_link_as_one(
    gateway: Gateway, tenant_api: Api, provider: OAuthServer
) -> None:
    create_integration(tenant_api, provider)
    key = agent_key(tenant_api, "carol")
    refused = mcp_client.refusal(
        gateway.url, key, "connect_app", {"app": "oauth2"}, url_elicitation=True
    )
    assert refused.code == -32042
    (elicitation,) = refused.data["elicitations"]
    assert elicitation["mode"] == "url"
    assert elicitation["url"].startswith(f"{gateway.url}/v1/connect/")


def test_keys_limited_to_apps_and_tools_and_refused_when_deleted(
    gateway: Gateway, tenant_api: Api, provider: OAuthServer
) -> None:
    create_integration(tenant_api, provider)
    limited = agent_key(tenant_api, "dave", apps=["github"], operations=["list_apps"])

    async def names(client: Client) -> list[str]:
        return [t.name for t in (await client.list_tools()).tools]

    assert mcp_client.run(gateway.url, mcp_client.bearer(limited), names) == ["list_apps"]
    assert mcp_client.call(gateway.url, limited, "list_apps", {}).structured_content == {"apps": []}
    refused = mcp_client.call(gateway.url, limited, "list_connections", {})
    assert refused.structured_content["error"]["code"] == "operation_not_allowed"

    key_id = tenant_api.get("/v1/api_keys").json()["items"][-1]["id"]
    assert tenant_api.delete(f"/v1/api_keys/{key_id}").status_code == 204
    # The MCP endpoint's authorizer caches nothing: refused at once.
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    refused_now = requests.post(
        f"{gateway.url}/v1/mcp", json=ping, headers=mcp_client.bearer(limited), timeout=10
    )
    assert refused_now.status_code == 403


def test_an_expired_agent_key_is_refused(
    gateway: Gateway, tenant_api: Api, own_tenant: Tenant
) -> None:
    created = tenant_api.post(
        "/v1/api_keys", json={"entity_ids": ["fred"], "expires_in_seconds": 60}
    ).json()
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    headers = {**mcp_client.bearer(created["api_key"]), "Accept": "application/json"}
    url = f"{gateway.url}/v1/mcp"
    assert requests.post(url, json=ping, headers=headers, timeout=10).status_code == 200
    lookup = hashlib.sha256(created["api_key"].encode()).hexdigest()
    client, table = flows.table()
    client.update_item(
        TableName=table,
        Key={"pk": {"S": f"APIKEY#{lookup}"}, "sk": {"S": "APIKEY"}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": "946684800"}},
    )
    assert requests.post(url, json=ping, headers=headers, timeout=10).status_code == 403


def test_every_tool_call_is_an_audit_event_without_bodies(
    gateway: Gateway,
    tenant_api: Api,
    own_tenant: Tenant,
    provider: OAuthServer,
    published: Published,
) -> None:
    create_integration(tenant_api, provider)
    key = agent_key(tenant_api, "erin")
    published.drain()
    mcp_client.call(gateway.url, key, "list_connections", {})
    mcp_client.call(
        gateway.url,
        key,
        "call_api",
        {"app": "oauth2", "method": "POST", "path": "/things", "body": {"secret": "s3cr3t"}},
    )
    activity = [
        e["detail"]
        for e in published.events()
        if e["detail-type"] == "Keyfob.AgentActivity" and e["detail"]["tenant_id"] == own_tenant.id
    ]
    assert [(a["tool"], a["entity_id"], a["status"]) for a in activity] == [
        ("list_connections", "erin", "ok"),
        ("call_api", "erin", "connected_account_not_found"),
    ]
    assert activity[1]["method"] == "POST" and activity[1]["path"] == "/things"
    assert "s3cr3t" not in str(activity)
