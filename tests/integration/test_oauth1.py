"""OAuth 1.0a connections over the local gateway, against a real OAuth 1.0a provider on
loopback (Authlib's server components): request token, authorization redirect, callback
with oauth_verifier, access token; then every proxied request signed, HMAC-SHA1 and
RSA-SHA1, checked by the provider's resource protector."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack.oauth1_provider import USER, OAuth1Server
from tests.conftest import Api
from tests.integration.bus import Published
from tests.integration.flows import RETURN_URL, callback, credentials, query_of
from tests.integration.test_client_credentials import key_pair


@pytest.fixture(scope="module")
def oauth1_server() -> Iterator[OAuth1Server]:
    server = OAuth1Server().start()
    yield server
    server.stop()


def integration(api: Api, server: OAuth1Server, method: str) -> tuple[str, str]:
    private, public = key_pair() if method == "RSA-SHA1" else ("", None)
    key, secret = server.register_consumer(rsa_public_key=public)
    response = api.post(
        "/v1/integrations",
        json={
            "app": "oauth1",
            "auth_scheme": "OAUTH1",
            "credentials": {"client_id": key, "client_secret": private or secret},
            "oauth1": {
                "request_token_url": server.request_token_url,
                "authorization_url": server.authorization_url,
                "access_token_url": server.access_token_url,
                "signature_method": method,
                "authorization_params": {"scope": "read,write", "expiration": "never"},
            },
            "api": {
                "base_url": server.api_url,
                "identity": {"path": "/me", "id_field": "id", "name_field": "login"},
            },
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"]), private or secret


def connect(api: Api, anonymous: Api, integration_id: str) -> dict[str, Any]:
    started = api.post(
        "/v1/connected_accounts",
        json={"integration_id": integration_id, "entity_id": "o1", "redirect_url": RETURN_URL},
    )
    assert started.status_code == 201, started.text
    account = started.json()
    assert account["status"] == "INITIATED"
    url = account["redirect_url"]
    # The authorization request carries the request token and the catalog's params
    assert {"oauth_token", "scope", "expiration"} <= set(query_of(url))
    at_provider = requests.get(url, allow_redirects=False, timeout=10)
    assert at_provider.status_code == 302, at_provider.text
    back = at_provider.headers["Location"]
    assert {"state", "oauth_token", "oauth_verifier"} <= set(query_of(back))
    done = callback(anonymous, back)
    assert done.status_code == 302, done.text
    assert "status=ACTIVE" in done.headers["Location"]
    return dict(account)


@pytest.mark.parametrize("method", ["HMAC-SHA1", "RSA-SHA1"])
def test_an_oauth1_connection_is_made_and_every_proxied_request_is_signed(
    api: Api, anonymous: Api, oauth1_server: OAuth1Server, published: Published, method: str
) -> None:
    # Given an OAuth 1.0a integration
    integration_id, consumer_secret = integration(api, oauth1_server, method)
    # When a user connects through request token, authorization and callback
    account = connect(api, anonymous, integration_id)
    # Then the account is ACTIVE, named by the signed identity call
    got = api.get(f"/v1/connected_accounts/{account['id']}").json()
    assert got["status"] == "ACTIVE"
    assert got["upstream_display_name"] == USER["login"]
    # And a proxied request reaches the API signed with the account's token
    answer = api.post(
        f"/v1/connected_accounts/{account['id']}/proxy",
        json={"method": "POST", "path": "/cards", "body": {"name": "x"}},
    )
    assert answer.status_code == 200, answer.text
    signed = oauth1_server.api_requests[-1]["headers"]["Authorization"]
    assert signed.startswith("OAuth ") and f'oauth_signature_method="{method}"' in signed
    # And the credentials hold what signing needs; no response or event shows them
    held = credentials(api, account["id"])
    assert held["signature_method"] == method
    token = held["oauth_token_secret"]
    for shown in (str(got), api.get("/v1/connected_accounts").text, str(published.events())):
        assert token not in shown and consumer_secret not in shown


def test_a_revoked_token_is_refused_by_the_signed_api(
    api: Api, anonymous: Api, oauth1_server: OAuth1Server
) -> None:
    integration_id, _ = integration(api, oauth1_server, "HMAC-SHA1")
    account = connect(api, anonymous, integration_id)
    oauth1_server.revoke(credentials(api, account["id"])["oauth_token"])

    answer = api.post(
        f"/v1/connected_accounts/{account['id']}/proxy", json={"method": "GET", "path": "/me"}
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == 401


def test_an_rsa_sha1_integration_without_a_private_key_is_a_4xx(
    api: Api, oauth1_server: OAuth1Server
) -> None:
    response = api.post(
        "/v1/integrations",
        json={
            "app": "oauth1",
            "auth_scheme": "OAUTH1",
            "credentials": {"client_id": "k", "client_secret": "not a key"},
            "oauth1": {
                "request_token_url": oauth1_server.request_token_url,
                "authorization_url": oauth1_server.authorization_url,
                "access_token_url": oauth1_server.access_token_url,
                "signature_method": "RSA-SHA1",
            },
        },
    )
    assert response.status_code == 422, response.text
    assert "RSA-SHA1" in response.json()["error"]["message"]


def test_an_oauth1_integration_without_its_endpoints_is_a_4xx(api: Api) -> None:
    response = api.post(
        "/v1/integrations",
        json={
            "app": "oauth1",
            "auth_scheme": "OAUTH1",
            "credentials": {"client_id": "k", "client_secret": "s"},
        },
    )
    assert response.status_code == 422, response.text
    assert "oauth1.request_token_url is required" in response.json()["error"]["message"]
