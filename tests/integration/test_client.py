"""keyfob_client against the real local stack: the gateway running the functions on a
moto server, and a real OAuth 2.0 provider on loopback. Every route: the core, the
lifecycle (refresh, disable and enable, reinitiate, confirm, delete with revocation),
the proxy and connect links."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from devstack.gateway import Gateway
from devstack.oauth_provider import ApiReply, OAuthServer
from keyfob_client import (
    AuthError,
    AuthScheme,
    Client,
    ConfirmationRequiredError,
    ConflictError,
    ConnectionFailedError,
    NotFoundError,
    ServerError,
    Status,
    ValidationError,
    WaitTimeoutError,
)
from tests.conftest import Tenant
from tests.integration.client_flows import (
    APP_RETURN_URL,
    approve,
    approve_soon,
    oauth_integration,
)


@pytest.fixture
def client(gateway: Gateway, tenant: Tenant) -> Client:
    return Client(gateway.url, tenant.api_key, timeout=30)


def test_given_the_catalog_then_apps_and_their_params_come_back_typed(client: Client) -> None:
    apps = client.list_apps(AuthScheme.API_KEY)
    params = client.get_app_params("stripe", AuthScheme.API_KEY)
    github = client.get_app("github")

    assert "stripe" in {app.slug for app in apps}
    assert all(AuthScheme.API_KEY in {s.type for s in app.auth_schemes} for app in apps)
    assert [f.name for f in params.connection_fields] == ["api_key"]
    assert params.connection_fields[0].secret
    assert github.api_base_url == "https://api.github.com"
    with pytest.raises(NotFoundError) as caught:
        client.get_app("no-such-app")
    assert caught.value.code == "app_not_found"


def test_integrations_are_created_listed_read_and_deleted(client: Client) -> None:
    created = client.create_integration("openai", "API_KEY", name="Agents' OpenAI")

    assert client.get_integration(created.id) == created
    assert created.id in {i.id for i in client.list_integrations(page_size=1)}
    client.delete_integration(created.id)
    with pytest.raises(NotFoundError) as caught:
        client.get_integration(created.id)
    assert (caught.value.status, caught.value.code) == (404, "integration_not_found")


def test_an_api_key_connection_is_active_at_once_and_gives_its_key(client: Client) -> None:
    # Given an integration for an API key app
    integration = client.create_integration("openai", "API_KEY")
    # When the end user's key is submitted
    account = client.initiate_connection(
        integration.id, "client-carol", params={"api_key": "sk-client-carol"}, labels={"t": "1"}
    )
    # Then it is ACTIVE, waiting returns at once, and only the credentials hold the key
    assert (account.status, account.redirect_url, account.labels) == (
        Status.ACTIVE,
        None,
        {"t": "1"},
    )
    assert client.wait_for_connection(account.id, timeout=1).id == account.id
    credentials = client.get_credentials(account.id)
    assert credentials.credentials == {"api_key": "sk-client-carol"}
    assert "sk-client-carol" not in repr(credentials) + repr(client.get_account(account.id))
    # And the integration cannot be deleted while the account exists
    with pytest.raises(ConflictError) as caught:
        client.delete_integration(integration.id)
    assert caught.value.code == "integration_in_use"
    assert caught.value.details["account_count"] == 1


def test_given_an_oauth_connection_when_the_user_approves_then_wait_returns_it_active(
    client: Client, provider: OAuthServer
) -> None:
    # Given a connection initiated for an entity
    integration_id = oauth_integration(client, provider)
    account = client.initiate_connection(
        integration_id, "client-alice", redirect_url=APP_RETURN_URL
    )
    assert account.status == Status.INITIATED
    assert account.redirect_url is not None
    # When the user approves while the application waits
    browser = approve_soon(account.redirect_url)
    active = client.wait_for_connection(account.id, timeout=20, poll_interval=0.1)
    browser.join()
    # Then the account is ACTIVE and its credentials are the provider's tokens
    assert active.status == Status.ACTIVE
    assert active.token_expires_at
    tokens = client.get_credentials(account.id).credentials
    assert tokens["access_token"] == provider.issued_tokens[-1]["access_token"]


def test_given_the_user_denies_access_then_wait_raises_with_the_failed_account(
    client: Client, provider: OAuthServer
) -> None:
    integration_id = oauth_integration(client, provider)
    account = client.initiate_connection(integration_id, "client-dan", redirect_url=APP_RETURN_URL)
    provider.deny_next_authorization = True
    assert account.redirect_url is not None
    assert approve(account.redirect_url)["status"] == ["FAILED"]

    with pytest.raises(ConnectionFailedError) as caught:
        client.wait_for_connection(account.id, timeout=5, poll_interval=0.1)

    assert caught.value.account.status == Status.FAILED
    assert "access_denied" in (caught.value.account.status_reason or "")
    with pytest.raises(ConflictError) as not_active:
        client.get_credentials(account.id)
    assert not_active.value.code == "account_not_active"


def test_given_the_user_never_approves_then_wait_times_out(
    client: Client, provider: OAuthServer
) -> None:
    account = client.initiate_connection(oauth_integration(client, provider), "client-erin")

    with pytest.raises(WaitTimeoutError) as caught:
        client.wait_for_connection(account.id, timeout=0.5, poll_interval=0.2)

    assert caught.value.account.status == Status.INITIATED


def test_listing_follows_the_cursor_across_pages_newest_first(client: Client) -> None:
    integration = client.create_integration("openai", "API_KEY")
    ids = [
        client.initiate_connection(integration.id, "client-pager", params={"api_key": f"sk-{i}"}).id
        for i in range(5)
    ]

    listed = [a.id for a in client.list_accounts(entity_id="client-pager", page_size=2)]
    first_page = client.list_accounts_page(entity_id="client-pager", limit=2)

    assert listed == list(reversed(ids))
    assert [a.id for a in first_page.items] == list(reversed(ids))[:2]
    assert first_page.next_cursor
    filtered = client.list_accounts(integration_id=integration.id, status=Status.ACTIVE)
    assert sorted(a.id for a in filtered) == sorted(ids)


def test_invalid_params_are_a_validation_error_naming_them(client: Client) -> None:
    integration = client.create_integration("mailchimp", "API_KEY")

    with pytest.raises(ValidationError) as caught:
        client.initiate_connection(integration.id, "client-frank", params={"colour": "blue"})

    assert caught.value.status == 422
    assert caught.value.details["missing"] == ["api_key", "dc"]
    assert caught.value.details["unknown"] == ["colour"]


def test_given_another_tenants_key_then_its_accounts_are_not_found(
    client: Client, gateway: Gateway, other_tenant: Tenant
) -> None:
    integration = client.create_integration("openai", "API_KEY")
    account = client.initiate_connection(integration.id, "client-grace", params={"api_key": "k"})
    other = Client(gateway.url, other_tenant.api_key)

    with pytest.raises(NotFoundError):
        other.get_account(account.id)
    assert account.id not in {a.id for a in other.list_accounts(entity_id="client-grace")}


def test_given_a_refused_api_key_then_it_is_an_auth_error(gateway: Gateway) -> None:
    with pytest.raises(AuthError) as caught:
        Client(gateway.url, "kf_not_a_key_we_issued").list_apps()

    assert (caught.value.status, caught.value.code) == (403, "forbidden")


# --- after the core: lifecycle, proxy, connect links -----------------------------------


def connected(client: Client, provider: OAuthServer, entity_id: str) -> str:
    """An ACTIVE OAuth account of the loopback provider, approved by its user."""
    integration_id = oauth_integration(client, provider)
    started = client.initiate_connection(integration_id, entity_id, redirect_url=APP_RETURN_URL)
    assert started.redirect_url is not None
    assert approve(started.redirect_url)["status"] == ["ACTIVE"]
    return started.id


def keyed(client: Client, provider: OAuthServer, entity_id: str) -> str:
    """An ACTIVE API key account of an app whose API is the provider's."""
    integration = client.create_integration(
        "mistral", "API_KEY", api={"base_url": provider.api_url}
    )
    key = provider.register_api_key()
    return client.initiate_connection(integration.id, entity_id, params={"api_key": key}).id


