"""The console at /console in headless chromium: an engineer signs in with an API key
(kept in the page's memory only), sees the integrations and an entity's accounts with
why each is in its state, filters them, reads their recent events, refreshes, disables,
enables and deletes them and creates a connect link; with the keyboard, and at phone
width. Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import urlsplit

import requests
from playwright.sync_api import expect

from devstack.gateway import Gateway
from devstack.oauth_provider import OAuthServer
from tests.conftest import Api, Tenant
from tests.integration.client_flows import approve
from tests.integration.flows import create_integration

IDENTITY = {"path": "/me", "id_field": "id", "name_field": "login"}


def sign_in(page: Any, gateway: Gateway, key: str) -> None:
    """With the keyboard: the key field has the focus when the page opens."""
    page.goto(f"{gateway.url}/console")
    page.keyboard.type(key)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Integrations").wait_for()


def card(page: Any, account_id: str) -> Any:
    return page.locator(f"li.card[data-account-id='{account_id}']")


def seed(api: Api, provider: OAuthServer) -> dict[str, Any]:
    """An entity with three accounts: a verified key (ACTIVE, with its upstream identity),
    an OAuth grant the user approved (ACTIVE, with a token expiry) and one they denied
    (FAILED, with the provider's reason)."""
    entity = f"console-{secrets.token_hex(4)}"
    keyed = api.post(
        "/v1/integrations",
        json={
            "app": "mistral",
            "auth_scheme": "API_KEY",
            "api": {"base_url": provider.api_url, "identity": IDENTITY},
        },
    ).json()["id"]
    key = provider.register_api_key()
    key_account = api.post(
        "/v1/connected_accounts",
        json={"integration_id": keyed, "entity_id": entity, "params": {"api_key": key}},
    ).json()
    oauth, _ = create_integration(api, provider)
    started = [
        api.post(
            "/v1/connected_accounts",
            json={
                "integration_id": oauth,
                "entity_id": entity,
                "redirect_url": "https://app.example.com/back",
            },
        ).json()
        for _ in range(2)
    ]
    assert approve(started[0]["redirect_url"])["status"] == ["ACTIVE"]
    provider.deny_next_authorization = True
    assert approve(started[1]["redirect_url"])["status"] == ["FAILED"]
    return {
        "entity": entity,
        "key": key,
        "keyed": key_account["id"],
        "active": started[0]["id"],
        "failed": started[1]["id"],
        "oauth_integration": oauth,
    }


def test_the_console_is_served_by_keyfob_under_a_strict_policy(gateway: Gateway) -> None:
    response = requests.get(f"{gateway.url}/console", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self';" in policy
    assert "unsafe" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["cache-control"] == "no-store"
    html = response.text
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts and all(' src="/console/static/' in s and "integrity=" in s for s in scripts)
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)  # nothing from another origin
    for name, media in (("console.js", "text/javascript"), ("console.css", "text/css")):
        asset = requests.get(f"{gateway.url}/console/static/{name}", timeout=10)
        assert asset.status_code == 200
        assert asset.headers["content-type"].startswith(media)
        assert "immutable" in asset.headers["cache-control"]
    missing = requests.get(f"{gateway.url}/console/static/app.py", timeout=10)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "asset_not_found"


def test_the_key_lives_in_the_page_memory_only_and_a_wrong_key_is_refused(
    gateway: Gateway, tenant: Tenant, page: Any, screenshot: Any
) -> None:
    origins: set[str] = set()
    page.on("request", lambda request: origins.add(urlsplit(request.url).netloc))
    page.goto(f"{gateway.url}/console")
    assert page.title() == "Keyfob console"
    # A wrong key is refused, and the form stays
    page.get_by_label("API key").fill("kf_wrong_" + secrets.token_hex(8))
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "That API key was refused."
    screenshot("refused")
    # The right key signs in
    sign_in(page, gateway, tenant.api_key)
    assert page.get_by_role("button", name="Sign out").is_visible()
    # And is nowhere but in the script's memory
    stored = page.evaluate(
        "() => [localStorage.length, sessionStorage.length, document.cookie, location.href,"
        " document.documentElement.outerHTML]"
    )
    assert stored[:3] == [0, 0, ""]
    assert tenant.api_key not in stored[3] and tenant.api_key not in stored[4]
    assert page.context.cookies() == []
    assert origins == {urlsplit(gateway.url).netloc}
    # Reloading forgets it
    page.reload()
    assert page.get_by_role("button", name="Sign in").is_visible()
    assert not page.get_by_role("heading", name="Integrations").is_visible()


def test_an_engineer_sees_why_accounts_are_in_their_state_and_acts_on_them(
    gateway: Gateway,
    tenant: Tenant,
    api: Api,
    provider: OAuthServer,
    page: Any,
    screenshot: Any,
) -> None:
    seeded = seed(api, provider)
    page.set_viewport_size({"width": 1200, "height": 900})
    sign_in(page, gateway, tenant.api_key)
    assert page.locator("#integrations li.card", has_text="mistral").count() >= 1
    # Filter: the entity's FAILED accounts
    page.get_by_label("Entity").first.fill(seeded["entity"])
    page.get_by_label("Status").select_option("FAILED")
    page.get_by_role("button", name="Show accounts").click()
    page.get_by_text("1 account shown.").wait_for()
    failed = card(page, seeded["failed"])
    assert "FAILED" in failed.locator("h3").inner_text()
    assert "access_denied" in failed.inner_text()
    # Its recent events say what happened, newest first
    failed.get_by_role("button", name="Recent events").click()
    events = failed.get_by_role("list", name=re.compile("Recent events"))
    expect(events.locator("li")).to_have_count(2)
    items = events.locator("li").all_inner_texts()
    assert [re.sub(r".*UTC ", "", i).split(" ")[0] for i in items] == ["Failed", "Initiated"]
    assert "access_denied" in items[0]
    assert failed.get_by_role("button", name="Recent events").get_attribute("aria-expanded") == (
        "true"
    )
    # All the entity's accounts: the key's upstream identity, the OAuth token's expiry
    page.get_by_label("Status").select_option("")
    page.get_by_role("button", name="Show accounts").click()
    expect(page.locator("#accounts li.card")).to_have_count(3)
    keyed = card(page, seeded["keyed"])
    assert "keyfob-tester (4242)" in keyed.inner_text()
    active = card(page, seeded["active"])
    assert "Token expires" in active.inner_text()
    assert seeded["key"] not in page.content()
    screenshot("accounts")
    # Filter by app
    page.get_by_label("App").select_option("mistral")
    page.get_by_role("button", name="Show accounts").click()
    expect(page.locator("#accounts li.card")).to_have_count(1)
    page.get_by_label("App").select_option("")
    page.get_by_role("button", name="Show accounts").click()
    expect(page.locator("#accounts li.card")).to_have_count(3)
    # Refresh the OAuth account: a new token from the provider
    tokens_before = len(provider.issued_tokens)
    card(page, seeded["active"]).get_by_role("button", name="Refresh").click()
    page.get_by_role("status").filter(has_text="refreshed").wait_for()
    assert len(provider.issued_tokens) == tokens_before + 1
    # Disable, then enable the key's account
    card(page, seeded["keyed"]).get_by_role("button", name="Disable").click()
    expect(card(page, seeded["keyed"]).locator("h3")).to_contain_text("INACTIVE")
    assert api.get(f"/v1/connected_accounts/{seeded['keyed']}").json()["status"] == "INACTIVE"
    card(page, seeded["keyed"]).get_by_role("button", name="Enable").click()
    page.get_by_role("status").filter(has_text="enabled").wait_for()
    assert api.get(f"/v1/connected_accounts/{seeded['keyed']}").json()["status"] == "ACTIVE"
    # A refusal from the API is shown with its code
    card(page, seeded["failed"]).get_by_role("button", name="Refresh").click()
    assert "HTTP 409" in page.get_by_role("alert").inner_text()
    # Delete, confirming the dialog
    page.once("dialog", lambda dialog: dialog.accept())
    card(page, seeded["failed"]).get_by_role("button", name="Delete").click()
    page.get_by_role("status").filter(has_text="deleted").wait_for()
    assert card(page, seeded["failed"]).count() == 0
    assert api.get(f"/v1/connected_accounts/{seeded['failed']}").status_code == 404


def test_a_connect_link_is_created_and_opens_the_connect_page(
    gateway: Gateway, tenant: Tenant, api: Api, provider: OAuthServer, page: Any, screenshot: Any
) -> None:
    integration, _ = create_integration(api, provider)
    sign_in(page, gateway, tenant.api_key)
    page.get_by_label("Integration", exact=True).select_option(integration)
    page.locator("#link-entity").fill("console-link-user")
    page.get_by_label("Redirect URL").fill("https://app.example.com/connected")
    page.get_by_role("button", name="Create link").click()
    link = page.locator("#link-url a")
    link.wait_for()
    url = link.inner_text()
    assert url.startswith(f"{gateway.url}/v1/connect/")
    screenshot("connect-link")
    assert requests.get(url, timeout=10).status_code == 200


def test_at_phone_width_everything_fits_and_works_from_the_keyboard(
    gateway: Gateway,
    tenant: Tenant,
    api: Api,
    provider: OAuthServer,
    page: Any,
    screenshot: Any,
) -> None:
    seeded = seed(api, provider)
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in(page, gateway, tenant.api_key)
    page.get_by_label("Entity").first.fill(seeded["entity"])
    page.get_by_label("Entity").first.press("Enter")  # submits the filter form
    expect(page.locator("#accounts li.card")).to_have_count(3)
    # Nothing wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    # Tab from the OAuth account's Refresh button to its Disable button, press it
    active = card(page, seeded["active"])
    active.get_by_role("button", name="Refresh").focus()
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Disable"
    page.keyboard.press("Enter")
    page.get_by_role("status").filter(has_text="disabled").wait_for()
    assert api.get(f"/v1/connected_accounts/{seeded['active']}").json()["status"] == "INACTIVE"
    # A pasted key has nothing to refresh: no Refresh button
    assert card(page, seeded["keyed"]).get_by_role("button", name="Refresh").count() == 0
    # The focus stays on the account acted on
    assert page.evaluate("document.activeElement.tagName") == "H3"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot("phone")
    # Signing out forgets the key and the data
    page.get_by_role("button", name="Sign out").click()
    assert page.locator("#accounts li").count() == 0
    assert page.evaluate("document.activeElement.id") == "api-key"


def test_more_accounts_than_a_page_load_on_demand(
    gateway: Gateway, tenant: Tenant, api: Api, provider: OAuthServer, page: Any
) -> None:
    entity = f"console-many-{secrets.token_hex(3)}"
    integration = api.post(
        "/v1/integrations",
        json={"app": "mistral", "auth_scheme": "API_KEY", "api": {"base_url": provider.api_url}},
    ).json()["id"]
    made = [
        api.post(
            "/v1/connected_accounts",
            params={"validate": "false"},
            json={"integration_id": integration, "entity_id": entity, "params": {"api_key": "k"}},
        ).json()["id"]
        for _ in range(27)
    ]
    sign_in(page, gateway, tenant.api_key)
    page.get_by_label("Entity").first.fill(entity)
    page.get_by_role("button", name="Show accounts").click()
    page.get_by_text("25 accounts shown, more to load.").wait_for()
    page.get_by_role("button", name="Load more accounts").click()
    page.get_by_text("27 accounts shown.").wait_for()
    assert not page.get_by_role("button", name="Load more accounts").is_visible()
    shown = page.locator("#accounts li.card").evaluate_all(
        "cards => cards.map(card => card.dataset.accountId)"
    )
    assert shown == made[::-1]  # newest first, each once
