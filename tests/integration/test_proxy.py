"""The proxy over the local gateway, against the loopback provider's resource API as the
app: the credential applied the catalog's way, what travels and what does not, the
answer relayed, OAuth's one refresh on a 401, and the refusals (SSRF, paths, limits)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from devstack.oauth_provider import ApiReply, OAuthServer
from keyfob.core.config import settings
from tests.conftest import Api, Tenant
from tests.integration.flows import callback, connect, follow, set_stored


@pytest.fixture
def short_timeout(monkeypatch: pytest.MonkeyPatch) -> Iterator[float]:
    """The proxy's time limit, down to a second for this test."""
    monkeypatch.setenv("KEYFOB_PROXY_TIMEOUT", "1")
    settings.cache_clear()
    yield 1.0
    settings.cache_clear()


def keyed_account(
    api: Api, provider: OAuthServer, app: str = "mistral", base_url: str | None = None
) -> tuple[str, str]:
    """An ACTIVE API key account whose app is the provider's resource API: (id, key)."""
    key = provider.register_api_key()
    integration = api.post(
        "/v1/integrations",
        json={
            "app": app,
            "auth_scheme": "API_KEY",
            "api": {"base_url": base_url or provider.api_url},
        },
    )
    assert integration.status_code == 201, integration.text
    account = api.post(
        "/v1/connected_accounts?validate=false",
        json={
            "integration_id": integration.json()["id"],
            "entity_id": "proxied",
            "params": {"api_key": key},
        },
    )
    assert account.status_code == 201, account.text
    return account.json()["id"], key


def proxy(api: Api, account_id: str, **request: Any) -> Any:
    return api.post(f"/v1/connected_accounts/{account_id}/proxy", json=request)


def relayed(api: Api, account_id: str, **request: Any) -> dict[str, Any]:
    response = proxy(api, account_id, **request)
    assert response.status_code == 200, response.text
    return dict(response.json())


# --- the request and its answer ---------------------------------------------------


def test_a_request_goes_to_the_apps_api_with_the_key_and_its_answer_comes_back(
    api: Api, provider: OAuthServer
) -> None:
    # Given an API key account of an app whose API is the provider's
    account_id, key = keyed_account(api, provider)
    # When the app's backend proxies a POST through Keyfob
    answer = relayed(
        api,
        account_id,
        method="POST",
        path="/v1/chat/completions",
        query={"stream": "false", "tag": ["a", "b"]},
        headers={"X-Request-Id": "r-1", "Accept": "application/json"},
        body={"model": "small", "messages": [{"role": "user", "content": "hi"}]},
    )
    # Then the app saw it under its base URL, with the key where the catalog puts it
    (seen,) = provider.api_requests
    assert (seen["method"], seen["path"]) == ("POST", "/v1/chat/completions")
    assert seen["query"] == {"stream": ["false"], "tag": ["a", "b"]}
    assert seen["headers"]["Authorization"] == f"Bearer {key}"
    assert seen["headers"]["X-Request-Id"] == "r-1"
    assert seen["headers"]["Content-Type"] == "application/json"
    assert json.loads(seen["body"])["messages"][0]["content"] == "hi"
    # And its answer is relayed: status, headers and the parsed JSON
    assert answer["status"] == 200
    assert answer["body_encoding"] == "json"
    assert answer["body"]["path"] == "/v1/chat/completions"
    assert answer["headers"]["content-type"] == "application/json"


def test_a_string_body_is_sent_as_it_is(api: Api, provider: OAuthServer) -> None:
    account_id, _ = keyed_account(api, provider)
    relayed(
        api,
        account_id,
        method="PUT",
        path="/files/notes.txt",
        headers={"Content-Type": "text/markdown"},
        body="# Notes\n",
    )
    (seen,) = provider.api_requests
    assert seen["body"] == "# Notes\n"
    assert seen["headers"]["Content-Type"] == "text/markdown"


