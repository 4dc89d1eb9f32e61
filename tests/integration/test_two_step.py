"""Two-step token exchange over the local gateway, against the loopback provider's login
endpoint: credentials exchanged for a short-lived token as the catalog's exchange says
(JSON body, token and lifetime at their paths), renewed by exchanging again (on read and
by the scheduled run), proxied; refused credentials a 4xx."""

from __future__ import annotations

import secrets
from typing import Any

from devstack.gateway import Gateway
from devstack.oauth_provider import OAuthServer
from tests.conftest import Api, Tenant
from tests.integration.bus import Published
from tests.integration.flows import PAST, credentials, run_sweep, set_stored, stored


def integration(api: Api, provider: OAuthServer) -> str:
    response = api.post(
        "/v1/integrations",
        json={
            "app": "demo-login",
            "auth_scheme": "TWO_STEP",
            "oauth": {"token_url": f"{provider.base_url}/login"},
            "api": {"base_url": provider.api_url},
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def user(provider: OAuthServer) -> dict[str, str]:
    name, password = f"u-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    provider.logins[name] = password
    return {"username": name, "password": password}


def connect(api: Api, integration_id: str, params: dict[str, str]) -> Any:
    return api.post(
        "/v1/connected_accounts",
        json={"integration_id": integration_id, "entity_id": "two", "params": params},
    )


def logins(provider: OAuthServer) -> int:
    return sum(1 for r in provider.token_requests if r["grant_type"] == "login")


def test_a_two_step_connection_exchanges_renews_and_proxies(
    api: Api, provider: OAuthServer, tenant: Tenant, gateway: Gateway, published: Published
) -> None:
    # Given a two-step integration and an API user
    provider.expires_in = 600
    integration_id = integration(api, provider)
    params = user(provider)
    # When the user's credentials are given
    response = connect(api, integration_id, params)
    # Then they were exchanged once for a token whose lifetime came from the answer
    assert response.status_code == 201, response.text
    account = response.json()
    assert account["status"] == "ACTIVE"
    assert params["password"] not in response.text
    assert logins(provider) == 1
    item = stored(tenant.id, account["id"])
    assert item["refreshable"] is True and item["token_expires_at"]
    # And the proxy sends the token
    first = credentials(api, account["id"])["access_token"]
    answer = api.post(
        f"/v1/connected_accounts/{account['id']}/proxy", json={"method": "GET", "path": "/x"}
    )
    assert answer.status_code == 200 and answer.json()["status"] == 200, answer.text
    assert provider.api_requests[-1]["headers"]["Authorization"] == f"Bearer {first}"
    # And when due the exchange is made again, on read and by the scheduled run
    set_stored(tenant.id, account["id"], due_at=PAST)
    assert credentials(api, account["id"])["access_token"] != first
    set_stored(tenant.id, account["id"], due_at=PAST)
    assert run_sweep(gateway)["TokensRefreshed"] == 1
    assert logins(provider) == 3
    # And the password is in no list response and no event
    shown = api.get("/v1/connected_accounts", params={"entity_id": "two"}).text
    assert params["password"] not in shown + str(published.about(account["id"]))


def test_refused_credentials_are_a_4xx_and_no_account(api: Api, provider: OAuthServer) -> None:
    integration_id = integration(api, provider)
    params = {**user(provider), "password": "wrong"}

    response = connect(api, integration_id, params)

    assert response.status_code == 422, response.text
    assert "invalid_grant" in response.json()["error"]["message"]
    listed = api.get("/v1/connected_accounts", params={"entity_id": "two"}).json()["items"]
    assert [a for a in listed if a["integration_id"] == integration_id] == []


def test_a_two_step_integration_without_a_token_url_is_a_4xx(api: Api) -> None:
    response = api.post("/v1/integrations", json={"app": "demo-login", "auth_scheme": "TWO_STEP"})

    assert response.status_code == 422, response.text
    assert "oauth.token_url is required" in response.json()["error"]["message"]
