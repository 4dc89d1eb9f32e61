"""JWT bearer connections (RFC 7523 2.1) over the local gateway, against the loopback
provider's JWT bearer grant (Authlib's): a Google service account key file, with and
without a subject, and the Salesforce flavour; minted at once, reused, minted again when
due (on read and by the scheduled run); the key never shown."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devstack.gateway import Gateway
from devstack.oauth_provider import OAuthServer
from tests.conftest import Api, Tenant
from tests.integration.bus import Published
from tests.integration.flows import PAST, credentials, run_sweep, set_stored
from tests.integration.test_client_credentials import key_pair

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
IDENTITY = {"path": "/me", "id_field": "id", "name_field": "login"}


def service_account(provider: OAuthServer) -> tuple[str, str]:
    """(issuer, private key) of a service account the provider knows."""
    private, public = key_pair()
    issuer, _ = provider.register_client(
        redirect_uris=[], token_endpoint_auth_method="none", grant_types=(GRANT,), public_key=public
    )
    return issuer, private


def integration(api: Api, provider: OAuthServer, app: str, **credentials: Any) -> str:
    response = api.post(
        "/v1/integrations",
        json={
            "app": app,
            "auth_scheme": "JWT_BEARER",
            "credentials": credentials,
            "oauth": {"token_url": provider.token_url},
            "api": {"base_url": provider.api_url, "identity": IDENTITY},
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def connect(api: Api, integration_id: str, params: dict[str, str]) -> Any:
    return api.post(
        "/v1/connected_accounts",
        json={"integration_id": integration_id, "entity_id": "svc", "params": params},
    )


def assertions(provider: OAuthServer) -> list[dict[str, Any]]:
    return [r["assertion"] for r in provider.m2m_requests if "assertion" in r]


@pytest.mark.parametrize("subject", [None, "alice@example.com"])
def test_a_google_service_account_connects_proxies_and_mints_again_when_due(
    api: Api,
    provider: OAuthServer,
    tenant: Tenant,
    gateway: Gateway,
    published: Published,
    subject: str | None,
) -> None:
    # Given a Google JWT bearer integration with the scopes it asks for
    integration_id = integration(
        api, provider, "google", scopes=["https://www.googleapis.com/auth/drive.readonly"]
    )
    issuer, private = service_account(provider)
    key_file = json.dumps(
        {
            "type": "service_account",
            "client_email": issuer,
            "private_key": private,
            "private_key_id": "k1",
            "token_uri": "https://oauth2.googleapis.com/token",
        }
    )
    params = {"service_account_key": key_file, **({"subject": subject} if subject else {})}
    # When a connection is made with the key file
    response = connect(api, integration_id, params)
    # Then it is ACTIVE at once, with a token minted from an assertion Google would take
    assert response.status_code == 201, response.text
    account = response.json()
    assert account["status"] == "ACTIVE"
    assert private not in response.text and "k1" not in response.text
    [claims] = assertions(provider)
    assert claims["iss"] == issuer
    assert claims["aud"] == provider.token_url
    assert claims["scope"] == "https://www.googleapis.com/auth/drive.readonly"
    assert claims.get("sub") == subject
    assert claims["exp"] - claims["iat"] == 3600
    # And the proxy uses the token; it is reused while fresh
    answer = api.post(
        f"/v1/connected_accounts/{account['id']}/proxy", json={"method": "GET", "path": "/x"}
    )
    assert answer.status_code == 200, answer.text
    first = credentials(api, account["id"])["access_token"]
    assert len(assertions(provider)) == 1
    # And when due, a new assertion buys a new token, on read and in the scheduled run
    set_stored(tenant.id, account["id"], due_at=PAST)
    second = credentials(api, account["id"])["access_token"]
    assert second != first and len(assertions(provider)) == 2
    set_stored(tenant.id, account["id"], due_at=PAST)
    assert run_sweep(gateway)["TokensRefreshed"] == 1
    assert len(assertions(provider)) == 3
    # And the key is in no list response and no event
    listed = api.get("/v1/connected_accounts", params={"entity_id": "svc"}).text
    assert private not in listed and private not in str(published.about(account["id"]))


def test_the_salesforce_flavour_signs_as_the_consumer_for_the_user(
    api: Api, provider: OAuthServer
) -> None:
    provider.extra_audiences.append("https://login.salesforce.com")
    integration_id = integration(api, provider, "salesforce")
    issuer, private = service_account(provider)
    params = {
        "my_domain": "acme",
        "client_id": issuer,
        "username": "ops@acme.example",
        "private_key": private,
    }

    response = connect(api, integration_id, params)

    assert response.status_code == 201, response.text
    [claims] = assertions(provider)
    assert (claims["iss"], claims["sub"]) == (issuer, "ops@acme.example")
    assert claims["aud"] == "https://login.salesforce.com"
    assert claims["exp"] - claims["iat"] == 180
    assert "scope" not in claims


@pytest.mark.parametrize(
    ("key_file", "problem"),
    [
        ("not json", "not a service account key file"),
        (json.dumps({"type": "service_account", "client_email": "a@b"}), "no client_email or"),
        (
            json.dumps({"type": "service_account", "client_email": "a@b", "private_key": "x"}),
            "is not an RSA or EC private key",
        ),
    ],
)
def test_a_bad_key_file_is_a_4xx_naming_the_problem(
    api: Api, provider: OAuthServer, key_file: str, problem: str
) -> None:
    integration_id = integration(api, provider, "google")

    response = connect(api, integration_id, {"service_account_key": key_file})

    assert response.status_code == 422, response.text
    assert problem in response.json()["error"]["message"]
    assert assertions(provider) == []


def test_a_key_the_provider_does_not_know_is_refused(api: Api, provider: OAuthServer) -> None:
    integration_id = integration(api, provider, "google")
    private, _ = key_pair()
    key_file = json.dumps(
        {"type": "service_account", "client_email": "nobody@x", "private_key": private}
    )

    response = connect(api, integration_id, {"service_account_key": key_file})

    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "credentials_rejected"
