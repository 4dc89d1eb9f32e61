"""The hosted connect page in headless chromium for the schemes of issue 11: a two-step
exchange and client credentials (a form, exchanged or granted at once), an OAuth 1.0a
provider and a GitHub App install (a button to the provider, and back to the app)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devstack.github_fake import ORG, GitHubFake
from devstack.oauth1_provider import OAuth1Server
from devstack.oauth_provider import OAuthServer
from tests.browser.conftest import AppServer
from tests.browser.test_connect_page_browser import arrived, link_for
from tests.conftest import Api
from tests.integration import test_client_credentials as m2m
from tests.integration import test_github_app as github_app
from tests.integration import test_oauth1 as oauth1
from tests.integration import test_telegram as telegram
from tests.integration import test_two_step as two_step
from tests.integration.flows import keyed_integration


@pytest.fixture(scope="module")
def oauth1_server() -> Iterator[OAuth1Server]:
    server = OAuth1Server().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def github() -> Iterator[GitHubFake]:
    server = GitHubFake().start()
    yield server
    server.stop()


def test_a_two_step_link_exchanges_what_the_user_types(
    api: Api, provider: OAuthServer, app_server: AppServer, page: Any, screenshot: Any
) -> None:
    link = link_for(api, two_step.integration(api, provider), app_server)
    user = two_step.user(provider)
    page.goto(link["url"])
    assert page.get_by_label("Password").get_attribute("type") == "password"
    page.get_by_label("Username").fill(user["username"])
    page.get_by_label("Password").fill(user["password"])
    screenshot("two-step")
    page.get_by_role("button", name="Connect Demo two-step login API").click()

    query = arrived(page, app_server)
    assert query["status"] == "ACTIVE"
    assert two_step.logins(provider) == 1


def test_a_client_credentials_link_is_granted_at_once(
    api: Api, provider: OAuthServer, app_server: AppServer, page: Any
) -> None:
    link = link_for(api, m2m.integration(api, provider, "client_secret_post"), app_server)
    params = m2m.machine(provider, "client_secret_post")
    page.goto(link["url"])
    page.get_by_label("Client ID").fill(params["client_id"])
    page.get_by_label("Client secret").fill(params["client_secret"])
    page.get_by_role("button", name="Connect Custom OAuth 2.0 server").click()

    assert arrived(page, app_server)["status"] == "ACTIVE"
    assert len(m2m.grants(provider)) == 1


def test_an_oauth1_link_goes_to_the_provider_and_back(
    api: Api, oauth1_server: OAuth1Server, app_server: AppServer, page: Any, screenshot: Any
) -> None:
    integration_id, _ = oauth1.integration(api, oauth1_server, "HMAC-SHA1")
    page.goto(link_for(api, integration_id, app_server)["url"])
    screenshot("oauth1")
    page.get_by_role("button", name="Continue to Custom OAuth 1.0a server").click()

    query = arrived(page, app_server)
    assert query["status"] == "ACTIVE"
    account = api.get(f"/v1/connected_accounts/{query['connected_account_id']}").json()
    assert account["auth_scheme"] == "OAUTH1"


def test_a_github_app_link_installs_the_app_and_comes_back(
    api: Api, github: GitHubFake, app_server: AppServer, page: Any
) -> None:
    integration_id, _, _ = github_app.integration(api, github)
    page.goto(link_for(api, integration_id, app_server)["url"])
    page.get_by_role("button", name="Continue to GitHub").click()

    query = arrived(page, app_server)
    assert query["status"] == "ACTIVE"
    account = api.get(f"/v1/connected_accounts/{query['connected_account_id']}").json()
    assert account["upstream_display_name"] == ORG["login"]


def test_a_telegram_link_takes_a_bot_token_that_the_page_never_shows(
    api: Api, provider: OAuthServer, app_server: AppServer, page: Any, screenshot: Any
) -> None:
    link = link_for(api, keyed_integration(api, provider, "telegram", "API_KEY"), app_server)
    page.goto(link["url"])
    field = page.get_by_label("Bot token")
    assert field.get_attribute("type") == "password"
    # A token the app refuses (its getMe at /bot<token>/getMe answers 401): explained,
    # and neither the token nor the URL it was tried at is on the page
    refused = telegram.bot_token()
    field.fill(refused)
    page.get_by_role("button", name="Connect Telegram").click()
    page.get_by_role("alert").wait_for()
    assert "Telegram did not accept these credentials" in page.get_by_role("alert").inner_text()
    assert refused not in page.content()
    assert provider.api_requests[-1]["path"] == f"/bot{refused}/getMe"
    screenshot("telegram-refused")
    # A good one goes through
    token = provider.register_api_key(telegram.bot_token())
    page.get_by_label("Bot token").fill(token)
    page.get_by_role("button", name="Connect Telegram").click()
    query = arrived(page, app_server)
    assert query["status"] == "ACTIVE"
    assert token not in page.content()
    account = api.get(f"/v1/connected_accounts/{query['connected_account_id']}").json()
    assert account["upstream_display_name"] == "keyfob-tester"
