"""OAuth 2.0 client credentials and no-auth connections over the local gateway, against
the loopback provider (Authlib's client credentials grant and RFC 7523 client
assertions): connect, proxy, renew (on read and in the scheduled run), revoke."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack.gateway import Gateway
from devstack.oauth_provider import OAuthServer
from tests.conftest import Api, Tenant
from tests.integration.bus import Published
from tests.integration.flows import PAST, credentials, run_sweep, set_stored, stored

IDENTITY = {"path": "/me", "id_field": "id", "name_field": "login"}


def key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def integration(api: Api, provider: OAuthServer, method: str) -> str:
    response = api.post(
        "/v1/integrations",
        json={
            "app": "oauth2",
            "auth_scheme": "OAUTH2_CLIENT_CREDENTIALS",
            "credentials": {"scopes": ["read"]},
            "oauth": {
                "token_url": provider.token_url,
                "revocation_url": provider.revocation_url,
                "token_endpoint_auth_method": method,
            },
            "api": {"base_url": provider.api_url, "identity": IDENTITY},
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def machine(provider: OAuthServer, method: str) -> dict[str, str]:
    """A machine-to-machine client at the provider, as the connection's params."""
    private, public = key_pair() if method == "private_key_jwt" else ("", None)
    client_id, secret = provider.register_client(
        redirect_uris=[],
        token_endpoint_auth_method=method,
        grant_types=("client_credentials",),
        public_key=public,
    )
    if method == "private_key_jwt":
        return {"client_id": client_id, "private_key": private}
    return {"client_id": client_id, "client_secret": secret}


def connect(api: Api, integration_id: str, params: dict[str, str]) -> Any:
    return api.post(
        "/v1/connected_accounts",
        json={"integration_id": integration_id, "entity_id": "robot-1", "params": params},
    )


def grants(provider: OAuthServer) -> list[dict[str, Any]]:
    return [r for r in provider.token_requests if r["grant_type"] == "client_credentials"]


@pytest.mark.parametrize(
    "method", ["client_secret_basic", "client_secret_post", "private_key_jwt", "client_secret_jwt"]
)
def test_a_client_credentials_connection_gets_a_token_at_once_and_proxies_with_it(
    api: Api, provider: OAuthServer, published: Published, method: str
) -> None:
    # Given a client credentials integration and a machine client at the provider
    integration_id = integration(api, provider, method)
    params = machine(provider, method)
    secret = params.get("client_secret") or params["private_key"]
    # When the connection is made with the client's id and secret (or private key)
    response = connect(api, integration_id, params)
    # Then it is ACTIVE at once, named by the provider's identity call
    assert response.status_code == 201, response.text
    account = response.json()
    assert account["status"] == "ACTIVE"
    assert account["redirect_url"] is None
    assert account["upstream_display_name"] == "keyfob-tester"
    assert account["token_expires_at"] is not None
    assert secret not in response.text
    # And exactly one client credentials grant was made, with the scopes
    assert len(grants(provider)) == 1
    assert provider.m2m_requests[-1]["scope"] == "read"
    # And the proxy calls the API with the token
    answer = api.post(
        f"/v1/connected_accounts/{account['id']}/proxy", json={"method": "GET", "path": "/me"}
    )
    assert answer.status_code == 200, answer.text
    token = credentials(api, account["id"])["access_token"]
    assert provider.api_requests[-1]["headers"]["Authorization"] == f"Bearer {token}"
    # And neither the account nor its events carry the secret or the token
    listed = api.get("/v1/connected_accounts", params={"entity_id": "robot-1"}).text
    assert secret not in listed and token not in listed
    assert secret not in str(published.about(account["id"]))
    assert token not in str(published.about(account["id"]))


def test_a_due_token_is_bought_again_on_read_and_by_the_scheduled_run(
    api: Api, provider: OAuthServer, tenant: Tenant, gateway: Gateway
) -> None:
    # Given an ACTIVE client credentials account
    integration_id = integration(api, provider, "client_secret_basic")
    account = connect(api, integration_id, machine(provider, "client_secret_basic")).json()
    first = credentials(api, account["id"])["access_token"]
    assert stored(tenant.id, account["id"])["refreshable"] is True
    # When its token falls due and the credentials are read
    set_stored(tenant.id, account["id"], due_at=PAST)
    second = credentials(api, account["id"])["access_token"]
    # Then a new token was bought with the client's credentials (there is no refresh token)
    assert second != first
    assert len(grants(provider)) == 2
    assert "refresh_token" not in credentials(api, account["id"])
    # And the scheduled run renews a due one too
    set_stored(tenant.id, account["id"], due_at=PAST)
    counts = run_sweep(gateway)
    assert counts["TokensRefreshed"] == 1, counts
    third = credentials(api, account["id"])["access_token"]
    assert third not in (first, second)
    assert len(grants(provider)) == 3
    # And a forced refresh buys one too
    forced = api.post(f"/v1/connected_accounts/{account['id']}/refresh")
    assert forced.status_code == 200, forced.text
    assert credentials(api, account["id"])["access_token"] not in (first, second, third)
    assert len(grants(provider)) == 4


def test_a_refused_client_is_a_4xx_and_no_account(api: Api, provider: OAuthServer) -> None:
    integration_id = integration(api, provider, "client_secret_basic")
    params = {**machine(provider, "client_secret_basic"), "client_secret": "wrong"}
    before = api.get("/v1/connected_accounts", params={"entity_id": "robot-1"}).json()["items"]

    response = connect(api, integration_id, params)

    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "credentials_rejected"
    assert "invalid_client" in response.json()["error"]["message"]
    after = api.get("/v1/connected_accounts", params={"entity_id": "robot-1"}).json()["items"]
    assert len(after) == len(before)


def test_a_private_key_that_is_no_key_is_a_4xx(api: Api, provider: OAuthServer) -> None:
    integration_id = integration(api, provider, "private_key_jwt")
    params = {**machine(provider, "private_key_jwt"), "private_key": "not a key"}

    response = connect(api, integration_id, params)

    assert response.status_code == 422, response.text
    assert "private_key is not an RSA or EC private key" in response.json()["error"]["message"]
    assert grants(provider) == []


def test_deleting_the_connection_revokes_its_token(api: Api, provider: OAuthServer) -> None:
    integration_id = integration(api, provider, "client_secret_post")
    account = connect(api, integration_id, machine(provider, "client_secret_post")).json()
    token = credentials(api, account["id"])["access_token"]

    response = api.delete(f"/v1/connected_accounts/{account['id']}")

    assert response.status_code in (200, 204), response.text
    assert provider.revocations == [token]


def test_a_no_auth_connection_proxies_without_any_credential(
    api: Api, provider: OAuthServer
) -> None:
    # Given a public API's integration
    response = api.post(
        "/v1/integrations",
        json={
            "app": "public-api",
            "auth_scheme": "NO_AUTH",
            "api": {"base_url": f"{provider.base_url}/public"},
        },
    )
    assert response.status_code == 201, response.text
    # When a connection is made, with nothing to give
    account = connect(api, response.json()["id"], {})
    assert account.status_code == 201, account.text
    assert account.json()["status"] == "ACTIVE"
    # Then the proxy reaches the API with no credential on the request
    answer = api.post(
        f"/v1/connected_accounts/{account.json()['id']}/proxy",
        json={"method": "GET", "path": "/forecast"},
    )
    assert answer.status_code == 200, answer.text
    assert provider.api_requests[-1]["path"] == "/forecast"
    assert "Authorization" not in provider.api_requests[-1]["headers"]
