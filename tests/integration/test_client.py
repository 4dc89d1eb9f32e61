"""keyfob.client against the real local stack: the gateway running the functions on a
moto server, and a real OAuth 2.0 provider on loopback."""

from __future__ import annotations

import pytest

from devstack.gateway import Gateway
from devstack.oauth_provider import OAuthServer
from keyfob.client import (
    AuthError,
    AuthScheme,
    Client,
    ConflictError,
    ConnectionFailedError,
    NotFoundError,
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


@pytest.fixture
def provider(oauth_server: OAuthServer) -> OAuthServer:
    oauth_server.reset()
    return oauth_server


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