def test_caller_headers_that_must_not_travel_are_dropped(api: Api, provider: OAuthServer) -> None:
    account_id, key = keyed_account(api, provider)
    relayed(
        api,
        account_id,
        method="GET",
        path="/me",
        headers={
            "Authorization": "Bearer the-callers-own",
            "x-api-key": "kf_not_for_the_app",
            "Cookie": "session=1",
            "Host": "evil.example",
            "Proxy-Authorization": "Basic eA==",
            "X-Forwarded-For": "10.0.0.1",
            "Forwarded": "for=10.0.0.1",
            "Connection": "close",
            "Keep-Alive": "timeout=5",
            "Upgrade": "h2c",
            "X-Kept": "yes",
        },
    )
    (seen,) = provider.api_requests
    headers = {name.lower(): value for name, value in seen["headers"].items()}
    assert headers["authorization"] == f"Bearer {key}"
    assert headers["x-kept"] == "yes"
    assert urlsplit(provider.api_url).netloc == headers["host"]
    for dropped in (
        "x-api-key",
        "cookie",
        "proxy-authorization",
        "x-forwarded-for",
        "forwarded",
        "keep-alive",
        "upgrade",
    ):
        assert dropped not in headers, dropped
    assert "kf_not_for_the_app" not in json.dumps(seen)


def test_a_custom_credential_header_cannot_be_overridden_by_the_caller(
    api: Api, provider: OAuthServer
) -> None:
    # Anthropic takes its key in x-api-key, a header a caller might also send
    account_id, key = keyed_account(api, provider, app="anthropic")
    relayed(api, account_id, method="GET", path="/models", headers={"X-API-KEY": "other"})
    (seen,) = provider.api_requests
    assert [v for k, v in seen["headers"].items() if k.lower() == "x-api-key"] == [key]


def test_cookies_and_hop_by_hop_headers_of_the_answer_are_not_relayed(
    api: Api, provider: OAuthServer
) -> None:
    account_id, _ = keyed_account(api, provider)
    provider.api_reply = ApiReply(
        200,
        {"Set-Cookie": "upstream=1; HttpOnly", "X-RateLimit-Remaining": "41", "Keep-Alive": "x"},
        b"{}",
    )
    answer = relayed(api, account_id, method="GET", path="/limits")
    assert answer["headers"]["x-ratelimit-remaining"] == "41"
    assert "set-cookie" not in answer["headers"]
    assert "keep-alive" not in answer["headers"]


def test_a_redirect_is_relayed_never_followed(api: Api, provider: OAuthServer) -> None:
    account_id, _ = keyed_account(api, provider)
    metadata = "http://169.254.169.254/latest/meta-data/"
    provider.api_reply = ApiReply(302, {"Location": metadata}, b"")
    answer = relayed(api, account_id, method="GET", path="/moved")
    assert answer["status"] == 302
    assert answer["headers"]["location"] == metadata
    assert len(provider.api_requests) == 1


@pytest.mark.parametrize(
    ("content_type", "data", "encoding", "body"),
    [
        ("text/plain; charset=utf-8", "héllo".encode(), "text", "héllo"),
        ("text/csv; charset=iso-8859-1", "café".encode("latin-1"), "text", "café"),
        ("application/json", b"{not json", "text", "{not json"),
        ("application/json", b'{"n": NaN}', "text", '{"n": NaN}'),
        (
            "image/png",
            b"\x89PNG\r\n\x1a\n\x00",
            "base64",
            base64.b64encode(b"\x89PNG\r\n\x1a\n\x00").decode(),
        ),
        ("application/vnd.api+json", b'{"data": [1]}', "json", {"data": [1]}),
    ],
)
def test_bodies_come_back_as_json_text_or_base64(
    api: Api, provider: OAuthServer, content_type: str, data: bytes, encoding: str, body: Any
) -> None:
    account_id, _ = keyed_account(api, provider)
    provider.api_reply = ApiReply(200, {"Content-Type": content_type}, data)
    answer = relayed(api, account_id, method="GET", path="/thing")
    assert (answer["body_encoding"], answer["body"]) == (encoding, body)


