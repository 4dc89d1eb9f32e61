"""The OAuth 2.0 connection flow end to end, over real HTTP on loopback:

the local gateway runs the functions against a moto server, and a real Authlib
authorization server plays the provider. A "browser" follows the redirects.
"""

from __future__ import annotations

import hashlib
import io
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from devstack.oauth_provider import OAuthServer
from tests.conftest import Api
from tests.integration.flows import (
    Started,
    authorize,
    callback,
    connect,
    query_of,
    start,
    table,
)

# Each test starts with the provider forgetting every code, token and switch.
pytestmark = pytest.mark.usefixtures("provider")


# --- the happy path ----------------------------------------------------------------


def test_oauth_connection_flow_end_to_end_gives_the_providers_tokens(
    api: Api, other_api: Api, anonymous: Api, oauth_server: OAuthServer
) -> None:
    # Given the params the custom OAuth 2.0 app needs, and an integration built from them
    params = api.get("/v1/apps/oauth2/params", params={"auth_scheme": "OAUTH2"}).json()
    assert [f["name"] for f in params["integration_fields"]] == [
        "client_id",
        "client_secret",
        "scopes",
    ]
    # When the app initiates a connection for an entity
    started = start(api, oauth_server, entity_id="alice")
    # Then the account is pending and the URL is the provider's, with state and PKCE S256
    assert started.account["status"] == "INITIATED"
    query = query_of(started.authorization_url)
    assert started.authorization_url.startswith(oauth_server.authorization_url + "?")
    assert query["redirect_uri"] == f"{api.base_url}/v1/oauth/callback"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 43
    assert query["scope"] == "read offline_access"

    # When the user authorizes and the provider redirects back through the gateway
    response = callback(anonymous, authorize(started))

    # Then the browser goes back to the app with the outcome
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("https://app.example.com/connected?")
    back = query_of(location)
    assert back == {
        "session": "42",
        "connected_account_id": started.account["id"],
        "status": "ACTIVE",
    }
    # And the account is ACTIVE, and its credentials are exactly the provider's tokens
    account_id = started.account["id"]
    assert api.get(f"/v1/connected_accounts/{account_id}").json()["status"] == "ACTIVE"
    issued = oauth_server.issued_tokens[-1]
    credentials = api.get(f"/v1/connected_accounts/{account_id}/credentials").json()
    assert credentials["credentials"]["access_token"] == issued["access_token"]
    assert credentials["credentials"]["refresh_token"] == issued["refresh_token"]
    assert credentials["credentials"]["expires_at"]
    # And the code was exchanged once, with the PKCE verifier and our callback
    (exchange,) = oauth_server.token_requests
    assert exchange["grant_type"] == "authorization_code"
    assert exchange["form"]["redirect_uri"] == query["redirect_uri"]
    assert "code_verifier" in exchange["form"]
    # And the list shows it for its entity only, without secrets, and to its tenant only
    listed = api.get("/v1/connected_accounts", params={"entity_id": "alice"}).json()
    assert [a["id"] for a in listed["items"]] == [account_id]
    assert issued["access_token"] not in str(listed)
    other_entity = api.get("/v1/connected_accounts", params={"entity_id": "bob"}).json()
    assert account_id not in str(other_entity)
    assert other_api.get(f"/v1/connected_accounts/{account_id}").status_code == 404
    assert other_api.get(f"/v1/connected_accounts/{account_id}/credentials").status_code == 404
    assert account_id not in str(other_api.get("/v1/connected_accounts").json())


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_token_endpoint_client_authentication_methods_both_work(
    api: Api, anonymous: Api, oauth_server: OAuthServer, auth_method: str
) -> None:
    started = connect(api, anonymous, oauth_server, auth_method=auth_method)
    account = api.get(f"/v1/connected_accounts/{started.account['id']}").json()
    assert account["status"] == "ACTIVE"


