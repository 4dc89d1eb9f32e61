"""Self-test of the loopback OAuth 2.0 server, driven with plain ``requests`` like a client."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from devstack.oauth_provider import TEST_USER, OAuthServer

REDIRECT_URI = "http://127.0.0.1:9/callback"  # never fetched: tests read Location instead
TIMEOUT = 5


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: str
    method: str


@pytest.fixture(scope="module")
def server() -> Iterator[OAuthServer]:
    srv = OAuthServer().start()
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def _fresh_state(server: OAuthServer) -> None:
    server.reset()


def register(server: OAuthServer, method: str = "client_secret_basic") -> Client:
    client_id, secret = server.register_client(
        redirect_uris=[REDIRECT_URI], token_endpoint_auth_method=method
    )
    return Client(client_id, secret, method)


@pytest.fixture
def client(server: OAuthServer) -> Client:
    return register(server)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorize(
    server: OAuthServer, client_id: str, challenge: str | None, **overrides: str
) -> requests.Response:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "read offline_access",
        "state": "state-123",
    }
    if challenge:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    params |= overrides
    return requests.get(
        server.authorization_url, params=params, allow_redirects=False, timeout=TIMEOUT
    )


def redirect_params(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.split("?")[0] == REDIRECT_URI
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def post_token(server: OAuthServer, client: Client, **form: str) -> requests.Response:
    return _post(server.token_url, client, form)


def revoke(server: OAuthServer, client: Client, token: str, hint: str) -> requests.Response:
    return _post(server.revocation_url, client, {"token": token, "token_type_hint": hint})


def _post(url: str, client: Client, form: dict[str, str]) -> requests.Response:
    auth = None
    if client.method == "client_secret_basic":
        auth = (client.client_id, client.secret)
    elif client.method == "client_secret_post":
        form = {**form, "client_id": client.client_id, "client_secret": client.secret}
    else:
        form = {**form, "client_id": client.client_id}
    return requests.post(url, data=form, auth=auth, timeout=TIMEOUT)


def exchange(
    server: OAuthServer, client: Client, code: str, verifier: str | None
) -> requests.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    if verifier is not None:
        form["code_verifier"] = verifier
    return post_token(server, client, **form)


def obtain_tokens(server: OAuthServer, client: Client) -> dict[str, Any]:
    verifier, challenge = pkce_pair()
    code = redirect_params(authorize(server, client.client_id, challenge))["code"]
    response = exchange(server, client, code, verifier)
    assert response.status_code == 200, response.text
    return response.json()


def obtain_refused(server: OAuthServer, client: Client) -> requests.Response:
    verifier, challenge = pkce_pair()
    code = redirect_params(authorize(server, client.client_id, challenge))["code"]
    response = exchange(server, client, code, verifier)
    assert response.status_code in (400, 401)
    return response


def refresh(server: OAuthServer, client: Client, refresh_token: str) -> requests.Response:
    return post_token(server, client, grant_type="refresh_token", refresh_token=refresh_token)


def userinfo(server: OAuthServer, access_token: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {access_token}"}
    return requests.get(server.userinfo_url, headers=headers, timeout=TIMEOUT)


def test_auth_code_with_pkce_s256_issues_opaque_tokens_that_userinfo_accepts(
    server: OAuthServer, client: Client
) -> None:
    verifier, challenge = pkce_pair()
    params = redirect_params(authorize(server, client.client_id, challenge))
    assert params["state"] == "state-123"
    assert params["iss"] == server.issuer == server.base_url
    assert server.authorization_requests[-1]["code_challenge"] == challenge

    response = exchange(server, client, params["code"], verifier)

    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    tokens = response.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    assert tokens["scope"] == "read offline_access"
    assert tokens["refresh_token"]
    access_token = tokens["access_token"]
    assert len(access_token) >= 43 and "." not in access_token  # >= 32 random bytes, no JWT
    assert server.issued_tokens == [tokens]
    assert server.token_requests == [
        {
            "path": "/token",
            "grant_type": "authorization_code",
            "client_id": client.client_id,
            "form": {
                "grant_type": "authorization_code",
                "code": params["code"],
                "redirect_uri": REDIRECT_URI,
                "code_verifier": verifier,
            },
            "content_type": "application/x-www-form-urlencoded",
        }
    ]
    me = userinfo(server, access_token)
    assert me.status_code == 200
    assert me.json() == TEST_USER


@pytest.mark.parametrize("verifier", ["wrong", "missing"])
def test_wrong_or_missing_code_verifier_is_refused_with_invalid_grant(
    server: OAuthServer, client: Client, verifier: str
) -> None:
    _, challenge = pkce_pair()
    code = redirect_params(authorize(server, client.client_id, challenge))["code"]
    sent = pkce_pair()[0] if verifier == "wrong" else None

    response = exchange(server, client, code, sent)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_plain_pkce_method_is_refused_at_authorization(server: OAuthServer, client: Client) -> None:
    verifier, _ = pkce_pair()
    response = authorize(
        server, client.client_id, None, code_challenge=verifier, code_challenge_method="plain"
    )

    params = redirect_params(response)
    assert params["error"] == "invalid_request"
    assert params["state"] == "state-123"


def test_public_client_must_use_pkce_and_authenticates_by_client_id_alone(
    server: OAuthServer,
) -> None:
    public = register(server, "none")
    assert public.secret == ""

    refused = redirect_params(authorize(server, public.client_id, None))
    assert refused["error"] == "invalid_request"

    tokens = obtain_tokens(server, public)
    assert refresh(server, public, tokens["refresh_token"]).status_code == 200


def test_authorization_code_is_single_use_and_replay_revokes_its_tokens(
    server: OAuthServer, client: Client
) -> None:
    verifier, challenge = pkce_pair()
    code = redirect_params(authorize(server, client.client_id, challenge))["code"]
    tokens = exchange(server, client, code, verifier).json()

    replay = exchange(server, client, code, verifier)

    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert userinfo(server, tokens["access_token"]).status_code == 401
    assert refresh(server, client, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_authorization_code_is_bound_to_redirect_uri_and_client(
    server: OAuthServer, client: Client
) -> None:
    verifier, challenge = pkce_pair()
    code = redirect_params(authorize(server, client.client_id, challenge))["code"]
    other = register(server)
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}

    wrong_uri = post_token(server, client, **form, redirect_uri=REDIRECT_URI + "/other")
    wrong_client = post_token(server, other, **form, redirect_uri=REDIRECT_URI)

    assert wrong_uri.json()["error"] == "invalid_grant"
    assert wrong_client.json()["error"] == "invalid_grant"
    assert exchange(server, client, code, verifier).status_code == 200


@pytest.mark.parametrize(
    ("override", "error"),
    [
        ({"client_id": "no-such-client"}, "invalid_client"),
        ({"redirect_uri": "http://127.0.0.1:9/elsewhere"}, "invalid_request"),
        ({"redirect_uri": ""}, "invalid_request"),
    ],
    ids=["unknown-client", "unregistered-redirect-uri", "missing-redirect-uri"],
)
def test_bad_client_or_redirect_uri_answers_400_without_redirect(
    server: OAuthServer, client: Client, override: dict[str, str], error: str
) -> None:
    _, challenge = pkce_pair()
    params = {"client_id": client.client_id, **override}

    response = authorize(server, params.pop("client_id"), challenge, **params)

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.json()["error"] == error


def test_refresh_rotates_and_old_refresh_token_is_refused(
    server: OAuthServer, client: Client
) -> None:
    first = obtain_tokens(server, client)

    response = refresh(server, client, first["refresh_token"])

    assert response.status_code == 200, response.text
    second = response.json()
    assert second["refresh_token"] not in (None, first["refresh_token"])
    assert second["access_token"] != first["access_token"]
    assert userinfo(server, second["access_token"]).status_code == 200
    reused = refresh(server, client, first["refresh_token"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    assert refresh(server, client, second["refresh_token"]).status_code == 200


def test_refresh_without_rotation_keeps_the_refresh_token_valid(
    server: OAuthServer, client: Client
) -> None:
    server.rotate_refresh_tokens = False
    tokens = obtain_tokens(server, client)

    for _ in range(2):
        response = refresh(server, client, tokens["refresh_token"])
        assert response.status_code == 200
        assert "refresh_token" not in response.json()


def test_omit_refresh_token_mode_leaves_it_out_of_refresh_responses(
    server: OAuthServer, client: Client
) -> None:
    server.omit_refresh_token = True
    tokens = obtain_tokens(server, client)
    assert tokens["refresh_token"]  # only refresh grant responses are affected

    response = refresh(server, client, tokens["refresh_token"])

    assert response.status_code == 200
    assert "refresh_token" not in response.json()
    assert refresh(server, client, tokens["refresh_token"]).status_code == 200


def test_omit_expires_in_mode_leaves_it_out_and_tokens_do_not_expire(
    server: OAuthServer, client: Client
) -> None:
    server.omit_expires_in = True

    tokens = obtain_tokens(server, client)
    refreshed = refresh(server, client, tokens["refresh_token"]).json()

    assert "expires_in" not in tokens
    assert "expires_in" not in refreshed
    assert userinfo(server, refreshed["access_token"]).status_code == 200


def test_expires_in_is_configurable_and_expired_access_token_gets_401(
    server: OAuthServer, client: Client
) -> None:
    server.expires_in = 1
    tokens = obtain_tokens(server, client)
    assert tokens["expires_in"] == 1
    assert userinfo(server, tokens["access_token"]).status_code == 200

    time.sleep(1.1)

    expired = userinfo(server, tokens["access_token"])
    assert expired.status_code == 401
    assert expired.json()["error"] == "invalid_token"


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_client_authenticates_with_its_registered_method_only(
    server: OAuthServer, method: str
) -> None:
    registered = register(server, method)
    tokens = obtain_tokens(server, registered)
    assert refresh(server, registered, tokens["refresh_token"]).status_code == 200

    other = "client_secret_post" if method == "client_secret_basic" else "client_secret_basic"
    impostor = Client(registered.client_id, registered.secret, other)
    wrong_method = obtain_refused(server, impostor)
    wrong_secret = refresh(server, Client(registered.client_id, "nope", method), "x")

    assert wrong_method.json()["error"] == "invalid_client"
    assert wrong_secret.json()["error"] == "invalid_client"


def test_revoking_access_token_makes_userinfo_401(server: OAuthServer, client: Client) -> None:
    tokens = obtain_tokens(server, client)

    response = revoke(server, client, tokens["access_token"], "access_token")

    assert response.status_code == 200
    assert server.revocations == [tokens["access_token"]]
    assert userinfo(server, tokens["access_token"]).status_code == 401
    assert refresh(server, client, tokens["refresh_token"]).status_code == 200


def test_revoking_refresh_token_ends_the_whole_grant(server: OAuthServer, client: Client) -> None:
    tokens = obtain_tokens(server, client)

    # A wrong hint must not matter (RFC 7009 2.1).
    response = revoke(server, client, tokens["refresh_token"], "access_token")

    assert response.status_code == 200
    assert server.revocations == [tokens["refresh_token"]]
    assert refresh(server, client, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert userinfo(server, tokens["access_token"]).status_code == 401


def test_revoking_unknown_token_answers_200_and_records_nothing(
    server: OAuthServer, client: Client
) -> None:
    response = revoke(server, client, "no-such-token", "refresh_token")

    assert response.status_code == 200
    assert server.revocations == []


def test_deny_next_authorization_redirects_with_access_denied_and_state_once(
    server: OAuthServer, client: Client
) -> None:
    _, challenge = pkce_pair()
    server.deny_next_authorization = True

    denied = redirect_params(authorize(server, client.client_id, challenge))

    assert denied["error"] == "access_denied"
    assert denied["error_description"]
    assert denied["state"] == "state-123"
    assert denied["iss"] == server.issuer
    assert "code" not in denied
    assert "code" in redirect_params(authorize(server, client.client_id, challenge))


def test_iss_can_be_left_out_or_overridden(server: OAuthServer, client: Client) -> None:
    _, challenge = pkce_pair()

    server.iss_override = "https://attacker.example"
    assert redirect_params(authorize(server, client.client_id, challenge))["iss"] == (
        "https://attacker.example"
    )
    server.include_iss = False
    assert "iss" not in redirect_params(authorize(server, client.client_id, challenge))


def test_token_endpoint_status_500_answers_json_error(server: OAuthServer, client: Client) -> None:
    server.token_endpoint_status = 500

    response = refresh(server, client, "anything")

    assert response.status_code == 500
    assert response.json()["error"] == "server_error"
    assert len(server.token_requests) == 1


def test_token_endpoint_delay_lets_client_time_out(server: OAuthServer, client: Client) -> None:
    server.token_endpoint_delay = 0.5
    form = {"grant_type": "refresh_token", "refresh_token": "anything"}

    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(
            server.token_url, data=form, auth=(client.client_id, client.secret), timeout=0.1
        )


def test_token_requests_are_counted_exactly_under_20_concurrent_threads(
    server: OAuthServer, client: Client
) -> None:
    barrier = threading.Barrier(20)

    def send(i: int) -> int:
        barrier.wait()
        return refresh(server, client, f"bogus-{i}").status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(send, range(20)))

    assert statuses == [400] * 20
    assert len(server.token_requests) == 20
    sent = {entry["form"]["refresh_token"] for entry in server.token_requests}
    assert sent == {f"bogus-{i}" for i in range(20)}
    assert {entry["client_id"] for entry in server.token_requests} == {client.client_id}


def test_concurrent_refreshes_with_one_rotating_token_have_exactly_one_winner(
    server: OAuthServer, client: Client
) -> None:
    refresh_token = obtain_tokens(server, client)["refresh_token"]
    barrier = threading.Barrier(10)

    def send(_: int) -> int:
        barrier.wait()
        return refresh(server, client, refresh_token).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = sorted(pool.map(send, range(10)))

    assert statuses == [200] + [400] * 9


def test_reset_forgets_tokens_and_switches_but_keeps_clients(
    server: OAuthServer, client: Client
) -> None:
    tokens = obtain_tokens(server, client)
    server.token_endpoint_status = 503
    server.expires_in = 5

    server.reset()

    assert server.token_endpoint_status is None
    assert server.expires_in == 3600
    assert server.token_requests == server.issued_tokens == server.authorization_requests == []
    assert userinfo(server, tokens["access_token"]).status_code == 401
    assert obtain_tokens(server, client)["access_token"]