def test_an_empty_answer_is_a_null_body(api: Api, provider: OAuthServer) -> None:
    account_id, _ = keyed_account(api, provider)
    provider.api_reply = ApiReply(204, {}, b"")
    answer = relayed(api, account_id, method="DELETE", path="/things/1")
    assert (answer["status"], answer["body"]) == (204, None)


def test_the_credential_echoed_by_the_app_is_redacted(api: Api, provider: OAuthServer) -> None:
    account_id, key = keyed_account(api, provider)
    echo = json.dumps({"error": f"key {key} lacks a scope"}).encode()
    provider.api_reply = ApiReply(403, {"Content-Type": "application/json", "X-Key": key}, echo)
    answer = relayed(api, account_id, method="GET", path="/admin")
    assert answer["status"] == 403
    assert answer["body"] == {"error": "key [REDACTED] lacks a scope"}
    assert answer["headers"]["x-key"] == "[REDACTED]"


def test_an_upstream_error_status_is_relayed_as_it_is(api: Api, provider: OAuthServer) -> None:
    account_id, _ = keyed_account(api, provider)
    provider.api_status = 503
    answer = relayed(api, account_id, method="GET", path="/busy")
    assert answer["status"] == 503
    assert len(provider.api_requests) == 1


# --- OAuth: the token refreshed when due, and once on a 401 ----------------------------


def oauth_account(api: Api, anonymous: Api, provider: OAuthServer) -> str:
    started = connect(api, anonymous, provider, api_settings={"base_url": provider.api_url})
    return str(started.account["id"])


def access_token(api: Api, account_id: str) -> str:
    response = api.get(f"/v1/connected_accounts/{account_id}/credentials")
    return str(response.json()["credentials"]["access_token"])


def refreshes(provider: OAuthServer) -> int:
    return sum(1 for r in provider.token_requests if r["grant_type"] == "refresh_token")


def test_an_oauth_request_carries_the_access_token(
    api: Api, anonymous: Api, provider: OAuthServer
) -> None:
    account_id = oauth_account(api, anonymous, provider)
    token = access_token(api, account_id)
    answer = relayed(api, account_id, method="GET", path="/user")
    assert answer["body"]["login"] == "keyfob-tester"
    assert provider.api_requests[-1]["headers"]["Authorization"] == f"Bearer {token}"
    assert refreshes(provider) == 0


def test_a_401_refreshes_the_token_once_and_retries_once(
    api: Api, anonymous: Api, provider: OAuthServer
) -> None:
    # Given an OAuth account whose access token the provider has revoked meanwhile
    account_id = oauth_account(api, anonymous, provider)
    old = access_token(api, account_id)
    provider.revoke_access_token(old)
    # When a request goes through the proxy
    answer = relayed(api, account_id, method="GET", path="/user")
    # Then the app's 401 made one refresh and one retry, which succeeded
    assert answer["status"] == 200
    assert refreshes(provider) == 1
    first, second = provider.api_requests
    new = access_token(api, account_id)
    assert new != old
    assert first["headers"]["Authorization"] == f"Bearer {old}"
    assert second["headers"]["Authorization"] == f"Bearer {new}"


def test_a_401_after_the_refresh_is_relayed_without_another_try(
    api: Api, anonymous: Api, provider: OAuthServer
) -> None:
    account_id = oauth_account(api, anonymous, provider)
    provider.api_status = 401  # the app refuses every token, fresh or not
    answer = relayed(api, account_id, method="POST", path="/things", body={"a": 1})
    assert answer["status"] == 401
    assert refreshes(provider) == 1
    assert len(provider.api_requests) == 2


def test_an_api_key_401_is_relayed_as_it_is(api: Api, provider: OAuthServer) -> None:
    account_id, _ = keyed_account(api, provider)
    provider.api_status = 401
    answer = relayed(api, account_id, method="GET", path="/me")
    assert answer["status"] == 401
    assert len(provider.api_requests) == 1
    assert provider.token_requests == []


