"""Remote MCP servers as connection targets: Keyfob, as the OAuth client, discovers a real
MCP server's authorization server from its 401, registers itself (dynamically, or with
its client ID metadata document, or uses pre-registered credentials), sends PKCE S256 and
the RFC 8707 resource on every request, checks RFC 9207 iss, and then lists and calls the
server's tools as the entity through its MCP gateway."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from devstack.gateway import Gateway
from tests.conftest import Api, Tenant
from tests.integration import mcp_client
from tests.integration.flows import RETURN_URL, callback, follow
from tests.integration.remote_mcp import McpAuthServer, RemoteMcpServer


@pytest.fixture(scope="module")
def auth_server() -> Iterator[McpAuthServer]:
    server = McpAuthServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def remote(auth_server: McpAuthServer) -> Iterator[RemoteMcpServer]:
    server = RemoteMcpServer(auth_server).start()
    yield server
    server.stop()


@pytest.fixture
def auth(auth_server: McpAuthServer) -> McpAuthServer:
    auth_server.reset()
    return auth_server


@pytest.fixture
def own(gateway: Gateway) -> tuple[Tenant, Api]:
    """A tenant of its own: its registrations are its alone."""
    from keyfob.services.tenants import create_tenant

    record, key = create_tenant(f"mcp-{secrets.token_hex(3)}")
    return Tenant(record.id, key), Api(gateway.url, key)


def integration(api: Api, remote: RemoteMcpServer, **extra: Any) -> dict[str, Any]:
    body = {"app": "mcp", "auth_scheme": "OAUTH2", "mcp": {"server_url": remote.url}, **extra}
    response = api.post("/v1/integrations", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def initiate(api: Api, integration_id: str, entity_id: str) -> dict[str, Any]:
    body = {"integration_id": integration_id, "entity_id": entity_id, "redirect_url": RETURN_URL}
    response = api.post("/v1/connected_accounts", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def approve(anonymous: Api, authorization_url: str) -> dict[str, str]:
    """The user approves at the authorization server; the app's redirect's query."""
    back = callback(anonymous, follow(authorization_url))
    assert back.status_code == 302, back.text
    return query(back.headers["Location"])


def test_dynamic_registration_then_tools_called_as_the_entity(
    own: tuple[Tenant, Api],
    anonymous: Api,
    auth: McpAuthServer,
    remote: RemoteMcpServer,
    gateway: Gateway,
) -> None:
    _, api = own
    created = integration(api, remote)
    assert created["mcp"] == {"server_url": remote.url, "alias": "mcp", "issuer": None}
    started = initiate(api, created["id"], "ada")

    sent = query(started["redirect_url"])
    assert started["redirect_url"].startswith(auth.authorization_url)
    assert sent["resource"] == remote.url
    assert sent["code_challenge_method"] == "S256" and sent["code_challenge"]
    assert sent["scope"].split() == ["read", "offline_access"]
    (registration,) = auth.registrations
    assert registration["redirect_uris"] == [f"{gateway.url}/v1/oauth/callback"]
    assert sent["client_id"] in auth.clients

    assert approve(anonymous, started["redirect_url"])["status"] == "ACTIVE"
    exchange = auth.token_requests[-1]
    assert exchange["grant_type"] == "authorization_code"
    assert exchange["form"]["resource"] == remote.url
    assert exchange["form"]["code_verifier"]

    # Another entity's connection reuses the tenant's registration with that issuer.
    approve(anonymous, initiate(api, created["id"], "bea")["redirect_url"])
    assert len(auth.registrations) == 1

    # Refreshed with the resource; the grant's authorization server is where it goes.
    refreshed = api.post(f"/v1/connected_accounts/{started['id']}/refresh")
    assert refreshed.status_code == 200, refreshed.text
    assert auth.token_requests[-1]["grant_type"] == "refresh_token"
    assert auth.token_requests[-1]["form"]["resource"] == remote.url

    key = api.post("/v1/api_keys", json={"entity_ids": ["ada"]}).json()["api_key"]

    async def listed(client: Any) -> list[str]:
        return [t.name for t in (await client.list_tools()).tools]

    names = mcp_client.run(gateway.url, mcp_client.bearer(key), listed)
    assert {"mcp__whoami", "mcp__echo", "mcp__write_note"} <= set(names)
    echoed = mcp_client.call(gateway.url, key, "mcp__echo", {"text": "hello"})
    assert not echoed.is_error
    assert echoed.content[0].text == "hello"
    assert remote.calls[-1] == {"tool": "echo", "text": "hello"}
    leaked = mcp_client.call(gateway.url, key, "mcp__leak_token", {})
    assert leaked.content[0].text == "your token is [REDACTED]"

    deleted = api.delete(f"/v1/connected_accounts/{started['id']}")
    assert deleted.json()["revocation"]["status"] == "revoked"


def test_a_pre_registered_client_and_registering_again_after_invalid_client(
    own: tuple[Tenant, Api],
    anonymous: Api,
    auth: McpAuthServer,
    remote: RemoteMcpServer,
    gateway: Gateway,
) -> None:
    _, api = own
    callback_url = f"{gateway.url}/v1/oauth/callback"
    client_id, secret = auth.register_client(redirect_uris=[callback_url])
    pinned = integration(
        api,
        remote,
        credentials={"client_id": client_id, "client_secret": secret},
        mcp={"server_url": remote.url, "issuer": auth.issuer},
    )
    started = initiate(api, pinned["id"], "cy")
    assert query(started["redirect_url"])["client_id"] == client_id
    assert approve(anonymous, started["redirect_url"])["status"] == "ACTIVE"
    assert auth.registrations == []
    assert auth.token_requests[-1]["client_id"] == client_id

    # Credentials registered with another authorization server are not used here.
    elsewhere = integration(
        api,
        remote,
        credentials={"client_id": client_id, "client_secret": secret},
        mcp={"server_url": remote.url, "issuer": "https://other.example/"},
    )
    refused = api.post(
        "/v1/connected_accounts", json={"integration_id": elsewhere["id"], "entity_id": "cy"}
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "authorization_server_changed"

    # A dynamic registration the server has forgotten: invalid_client, then a new one.
    dynamic = integration(api, remote)
    first = initiate(api, dynamic["id"], "dee")
    approve(anonymous, first["redirect_url"])
    forgotten = query(first["redirect_url"])["client_id"]
    auth.forget_client(forgotten)
    failed = api.post(f"/v1/connected_accounts/{first['id']}/refresh")
    assert failed.status_code == 502
    assert "invalid_client" in failed.json()["error"]["message"]
    again = initiate(api, dynamic["id"], "dee")
    assert len(auth.registrations) == 2
    assert query(again["redirect_url"])["client_id"] not in (forgotten, client_id)
    assert approve(anonymous, again["redirect_url"])["status"] == "ACTIVE"


def test_a_registration_whose_secret_expires_is_made_again(
    own: tuple[Tenant, Api],
    anonymous: Api,
    auth: McpAuthServer,
    remote: RemoteMcpServer,
) -> None:
    _, api = own
    created = integration(api, remote)
    auth.secret_lifetime = 30  # within Keyfob's minute of margin: expired for its purposes
    first = query(initiate(api, created["id"], "kim")["redirect_url"])["client_id"]
    auth.secret_lifetime = 0
    second = initiate(api, created["id"], "kim")
    assert len(auth.registrations) == 2
    assert query(second["redirect_url"])["client_id"] != first
    assert approve(anonymous, second["redirect_url"])["status"] == "ACTIVE"


def test_connections_registering_at_once_all_use_the_one_registration_stored(
    own: tuple[Tenant, Api],
    anonymous: Api,
    auth: McpAuthServer,
    remote: RemoteMcpServer,
) -> None:
    _, api = own
    created = integration(api, remote)
    auth.register_delay = 0.5  # both are registering when either stores its registration
    with ThreadPoolExecutor(2) as pool:
        started = list(pool.map(lambda e: initiate(api, created["id"], e), ["hal", "ida"]))
    assert len(auth.registrations) == 2
    client_ids = {query(s["redirect_url"])["client_id"] for s in started}
    assert len(client_ids) == 1
    for attempt in started:
        assert approve(anonymous, attempt["redirect_url"])["status"] == "ACTIVE"


def test_well_known_fallbacks_and_openid_discovery(
    own: tuple[Tenant, Api],
    anonymous: Api,
    auth: McpAuthServer,
    remote: RemoteMcpServer,
) -> None:
    _, api = own
    remote.bare_401, auth.openid_only = True, True
    bare = requests.post(remote.url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, timeout=5)
    assert bare.status_code == 401 and "resource_metadata" not in bare.headers["WWW-Authenticate"]
    rfc8414 = f"{auth.base_url}/.well-known/oauth-authorization-server"
    assert requests.get(rfc8414, timeout=5).status_code == 404
    try:
        started = initiate(api, integration(api, remote)["id"], "jo")
    finally:
        remote.bare_401 = False
    assert started["redirect_url"].startswith(auth.authorization_url)
    assert query(started["redirect_url"])["resource"] == remote.url
    assert approve(anonymous, started["redirect_url"])["status"] == "ACTIVE"


def test_keyfobs_client_id_metadata_document_where_the_server_takes_one(
    own: tuple[Tenant, Api],
    anonymous: Api,
    auth: McpAuthServer,
    remote: RemoteMcpServer,
    gateway: Gateway,
) -> None:
    _, api = own
    auth.client_metadata_documents = True
    started = initiate(api, integration(api, remote)["id"], "eve")
    document_url = f"{gateway.url}/v1/oauth/client-metadata.json"
    assert query(started["redirect_url"])["client_id"] == document_url
    assert approve(anonymous, started["redirect_url"])["status"] == "ACTIVE"
    assert auth.fetched_documents == [document_url] and auth.registrations == []
    document = requests.get(document_url, timeout=10).json()
    assert document["client_id"] == document_url
    assert document["redirect_uris"] == [f"{gateway.url}/v1/oauth/callback"]
    assert document["token_endpoint_auth_method"] == "none"


def test_an_authorization_response_from_another_issuer_fails_the_connection(
    own: tuple[Tenant, Api],
    anonymous: Api,
    auth: McpAuthServer,
    remote: RemoteMcpServer,
) -> None:
    _, api = own
    created = integration(api, remote)
    auth.iss_override = "http://127.0.0.1:1/"
    mixed_up = approve(anonymous, initiate(api, created["id"], "fay")["redirect_url"])
    assert mixed_up["status"] == "FAILED"
    auth.iss_override, auth.include_iss = None, False  # advertised, then left out: refused
    missing = approve(anonymous, initiate(api, created["id"], "fay")["redirect_url"])
    assert missing["status"] == "FAILED"
    account = api.get(f"/v1/connected_accounts/{missing['connected_account_id']}").json()
    assert account["status_reason"] == "authorization response had no iss (RFC 9207)"


def test_insufficient_scope_steps_the_connection_up(
    own: tuple[Tenant, Api],
    anonymous: Api,
    auth: McpAuthServer,
    remote: RemoteMcpServer,
    gateway: Gateway,
) -> None:
    _, api = own
    started = initiate(api, integration(api, remote)["id"], "gus")
    approve(anonymous, started["redirect_url"])
    key = api.post("/v1/api_keys", json={"entity_ids": ["gus"]}).json()["api_key"]

    refused = mcp_client.call(gateway.url, key, "mcp__write_note", {"text": "x"})
    assert refused.is_error
    error = refused.structured_content["error"]
    assert error["code"] == "insufficient_scope"
    step_up = error["details"]["authorization_url"]
    assert query(step_up)["scope"].split() == ["read", "offline_access", "write"]
    assert query(step_up)["resource"] == remote.url
    account = api.get(f"/v1/connected_accounts/{started['id']}").json()
    assert account["status"] == "INITIATED"

    assert approve(anonymous, step_up)["status"] == "ACTIVE"
    written = mcp_client.call(gateway.url, key, "mcp__write_note", {"text": "x"})
    assert not written.is_error and written.content[0].text == "noted: x"
