"""The hosted connect page in headless chromium: an end user fills the form (or presses
the OAuth button), follows the redirects to the application, sees a rejected key
explained with what they typed kept, and sees a used or expired link for what it is.
Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

from devstack.oauth_provider import OAuthServer
from tests.browser.conftest import AppServer
from tests.conftest import Api
from tests.integration.flows import create_integration, expire_link, keyed_integration


def mailchimp_link(api: Api, provider: OAuthServer, app: AppServer) -> dict[str, Any]:
    """A connect link for a Mailchimp integration whose API is the loopback provider's."""
    return link_for(api, keyed_integration(api, provider), app)


def link_for(api: Api, integration_id: str, app: AppServer) -> dict[str, Any]:
    response = api.post(
        "/v1/connect_links",
        json={
            "integration_id": integration_id,
            "entity_id": f"browser-{secrets.token_hex(4)}",
            "redirect_url": app.url,
        },
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def submit_mailchimp(page: Any, key: str, data_center: str) -> None:
    page.get_by_label("API key").fill(key)
    page.get_by_label("Data center").fill(data_center)
    page.get_by_role("button", name="Connect Mailchimp").click()


def arrived(page: Any, app: AppServer) -> dict[str, str]:
    """Wait for the browser to land on the application; the query it landed with."""
    page.wait_for_url(re.compile(re.escape(app.url) + r"\?"))
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def test_an_end_user_connects_an_api_key_and_is_sent_back_to_the_app(
    api: Api, provider: OAuthServer, app_server: AppServer, page: Any, screenshot: Any
) -> None:
    # Given a connect link the app created for its user
    link = mailchimp_link(api, provider, app_server)
    key = provider.register_api_key("0123456789abcdef0123456789ab-us21")
    # When the user opens it
    response = page.goto(link["url"])
    assert response.status == 200
    assert page.title() == "Connect Mailchimp"
    assert page.get_by_role("heading", level=1).inner_text() == "Connect your Mailchimp account"
    # Then the form asks for exactly the app's fields, labelled, the key hidden
    secret = page.get_by_label("API key")
    assert secret.get_attribute("type") == "password"
    assert secret.get_attribute("autocomplete") == "off"
    assert page.get_by_role("group", name="Your Mailchimp credentials").is_visible()
    assert page.locator("input:not([type=hidden])").count() == 2
    # When they fill it in and submit it
    secret.fill(key)
    page.get_by_label("Data center").fill("us21")
    screenshot("filled")
    page.get_by_role("button", name="Connect Mailchimp").click()
    # Then they land on the app with the new account, which is ACTIVE
    query = arrived(page, app_server)
    assert query["status"] == "ACTIVE"
    assert page.get_by_role("heading", name="Connected").is_visible()
    screenshot("back-at-the-app")
    account = api.get(f"/v1/connected_accounts/{query['connected_account_id']}").json()
    assert account["params"] == {"dc": "us21"}
    assert account["status"] == "ACTIVE"


def test_a_rejected_key_is_explained_on_the_page_with_the_other_values_kept(
    api: Api, provider: OAuthServer, app_server: AppServer, page: Any, screenshot: Any
) -> None:
    link = mailchimp_link(api, provider, app_server)
    page.goto(link["url"])
    submit_mailchimp(page, "not-a-real-key-000000000000", "us21")

    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "Mailchimp did not accept these credentials" in alert.inner_text()
    assert page.title() == "Error: Connect Mailchimp"
    assert page.get_by_label("Data center").input_value() == "us21"
    assert page.get_by_label("API key").input_value() == ""
    assert "not-a-real-key" not in page.content()
    screenshot("rejected")

    # The user corrects the key on the same page, and it goes through
    key = provider.register_api_key("0123456789abcdef0123456789ab-us21")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Connect Mailchimp").click()
    assert arrived(page, app_server)["status"] == "ACTIVE"


def test_a_field_in_the_wrong_format_is_marked_and_described(
    api: Api, provider: OAuthServer, app_server: AppServer, page: Any, screenshot: Any
) -> None:
    link = mailchimp_link(api, provider, app_server)
    page.goto(link["url"])
    submit_mailchimp(page, "0123456789abcdef0123456789ab-us21", "evil.example/x")

    page.get_by_role("alert").wait_for()
    field = page.get_by_label("Data center")
    assert field.get_attribute("aria-invalid") == "true"
    assert field.input_value() == "evil.example/x"
    described = field.get_attribute("aria-describedby").split()
    assert "f-dc-error" in described
    assert "is not in the expected format" in page.locator("#f-dc-error").inner_text()
    screenshot("invalid-field")


def test_a_used_link_and_an_expired_link_say_so(
    api: Api, provider: OAuthServer, app_server: AppServer, page: Any, screenshot: Any
) -> None:
    used = mailchimp_link(api, provider, app_server)
    key = provider.register_api_key("0123456789abcdef0123456789ab-us21")
    page.goto(used["url"])
    submit_mailchimp(page, key, "us21")
    arrived(page, app_server)

    again = page.goto(used["url"])
    assert again.status == 410
    assert page.get_by_role("heading", level=1).inner_text() == "Link already used"
    screenshot("used")

    expired = mailchimp_link(api, provider, app_server)
    expire_link(expired["url"])
    late = page.goto(expired["url"])
    assert late.status == 410
    assert page.get_by_role("heading", level=1).inner_text() == "Link expired"
    screenshot("expired")


def test_an_oauth_link_goes_to_the_provider_and_back_to_the_app(
    api: Api, provider: OAuthServer, app_server: AppServer, page: Any, screenshot: Any
) -> None:
    integration_id, _ = create_integration(api, provider)
    link = link_for(api, integration_id, app_server)
    page.goto(link["url"])
    screenshot("oauth")

    page.get_by_role("button", name="Continue to Custom OAuth 2.0 server").click()

    query = arrived(page, app_server)
    assert query["status"] == "ACTIVE"
    assert provider.authorization_requests[-1]["client_id"]
    account = api.get(f"/v1/connected_accounts/{query['connected_account_id']}").json()
    assert account["integration_id"] == integration_id


def test_the_page_shows_the_apps_logo_and_a_regional_choice_within_its_policy(
    api: Api, provider: OAuthServer, app_server: AppServer, page: Any, screenshot: Any
) -> None:
    # Given a link for a PostHog integration (a logo, and a region to choose)
    link = link_for(api, keyed_integration(api, provider, "posthog", "BEARER_TOKEN"), app_server)
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    key = provider.register_api_key()
    # When the user opens it
    page.goto(link["url"])
    # Then the logo is on the page, and the page's policy lets it load (no network here:
    # the image itself fails, but the browser reports no policy violation for it)
    logo = page.get_by_role("img", name="PostHog")
    assert logo.get_attribute("src") == "https://posthog.com/favicon.ico"
    # And the region is a list with the usual one chosen
    region = page.get_by_label("Region")
    assert region.evaluate("e => e.tagName") == "SELECT"
    assert region.input_value() == "us"
    region.select_option("eu")
    page.get_by_label("Personal API key").fill(key)
    screenshot("region-chosen")
    page.get_by_role("button", name="Connect PostHog").click()
    query = arrived(page, app_server)
    assert query["status"] == "ACTIVE"
    account = api.get(f"/v1/connected_accounts/{query['connected_account_id']}").json()
    assert account["params"] == {"region": "eu"}
    assert violations == []