def test_callback_without_redirect_url_shows_a_page(
    api: Api, anonymous: Api, oauth_server: OAuthServer
) -> None:
    started = start(api, oauth_server, redirect_url=None)
    response = callback(anonymous, authorize(started))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Account connected" in response.text
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_issuer_matching_the_integration_is_accepted(
    api: Api, anonymous: Api, oauth_server: OAuthServer
) -> None:
    started = connect(api, anonymous, oauth_server, issuer=oauth_server.issuer)
    account = api.get(f"/v1/connected_accounts/{started.account['id']}").json()
    assert account["status"] == "ACTIVE"


# --- state: bad, replayed, concurrent, expired -------------------------------------


def test_replayed_callback_changes_nothing_and_is_refused(
    api: Api, anonymous: Api, oauth_server: OAuthServer
) -> None:
    started = start(api, oauth_server)
    callback_url = authorize(started)
    assert callback(anonymous, callback_url).status_code == 302
    before = api.get(f"/v1/connected_accounts/{started.account['id']}").json()

    replay = callback(anonymous, callback_url)

    assert replay.status_code == 409
    assert replay.json()["error"]["code"] == "state_already_used"
    assert api.get(f"/v1/connected_accounts/{started.account['id']}").json() == before
    assert len(oauth_server.token_requests) == 1


def test_concurrent_callbacks_exchange_the_code_once(
    api: Api, anonymous: Api, oauth_server: OAuthServer
) -> None:
    started = start(api, oauth_server)
    callback_url = authorize(started)

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(
            pool.map(lambda _: callback(anonymous, callback_url).status_code, range(6))
        )

    assert statuses == [302, 409, 409, 409, 409, 409]
    assert len(oauth_server.token_requests) == 1


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("code=abc&state=not-a-state-we-issued", 400, "invalid_state"),
        ("code=abc", 400, "missing_state"),
        ("", 400, "missing_state"),
    ],
)
def test_callback_with_bad_state_is_refused(
    anonymous: Api, query: str, status: int, code: str
) -> None:
    response = anonymous.get(f"/v1/oauth/callback?{query}")
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_bad_state_in_a_browser_gets_an_html_page(anonymous: Api) -> None:
    response = anonymous.get(
        "/v1/oauth/callback?state=nope&code=x", headers={"Accept": "text/html"}
    )
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Unknown OAuth state" in response.text