# --- lifecycle ---------------------------------------------------------------------


def test_refresh_gives_the_account_a_new_token(client: Client, provider: OAuthServer) -> None:
    account_id = connected(client, provider, "client-refresh")
    before = client.get_credentials(account_id).credentials["access_token"]

    refreshed = client.refresh_account(account_id)

    assert refreshed.status == Status.ACTIVE
    assert refreshed.last_refreshed_at
    after = client.get_credentials(account_id).credentials["access_token"]
    assert after != before
    assert after == provider.issued_tokens[-1]["access_token"]


def test_a_disabled_account_is_refused_until_enabled(client: Client, provider: OAuthServer) -> None:
    account_id = connected(client, provider, "client-disable")

    assert client.disable_account(account_id).status == Status.INACTIVE
    with pytest.raises(ConflictError) as refused:
        client.get_credentials(account_id)
    assert refused.value.code == "account_disabled"
    with pytest.raises(ConnectionFailedError):
        client.wait_for_connection(account_id, timeout=1)

    assert client.enable_account(account_id).status == Status.ACTIVE
    assert client.get_credentials(account_id).credentials["access_token"]


def test_a_failed_account_is_reinitiated_under_the_same_id(
    client: Client, provider: OAuthServer
) -> None:
    integration_id = oauth_integration(client, provider)
    started = client.initiate_connection(
        integration_id, "client-again", redirect_url=APP_RETURN_URL
    )
    provider.deny_next_authorization = True
    assert started.redirect_url is not None
    approve(started.redirect_url)
    assert client.get_account(started.id).status == Status.FAILED

    again = client.reinitiate_account(started.id)

    assert (again.id, again.status) == (started.id, Status.INITIATED)
    assert again.redirect_url is not None
    assert approve(again.redirect_url)["status"] == ["ACTIVE"]
    assert client.wait_for_connection(started.id, timeout=5).id == started.id