def test_a_due_token_is_refreshed_before_the_request_and_not_again_on_a_401(
    api: Api, anonymous: Api, provider: OAuthServer, tenant: Tenant
) -> None:
    account_id = oauth_account(api, anonymous, provider)
    set_stored(tenant.id, account_id, due_at="2000-01-01T00:00:00.000000Z")
    provider.api_status = 401
    answer = relayed(api, account_id, method="GET", path="/user")
    assert answer["status"] == 401
    assert refreshes(provider) == 1
    assert len(provider.api_requests) == 1
    fresh = provider.issued_tokens[-1]["access_token"]
    assert provider.api_requests[0]["headers"]["Authorization"] == f"Bearer {fresh}"


def test_a_disabled_account_is_refused_and_nothing_is_sent(api: Api, provider: OAuthServer) -> None:
    account_id, _ = keyed_account(api, provider)
    assert api.post(f"/v1/connected_accounts/{account_id}/disable").status_code == 200
    response = proxy(api, account_id, method="GET", path="/me")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "account_disabled"
    assert provider.api_requests == []


def test_another_tenant_cannot_proxy_an_account(
    api: Api, other_api: Api, provider: OAuthServer
) -> None:
    account_id, _ = keyed_account(api, provider)
    response = proxy(other_api, account_id, method="GET", path="/me")
    assert response.status_code == 404
    assert provider.api_requests == []


def test_an_integration_without_an_api_base_url_cannot_proxy(
    api: Api, anonymous: Api, provider: OAuthServer
) -> None:
    account_id = str(connect(api, anonymous, provider).account["id"])
    response = proxy(api, account_id, method="GET", path="/user")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "no_api_base_url"


# --- refusals ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "user",
        "//evil.example/steal",
        "https://evil.example/steal",
        "/..",
        "/v1/../../admin",
        "/v1/%2e%2e/admin",
        "/v1/%2E%2E%2Fadmin",
        "/v1/.%2e/admin",
        "/v1/./x",
        "/v1/%252e%252e/admin",
        "/v1\\..\\admin",
        "/v1/%5c..%5cadmin",
        "/user@evil.example",
        "/me?admin=1",
        "/me#x",
        "/me%00",
        "/me%0d%0aX-Injected: 1",
        "/caf\u00e9",
        "/a b",
        "/bad%zz",
    ],
)
def test_a_path_that_could_leave_the_base_url_is_refused(
    api: Api, provider: OAuthServer, path: str
) -> None:
    account_id, _ = keyed_account(api, provider)
    response = proxy(api, account_id, method="GET", path=path)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_proxy_request"
    assert provider.api_requests == []


def test_encoded_characters_that_stay_in_their_segment_are_allowed(
    api: Api, provider: OAuthServer
) -> None:
    account_id, _ = keyed_account(api, provider)
    answer = relayed(api, account_id, method="GET", path="/projects/group%2Fproject/users/a%40b.c")
    assert answer["status"] == 200


@pytest.mark.parametrize(
    "headers", [{"Bad Name": "x"}, {"X-Split": "a\r\nInjected: 1"}, {"X-Utf8": "caf\u00e9"}]
)
def test_malformed_headers_are_refused(
    api: Api, provider: OAuthServer, headers: dict[str, str]
) -> None:
    account_id, _ = keyed_account(api, provider)
    response = proxy(api, account_id, method="GET", path="/me", headers=headers)
    assert response.status_code == 422
    assert provider.api_requests == []


def test_an_unknown_method_is_refused(api: Api, provider: OAuthServer) -> None:
    account_id, _ = keyed_account(api, provider)
    for method in ("CONNECT", "TRACE", "get"):
        assert proxy(api, account_id, method=method, path="/me").status_code == 422
    assert provider.api_requests == []