def test_expired_state_is_refused_before_any_token_request(
    api: Api, anonymous: Api, oauth_server: OAuthServer
) -> None:
    # Given a pending state whose ten minutes are over, though DynamoDB's TTL has not run
    started = start(api, oauth_server)
    callback_url = authorize(started)
    client, name = table()
    state_hash = hashlib.sha256(started.state.encode()).hexdigest()
    client.update_item(
        TableName=name,
        Key={"pk": {"S": f"STATE#{state_hash}"}, "sk": {"S": "STATE"}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    # When the callback arrives
    response = callback(anonymous, callback_url)
    # Then it is refused, the code is never exchanged and the account is still pending
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "state_expired"
    assert oauth_server.token_requests == []
    account = api.get(f"/v1/connected_accounts/{started.account['id']}").json()
    assert account["status"] == "INITIATED"


def test_states_are_random_and_long(api: Api, oauth_server: OAuthServer) -> None:
    states = {start(api, oauth_server).state for _ in range(3)}
    assert len(states) == 3
    assert all(len(s) >= 43 for s in states)


# --- failures at the provider ------------------------------------------------------


def assert_failed(api: Api, anonymous: Api, started: Started, reason_part: str) -> None:
    response = callback(anonymous, authorize(started))
    assert response.status_code == 302
    assert query_of(response.headers["Location"])["status"] == "FAILED"
    account = api.get(f"/v1/connected_accounts/{started.account['id']}").json()
    assert account["status"] == "FAILED"
    assert reason_part in account["status_reason"]
    credentials = api.get(f"/v1/connected_accounts/{started.account['id']}/credentials")
    assert credentials.status_code == 409


def test_user_denying_access_fails_the_account(
    api: Api, anonymous: Api, oauth_server: OAuthServer
) -> None:
    started = start(api, oauth_server)
    oauth_server.deny_next_authorization = True
    assert_failed(api, anonymous, started, "access_denied")
    assert oauth_server.token_requests == []


def test_token_endpoint_500_fails_the_account(
    api: Api, anonymous: Api, oauth_server: OAuthServer
) -> None:
    started = start(api, oauth_server)
    oauth_server.token_endpoint_status = 500
    assert_failed(api, anonymous, started, "HTTP 500")


def test_token_endpoint_timeout_fails_the_account(
    api: Api, anonymous: Api, oauth_server: OAuthServer
) -> None:
    started = start(api, oauth_server)
    oauth_server.token_endpoint_delay = 4.0  # the tests' KEYFOB_HTTP_TIMEOUT is 1.5 s
    assert_failed(api, anonymous, started, "timed out")


def test_response_from_another_issuer_is_refused(
    api: Api, anonymous: Api, oauth_server: OAuthServer
) -> None:
    # Given an integration that expects its provider's issuer (RFC 9207)
    started = start(api, oauth_server, issuer=oauth_server.issuer)
    # When the authorization response names another issuer (a mix-up attack)
    oauth_server.iss_override = "https://attacker.example"
    # Then the code is never sent anywhere and the account fails
    assert_failed(api, anonymous, started, "another issuer")
    assert oauth_server.token_requests == []


# --- secrets stay secret -----------------------------------------------------------


def test_secrets_never_reach_the_logs(
    api: Api,
    anonymous: Api,
    oauth_server: OAuthServer,
    keyfob_logs: io.StringIO,
    capfd: pytest.CaptureFixture[str],
) -> None:
    started = start(api, oauth_server)
    callback_url = authorize(started)
    code = query_of(callback_url)["code"]
    callback(anonymous, callback_url)
    callback(anonymous, callback_url)  # a refused replay logs too
    api.get(f"/v1/connected_accounts/{started.account['id']}/credentials")

    out, err = capfd.readouterr()
    logs = keyfob_logs.getvalue() + out + err
    assert '"message":"connection activated"' in logs  # the logs were captured
    issued = oauth_server.issued_tokens[-1]
    for secret in (
        issued["access_token"],
        issued["refresh_token"],
        started.client_secret,
        code,
        started.state,
    ):
        assert secret not in logs


def _copy_secret(source: tuple[str, str], target: tuple[str, str]) -> None:
    client, name = table()
    item = client.get_item(
        TableName=name,
        Key={"pk": {"S": f"TENANT#{source[0]}"}, "sk": {"S": f"ACCOUNT#{source[1]}"}},
    )["Item"]
    client.update_item(
        TableName=name,
        Key={"pk": {"S": f"TENANT#{target[0]}"}, "sk": {"S": f"ACCOUNT#{target[1]}"}},
        UpdateExpression="SET secret = :s",
        ExpressionAttributeValues={":s": item["secret"]},
    )


def test_ciphertext_moved_to_another_record_does_not_decrypt(
    api: Api,
    other_api: Api,
    anonymous: Api,
    oauth_server: OAuthServer,
    tenant: Any,
    other_tenant: Any,
) -> None:
    # Given two ACTIVE accounts of one tenant and one of another tenant
    first = connect(api, anonymous, oauth_server).account["id"]
    second = connect(api, anonymous, oauth_server).account["id"]
    third = connect(other_api, anonymous, oauth_server).account["id"]
    first_token = api.get(f"/v1/connected_accounts/{first}/credentials").json()
    # When someone with table access copies the first account's ciphertext onto the others
    _copy_secret((tenant.id, first), (tenant.id, second))
    _copy_secret((tenant.id, first), (other_tenant.id, third))
    # Then neither decrypts, and no token leaks in the refusal
    for session, account_id in ((api, second), (other_api, third)):
        response = session.get(f"/v1/connected_accounts/{account_id}/credentials")
        assert response.status_code == 500
        assert response.json()["error"]["code"] == "secret_integrity_error"
        assert first_token["credentials"]["access_token"] not in response.text