def test_a_session_bound_connection_is_confirmed_for_its_entity(
    client: Client, provider: OAuthServer
) -> None:
    integration_id = oauth_integration(client, provider, require_confirmation=True)
    assert client.get_integration(integration_id).require_confirmation
    started = client.initiate_connection(integration_id, "client-bob", redirect_url=APP_RETURN_URL)
    assert started.redirect_url is not None
    code = approve(started.redirect_url)["confirmation_code"][0]

    with pytest.raises(ConfirmationRequiredError):
        client.wait_for_connection(started.id, timeout=1)
    confirmed = client.confirm_account(started.id, code=code, entity_id="client-bob")

    assert confirmed.status == Status.ACTIVE


def test_a_confirmation_for_another_entity_fails_the_account(
    client: Client, provider: OAuthServer
) -> None:
    integration_id = oauth_integration(client, provider, require_confirmation=True)
    started = client.initiate_connection(integration_id, "client-eve", redirect_url=APP_RETURN_URL)
    assert started.redirect_url is not None
    code = approve(started.redirect_url)["confirmation_code"][0]

    with pytest.raises(AuthError) as refused:
        client.confirm_account(started.id, code=code, entity_id="client-mallory")

    assert (refused.value.status, refused.value.code) == (403, "entity_mismatch")
    assert client.get_account(started.id).status == Status.FAILED


def test_delete_revokes_the_grant_at_the_provider(client: Client, provider: OAuthServer) -> None:
    account_id = connected(client, provider, "client-delete")
    refresh_token = client.get_credentials(account_id).credentials["refresh_token"]

    deleted = client.delete_account(account_id)

    assert deleted.deleted
    assert deleted.revocation is not None
    assert deleted.revocation.status == "revoked"
    assert provider.revocations == [refresh_token]


def test_delete_without_revoking_leaves_the_grant(client: Client, provider: OAuthServer) -> None:
    account_id = connected(client, provider, "client-keep")

    deleted = client.delete_account(account_id, revoke=False)

    assert deleted.revocation is not None
    assert deleted.revocation.status == "skipped"
    assert provider.revocations == []