def test_a_host_resolving_to_loopback_is_refused_when_loopback_is_not_allowed(
    api: Api, provider: OAuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an app whose https base URL names a host that resolves to 127.0.0.1 (no
    # address literal: nothing in the URL gives it away)
    port = urlsplit(provider.api_url).port
    account_id, _ = keyed_account(api, provider, base_url=f"https://localhost:{port}/api")
    # When loopback is not allowed, as in production
    monkeypatch.setenv("KEYFOB_ALLOW_HTTP_LOOPBACK", "false")
    settings.cache_clear()
    try:
        response = proxy(api, account_id, method="GET", path="/me")
    finally:
        monkeypatch.undo()
        settings.cache_clear()
    # Then the connection is refused for the address it reached, before a byte is sent
    assert response.status_code == 403, response.text
    assert response.json()["error"] == {
        "code": "destination_not_allowed",
        "message": "The app's API host localhost resolves to an address Keyfob does not "
        "call (loopback, private, link-local or otherwise not public)",
        "details": {"host": "localhost"},
    }
    assert provider.api_requests == []


def test_an_app_that_answers_too_slowly_is_a_504(
    api: Api, provider: OAuthServer, short_timeout: float
) -> None:
    account_id, _ = keyed_account(api, provider)
    provider.api_delay = short_timeout + 1
    response = proxy(api, account_id, method="GET", path="/slow")
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "upstream_timeout"


def test_an_answer_over_the_size_limit_is_a_502(api: Api, provider: OAuthServer) -> None:
    account_id, _ = keyed_account(api, provider)
    provider.api_reply = ApiReply(200, {"Content-Type": "text/plain"}, b"x" * (5 * 1024 * 1024 + 1))
    response = proxy(api, account_id, method="GET", path="/huge")
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_response_too_large"


def test_a_binary_answer_too_large_once_encoded_is_a_502(api: Api, provider: OAuthServer) -> None:
    # Within the read limit, but base64 would take it over Lambda's response payload
    account_id, _ = keyed_account(api, provider)
    blob = bytes(range(256)) * (19 * 1024)
    provider.api_reply = ApiReply(200, {"Content-Type": "application/octet-stream"}, blob)
    response = proxy(api, account_id, method="GET", path="/blob")
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_response_too_large"


def test_a_request_body_over_the_limit_is_a_413(api: Api, provider: OAuthServer) -> None:
    account_id, _ = keyed_account(api, provider)
    response = proxy(api, account_id, method="POST", path="/up", body="x" * (5 * 1024 * 1024))
    assert response.status_code == 413
    assert provider.api_requests == []


def test_a_large_request_body_within_the_limit_goes_through(
    api: Api, provider: OAuthServer
) -> None:
    account_id, _ = keyed_account(api, provider)
    answer = relayed(api, account_id, method="POST", path="/up", body="y" * (1024 * 1024))
    assert answer["status"] == 200
    assert len(provider.api_requests[0]["body"]) == 1024 * 1024


def test_a_host_named_by_the_token_answer_is_where_the_proxy_goes(
    api: Api, anonymous: Api, oauth_server: OAuthServer
) -> None:
    # Given a catalog app whose API host comes from the token answer (Salesforce's
    # instance_url), its OAuth endpoints pointed at the loopback provider
    client_id, client_secret = oauth_server.register_client(
        redirect_uris=[f"{api.base_url}/v1/oauth/callback"],
        scope="api refresh_token",
        token_endpoint_auth_method="client_secret_post",
    )
    endpoints = ("authorization_url", "token_url", "revocation_url")
    created = api.post(
        "/v1/integrations",
        json={
            "app": "salesforce-sandbox",
            "auth_scheme": "OAUTH2",
            "credentials": {"client_id": client_id, "client_secret": client_secret},
            "oauth": {name: getattr(oauth_server, name) for name in endpoints},
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["api"]["base_url"] == "{instance_url}/services/data"
    oauth_server.token_extra = {"instance_url": f"{oauth_server.api_url}/org-7"}
    started = api.post(
        "/v1/connected_accounts",
        json={"integration_id": created.json()["id"], "entity_id": "user-1"},
    ).json()
    response = callback(anonymous, follow(started["redirect_url"]))
    assert "Account connected" in response.text
    # When the app proxies a request
    answer = proxy(api, started["id"], method="GET", path="/v62.0/sobjects")
    # Then it went to the instance the token answer named
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == 200
    assert oauth_server.api_requests[-1]["path"] == "/org-7/services/data/v62.0/sobjects"
