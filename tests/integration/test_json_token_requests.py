"""A provider that takes only JSON bodies at its token and revocation endpoints (Square,
Atlassian; Miro's and FreshBooks' revocation), end to end over loopback: connected
through the local gateway, refreshed by the scheduled run, proxied, and revoked, against
an Authlib authorization server that reads JSON and answers a form with a 400."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.gateway import Gateway
from devstack.oauth_json import JsonOAuthServer
from tests.conftest import Api, Tenant
from tests.integration.flows import (
    PAST,
    authorize,
    callback,
    connect,
    credentials,
    query_of,
    run_sweep,
    set_stored,
    start,
)

FORM = "application/x-www-form-urlencoded"


@pytest.fixture(scope="module")
def json_server() -> Iterator[JsonOAuthServer]:
    server = JsonOAuthServer().start()
    yield server
    server.stop()


@pytest.fixture
def provider(json_server: JsonOAuthServer) -> JsonOAuthServer:
    json_server.reset()
    return json_server


def settings(provider: JsonOAuthServer, as_json: bool = True) -> dict[str, Any]:
    """The integration's OAuth settings for the provider: the client's secret in the body
    (as Square and Atlassian take it), and the provider's own revocation call taking the
    client and the refresh token as one JSON object (FreshBooks')."""
    revocation = {
        "url": provider.revocation_url,
        "token": "refresh_token",
        "token_in": "json" if as_json else "form",
        "client_auth": "body",
    }
    return {
        "token_request_format": "json" if as_json else "form",
        "revocation_url": None,
        "revocation": revocation,
    }


def test_a_json_only_provider_is_connected_refreshed_proxied_and_revoked(
    api: Api, anonymous: Api, provider: JsonOAuthServer, tenant: Tenant, gateway: Gateway
) -> None:
    # Given an integration that sends the provider's token requests as JSON
    started = connect(
        api,
        anonymous,
        provider,
        auth_method="client_secret_post",
        oauth=settings(provider),
        api_settings={"base_url": provider.api_url},
    )
    account_id = started.account["id"]
    # Then the code was exchanged with one JSON object, the client's secret in it
    (exchange,) = provider.token_requests
    assert exchange["content_type"] == "application/json"
    assert exchange["grant_type"] == "authorization_code"
    assert exchange["form"]["client_secret"] == started.client_secret
    assert exchange["form"]["code_verifier"]
    first = credentials(api, account_id)
    assert first["access_token"] == provider.issued_tokens[-1]["access_token"]

    # When its token falls due and the scheduled run comes
    set_stored(tenant.id, account_id, due_at=PAST)
    counts = run_sweep(gateway)

    # Then it was refreshed with a JSON body, and the new tokens are the account's
    assert counts["TokensRefreshed"] >= 1, counts
    (refresh,) = provider.token_requests[1:]
    assert (refresh["content_type"], refresh["grant_type"]) == ("application/json", "refresh_token")
    assert refresh["form"]["refresh_token"] == first["refresh_token"]
    fresh = credentials(api, account_id)
    assert (
        fresh["access_token"] == provider.issued_tokens[-1]["access_token"] != first["access_token"]
    )

    # When the app calls the provider's API through the account
    response = api.post(
        f"/v1/connected_accounts/{account_id}/proxy", json={"method": "GET", "path": "/me"}
    )

    # Then the call carries the refreshed token
    assert response.status_code == 200, response.text
    assert response.json()["status"] == 200
    assert response.json()["body"]["login"] == "keyfob-tester"
    assert (
        provider.api_requests[-1]["headers"]["Authorization"] == f"Bearer {fresh['access_token']}"
    )

    # When the account is deleted
    response = api.delete(f"/v1/connected_accounts/{account_id}")

    # Then the grant was revoked at the provider with a JSON body, and ended there
    assert response.json()["revocation"] == {"status": "revoked", "message": None}
    assert provider.revocations == [fresh["refresh_token"]]
    assert provider.refused_forms == []
    assert provider.by_access[fresh["access_token"]].is_revoked()


def test_form_bodies_are_refused_by_the_json_only_provider(
    api: Api, anonymous: Api, provider: JsonOAuthServer
) -> None:
    # Given the same provider and an integration that keeps RFC 6749's form
    started = start(
        api, provider, auth_method="client_secret_post", oauth=settings(provider, as_json=False)
    )

    # When the user authorizes and comes back
    response = callback(anonymous, authorize(started))

    # Then the code exchange was refused, and the account failed without tokens
    assert query_of(response.headers["Location"])["status"] == "FAILED"
    account = api.get(f"/v1/connected_accounts/{started.account['id']}").json()
    assert account["status"] == "FAILED"
    assert "invalid_request" in account["status_reason"]
    assert provider.refused_forms == [("/token", FORM)]
    assert provider.token_requests == []
    assert provider.issued_tokens == []


def test_a_form_revocation_is_refused_and_reported_as_failed(
    api: Api, anonymous: Api, provider: JsonOAuthServer
) -> None:
    # Given an account connected with JSON token requests but a form revocation call
    oauth = {**settings(provider, as_json=False), "token_request_format": "json"}
    started = connect(api, anonymous, provider, auth_method="client_secret_post", oauth=oauth)

    # When it is deleted
    response = api.delete(f"/v1/connected_accounts/{started.account['id']}")

    # Then the provider refused the form, and the revocation says so
    assert response.json()["revocation"] == {
        "status": "failed",
        "message": "revocation endpoint returned HTTP 400",
    }
    assert provider.refused_forms == [("/revoke", FORM)]
    assert provider.revocations == []


def test_a_revocation_call_with_the_client_header_sends_squares_json(
    api: Api, anonymous: Api, provider: JsonOAuthServer
) -> None:
    # Given a provider revoking as Square does: the access token and the client id in a
    # JSON body, the client secret in `Authorization: Client <secret>` (its API here takes
    # that secret as a key, so that the call is answered only if it carries it)
    own_call = {
        "url": f"{provider.api_url}/oauth2/revoke",
        "token_in": "json",
        "token_param": "access_token",
        "client_auth": "client_header",
    }
    oauth = {"token_request_format": "json", "revocation_url": None, "revocation": own_call}
    started = connect(api, anonymous, provider, auth_method="client_secret_post", oauth=oauth)
    provider.register_api_key(started.client_secret)
    access_token = credentials(api, started.account["id"])["access_token"]
    client_id = provider.token_requests[0]["client_id"]

    # When the account is deleted
    response = api.delete(f"/v1/connected_accounts/{started.account['id']}")

    # Then the call went with Square's shape, and was answered
    assert response.json()["revocation"] == {"status": "revoked", "message": None}
    (call,) = provider.api_requests
    assert (call["method"], call["path"]) == ("POST", "/oauth2/revoke")
    assert call["headers"]["Authorization"] == f"Client {started.client_secret}"
    assert call["headers"]["Content-Type"] == "application/json"
    assert json.loads(call["body"]) == {"access_token": access_token, "client_id": client_id}


def test_a_token_request_format_that_cannot_apply_is_a_4xx_naming_it(
    api: Api, provider: JsonOAuthServer
) -> None:
    before = api.get("/v1/integrations").json()["items"]
    # A JSON body for a JWT bearer grant, whose token request is not Authlib's code flow
    response = api.post(
        "/v1/integrations",
        json={
            "app": "google",
            "auth_scheme": "JWT_BEARER",
            "oauth": {"token_url": provider.token_url, "token_request_format": "json"},
        },
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_oauth_settings"
    assert [i["field"] for i in error["details"]["invalid"]] == ["oauth.token_request_format"]
    # A format that is neither form nor json
    response = api.post(
        "/v1/integrations",
        json={
            "app": "oauth2",
            "auth_scheme": "OAUTH2",
            "credentials": {"client_id": "c", "client_secret": "s"},
            "oauth": {
                "authorization_url": provider.authorization_url,
                "token_url": provider.token_url,
                "token_request_format": "xml",
            },
        },
    )
    assert response.status_code == 422, response.text
    assert "token_request_format" in response.text
    # And nothing was written
    assert api.get("/v1/integrations").json()["items"] == before


def test_client_credentials_are_exchanged_as_json_too(api: Api, provider: JsonOAuthServer) -> None:
    # Given a machine client at the JSON-only provider, and an integration sending JSON
    client_id, secret = provider.register_client(
        redirect_uris=[],
        token_endpoint_auth_method="client_secret_post",
        grant_types=("client_credentials",),
    )
    created = api.post(
        "/v1/integrations",
        json={
            "app": "oauth2",
            "auth_scheme": "OAUTH2_CLIENT_CREDENTIALS",
            "credentials": {"scopes": ["read"]},
            "oauth": {
                "token_url": provider.token_url,
                "token_endpoint_auth_method": "client_secret_post",
                "token_request_format": "json",
            },
            "api": {"base_url": provider.api_url},
        },
    )
    assert created.status_code == 201, created.text

    # When a connection is made with the client's id and secret
    response = api.post(
        "/v1/connected_accounts",
        json={
            "integration_id": created.json()["id"],
            "entity_id": "robot-1",
            "params": {"client_id": client_id, "client_secret": secret},
        },
    )

    # Then the token was bought with one JSON object, and the account uses it
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "ACTIVE"
    (grant,) = provider.token_requests
    assert (grant["content_type"], grant["grant_type"]) == (
        "application/json",
        "client_credentials",
    )
    assert (grant["form"]["client_id"], grant["form"]["client_secret"]) == (client_id, secret)
    token = credentials(api, response.json()["id"])["access_token"]
    assert token == provider.issued_tokens[-1]["access_token"]
    assert provider.refused_forms == []