def test_a_key_is_verified_unless_validate_is_false(client: Client, provider: OAuthServer) -> None:
    integration = client.create_integration(
        "mistral", "API_KEY", api={"base_url": provider.api_url}
    )
    assert integration.api is not None
    assert integration.api["base_url"] == provider.api_url

    with pytest.raises(ValidationError) as rejected:
        client.initiate_connection(integration.id, "client-key", params={"api_key": "made-up"})
    unverified = client.initiate_connection(
        integration.id, "client-key", params={"api_key": "made-up"}, validate=False
    )

    assert rejected.value.code == "credentials_rejected"
    assert unverified.status == Status.ACTIVE
    assert len(provider.api_requests) == 1


# --- the proxy ---------------------------------------------------------------------


def test_proxy_sends_the_request_and_returns_the_apps_answer(
    client: Client, provider: OAuthServer
) -> None:
    account_id = keyed(client, provider, "client-proxy")

    answer = client.proxy(
        account_id,
        "post",
        "/v1/things",
        query={"tag": ["a", "b"]},
        headers={"X-Request-Id": "r-9"},
        body={"name": "thing"},
    )

    assert (answer.status, answer.ok, answer.body_encoding) == (200, True, "json")
    assert answer.body["path"] == "/v1/things"
    assert answer.content.startswith(b"{")
    seen = provider.api_requests[-1]  # after the key's verification
    assert seen["method"] == "POST"
    assert seen["query"] == {"tag": ["a", "b"]}
    assert seen["headers"]["X-Request-Id"] == "r-9"
    assert seen["body"] == '{"name":"thing"}'


def test_proxy_relays_an_error_status_and_binary_bodies(
    client: Client, provider: OAuthServer
) -> None:
    account_id = keyed(client, provider, "client-binary")
    provider.api_reply = ApiReply(404, {"Content-Type": "image/png"}, b"\x89PNG\x00")

    answer = client.proxy(account_id, "GET", "/missing.png")

    assert (answer.status, answer.ok, answer.body_encoding) == (404, False, "base64")
    assert answer.content == b"\x89PNG\x00"
    assert answer.body == base64.b64encode(b"\x89PNG\x00").decode()


def test_proxy_refusals_are_api_errors_with_their_code(
    client: Client, provider: OAuthServer
) -> None:
    account_id = keyed(client, provider, "client-refused")
    with pytest.raises(ValidationError) as invalid:
        client.proxy(account_id, "GET", "//evil.example/")
    assert invalid.value.code == "invalid_proxy_request"

    provider.api_reply = ApiReply(200, {}, b"x" * (5 * 1024 * 1024 + 1))
    with pytest.raises(ServerError) as too_large:
        client.proxy(account_id, "GET", "/huge")
    assert (too_large.value.status, too_large.value.code) == (502, "upstream_response_too_large")


# --- connect links -----------------------------------------------------------------


def test_a_connect_link_opens_the_hosted_page_once(client: Client, provider: OAuthServer) -> None:
    integration = client.create_integration(
        "mistral", "API_KEY", api={"base_url": provider.api_url}
    )
    link = client.create_connect_link(
        integration.id, "client-link", APP_RETURN_URL, labels={"via": "link"}
    )
    assert link.id.startswith("cl_")
    assert link.url.startswith(f"{client.base_url}/v1/connect/")
    assert link.expires_at

    browser = requests.Session()
    page = browser.get(link.url, timeout=10)
    assert page.status_code == 200
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    submitted = browser.post(
        link.url,
        data={"csrf_token": csrf, "api_key": provider.register_api_key()},
        allow_redirects=False,
        timeout=10,
    )
    assert submitted.status_code == 303
    query = parse_qs(urlsplit(submitted.headers["Location"]).query)
    account = client.get_account(query["connected_account_id"][0])
    assert (account.entity_id, account.labels) == ("client-link", {"via": "link"})
    assert browser.get(link.url, timeout=10).status_code == 410


def test_a_connect_link_needs_a_safe_redirect_url(client: Client) -> None:
    integration = client.create_integration("openai", "API_KEY")
    with pytest.raises(ValidationError) as refused:
        client.create_connect_link(integration.id, "client-link", "http://app.example.com/")
    assert refused.value.code == "invalid_redirect_url"
