"""OAuth 2.0 granted scopes and incremental authorization, and JWT client authentication
in the code flow (RFC 7523 2.2), over the local gateway against the loopback provider."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.oauth_provider import OAuthServer
from tests.conftest import Api
from tests.integration.bus import Published
from tests.integration.flows import (
    RETURN_URL,
    authorize,
    callback,
    connect,
    credentials,
    follow,
    query_of,
)
from tests.integration.test_client_credentials import key_pair

SCOPES = ["read", "offline_access"]  # the integration asks for these (flows.py)


def partially_granted(api: Api, anonymous: Api, provider: OAuthServer) -> dict[str, Any]:
    """An account whose user granted all but ``read``."""
    provider.withheld_scopes = {"read"}
    started = connect(
        api, anonymous, provider, oauth={"token_endpoint_auth_method": "client_secret_basic"}
    )
    return dict(api.get(f"/v1/connected_accounts/{started.account['id']}").json())


def test_a_partial_grant_stays_active_and_shows_what_is_missing(
    api: Api, anonymous: Api, provider: OAuthServer, published: Published
) -> None:
    # When the user grants fewer scopes than the integration asks for
    account = partially_granted(api, anonymous, provider)
    # Then the account is ACTIVE, with the granted and the missing scopes, in get and list
    assert account["status"] == "ACTIVE"
    assert account["granted_scopes"] == ["offline_access"]
    assert account["missing_scopes"] == ["read"]
    listed = api.get("/v1/connected_accounts", params={"entity_id": account["entity_id"]})
    [same] = [a for a in listed.json()["items"] if a["id"] == account["id"]]
    assert same["missing_scopes"] == ["read"]
    # And in the Activated event
    [activated] = [
        e
        for e in published.about(account["id"])
        if e["detail-type"] == "Keyfob.ConnectionActivated"
    ]
    assert activated["detail"]["granted_scopes"] == ["offline_access"]
    assert activated["detail"]["missing_scopes"] == ["read"]
    # And a refresh, whose answer names the same scopes, keeps them
    assert api.post(f"/v1/connected_accounts/{account['id']}/refresh").status_code == 200
    refreshed = api.get(f"/v1/connected_accounts/{account['id']}").json()
    assert (refreshed["granted_scopes"], refreshed["missing_scopes"]) == (
        ["offline_access"],
        ["read"],
    )


def test_a_full_grant_without_a_scope_in_the_answer_is_as_requested(
    api: Api, anonymous: Api, provider: OAuthServer
) -> None:
    started = connect(api, anonymous, provider)

    account = api.get(f"/v1/connected_accounts/{started.account['id']}").json()

    assert account["granted_scopes"] == SCOPES
    assert account["missing_scopes"] == []


def test_reinitiating_with_the_missing_scopes_asks_for_consent_again(
    api: Api, anonymous: Api, provider: OAuthServer, published: Published
) -> None:
    # Given an ACTIVE account missing a scope
    account = partially_granted(api, anonymous, provider)
    provider.withheld_scopes = set()
    # When it is reinitiated with the missing scopes
    response = api.post(
        f"/v1/connected_accounts/{account['id']}/reinitiate",
        json={"scopes": account["missing_scopes"], "redirect_url": RETURN_URL},
    )
    # Then the user is sent to authorize them, besides the integration's
    assert response.status_code == 200, response.text
    again = response.json()
    assert again["status"] == "INITIATED"
    asked = query_of(again["redirect_url"])["scope"].split()
    assert set(asked) == set(SCOPES)
    # And once the user consents, the account is ACTIVE with every scope granted
    done = callback(anonymous, follow(again["redirect_url"]))
    assert done.status_code == 302, done.text
    after = api.get(f"/v1/connected_accounts/{account['id']}").json()
    assert after["status"] == "ACTIVE"
    assert set(after["granted_scopes"]) == set(SCOPES)
    assert after["missing_scopes"] == []


def test_an_account_without_missing_scopes_cannot_be_reinitiated_without_scopes(
    api: Api, anonymous: Api, provider: OAuthServer
) -> None:
    started = connect(api, anonymous, provider)

    response = api.post(f"/v1/connected_accounts/{started.account['id']}/reinitiate", json={})

    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "not_reinitiable"


@pytest.mark.parametrize("method", ["private_key_jwt", "client_secret_jwt"])
def test_the_code_flow_authenticates_with_a_signed_assertion(
    api: Api, anonymous: Api, provider: OAuthServer, method: str
) -> None:
    # Given an integration whose client authenticates with a JWT (RFC 7523 2.2)
    private, public = key_pair() if method == "private_key_jwt" else ("", None)
    client_id, secret = provider.register_client(
        redirect_uris=[f"{api.base_url}/v1/oauth/callback"],
        token_endpoint_auth_method=method,
        public_key=public,
    )
    response = api.post(
        "/v1/integrations",
        json={
            "app": "oauth2",
            "auth_scheme": "OAUTH2",
            "credentials": {"client_id": client_id, "client_secret": private or secret},
            "oauth": {
                "authorization_url": provider.authorization_url,
                "token_url": provider.token_url,
                "revocation_url": provider.revocation_url,
                "token_endpoint_auth_method": method,
            },
        },
    )
    assert response.status_code == 201, response.text
    assert not private or private not in response.text
    started = api.post(
        "/v1/connected_accounts",
        json={"integration_id": response.json()["id"], "entity_id": "jwt-user"},
    ).json()
    # When the user authorizes
    from tests.integration.flows import Started

    done = callback(anonymous, authorize(Started(started, response.json()["id"], "")))
    # Then the code was exchanged with a client assertion, and the account is ACTIVE
    assert done.status_code in (200, 302), done.text
    account = api.get(f"/v1/connected_accounts/{started['id']}").json()
    assert account["status"] == "ACTIVE", account
    exchange = [r for r in provider.token_requests if r["grant_type"] == "authorization_code"]
    assert exchange[-1]["form"]["client_assertion_type"].endswith("jwt-bearer")
    assert "client_secret" not in exchange[-1]["form"]
    # And the refresh authenticates the same way
    assert api.post(f"/v1/connected_accounts/{started['id']}/refresh").status_code == 200
    assert credentials(api, started["id"])["access_token"]


def test_an_oauth2_integration_whose_private_key_is_no_key_is_a_4xx(
    api: Api, provider: OAuthServer
) -> None:
    response = api.post(
        "/v1/integrations",
        json={
            "app": "oauth2",
            "auth_scheme": "OAUTH2",
            "credentials": {"client_id": "c", "client_secret": "not a key"},
            "oauth": {
                "authorization_url": provider.authorization_url,
                "token_url": provider.token_url,
                "token_endpoint_auth_method": "private_key_jwt",
            },
        },
    )
    assert response.status_code == 422, response.text
    assert "private_key_jwt" in response.json()["error"]["message"]
