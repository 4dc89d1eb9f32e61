"""Connect links and the hosted connect page over the local gateway, driven the way a
browser drives a form (the browser itself: tests/browser): creating links, the page,
its CSRF protection, making the connection, single use and expiry."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from devstack.oauth_provider import OAuthServer
from tests.conftest import Api
from tests.integration.flows import (
    callback,
    create_integration,
    expire_link,
    keyed_integration,
    table,
)

APP_URL = "https://app.example.com/connected?session=7"
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def new_link(api: Api, integration_id: str, **extra: Any) -> dict[str, Any]:
    """A link for a new entity; the entity_id is added to the API's answer."""
    entity_id = f"user-{secrets.token_hex(4)}"
    body = {"integration_id": integration_id, "entity_id": entity_id, "redirect_url": APP_URL}
    response = api.post("/v1/connect_links", json={**body, **extra})
    assert response.status_code == 201, response.text
    return {**response.json(), "entity_id": entity_id}


def accounts_of(api: Api, entity_id: str) -> list[dict[str, Any]]:
    return list(api.get("/v1/connected_accounts", params={"entity_id": entity_id}).json()["items"])


class Browser:
    """A requests session that keeps cookies and sends what a browser's form POST does."""

    def __init__(self) -> None:
        self.session = requests.Session()

    def open(self, url: str) -> requests.Response:
        return self.session.get(url, allow_redirects=False, timeout=30)

    def submit(
        self,
        url: str,
        fields: dict[str, str],
        page: requests.Response | None = None,
        **headers: str,
    ) -> requests.Response:
        """The form of ``page`` (or of the page as it opens now), filled with ``fields``."""
        page = page if page is not None else self.open(url)
        found = _CSRF.search(page.text)
        return self.post(url, found.group(1) if found else "", fields, **headers)

    def post(
        self, url: str, csrf: str, fields: dict[str, str], **headers: str
    ) -> requests.Response:
        return self.session.post(
            url,
            data={"csrf_token": csrf, **fields},
            headers={"Sec-Fetch-Site": "same-origin", **headers},
            allow_redirects=False,
            timeout=30,
        )


def outcome(response: requests.Response, status: int = 303) -> dict[str, str]:
    """The query the browser is sent to the app with."""
    assert response.status_code == status, response.text
    location = response.headers["Location"]
    assert location.startswith("https://app.example.com/connected?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


# --- creating links ----------------------------------------------------------------


def test_a_link_is_a_url_on_keyfob_valid_for_ten_minutes_whose_token_is_not_stored(
    api: Api, provider: OAuthServer
) -> None:
    link = new_link(api, keyed_integration(api, provider), labels={"plan": "pro"})

    assert re.fullmatch(rf"{api.base_url}/v1/connect/[A-Za-z0-9_-]{{43}}", link["url"])
    assert link["id"].startswith("cl_")
    expires = datetime.fromisoformat(link["expires_at"].replace("Z", "+00:00"))
    assert 590 <= (expires - datetime.now(UTC)).total_seconds() <= 600
    token = link["url"].rsplit("/", 1)[1]
    client, name = table()
    key = f"LINK#{hashlib.sha256(token.encode()).hexdigest()}"
    item = client.get_item(TableName=name, Key={"pk": {"S": key}, "sk": {"S": "LINK"}})["Item"]
    assert token not in str(item)
    assert item["labels"]["M"] == {"plan": {"S": "pro"}}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"integration_id": "int_aaaaaaaaaaaaaaaaaaaaaaaa"}, 404, "integration_not_found"),
        ({"redirect_url": "http://app.example.com/x"}, 422, "invalid_redirect_url"),
        ({"redirect_url": "https://10.0.0.1/x"}, 422, "invalid_redirect_url"),
        ({"entity_id": "has spaces"}, 422, "validation_error"),
    ],
)
def test_a_link_needs_an_integration_a_safe_redirect_and_an_entity(
    api: Api, provider: OAuthServer, body: dict[str, str], status: int, code: str
) -> None:
    base = {
        "integration_id": keyed_integration(api, provider),
        "entity_id": "user-7",
        "redirect_url": APP_URL,
    }
    response = api.post("/v1/connect_links", json={**base, **body})
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_only_the_integrations_tenant_can_make_a_link_for_it(
    api: Api, other_api: Api, anonymous: Api, provider: OAuthServer
) -> None:
    body = {
        "integration_id": keyed_integration(api, provider),
        "entity_id": "user-7",
        "redirect_url": APP_URL,
    }
    assert other_api.post("/v1/connect_links", json=body).status_code == 404
    assert anonymous.post("/v1/connect_links", json=body).status_code == 401


# --- the page ------------------------------------------------------------------------


def test_the_page_asks_for_exactly_the_connection_fields_secrets_hidden(
    api: Api, provider: OAuthServer
) -> None:
    link = new_link(api, keyed_integration(api, provider))

    page = Browser().open(link["url"])

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    html = page.text
    assert '<html lang="en">' in html
    inputs = re.findall(r"<input ([^>]*)>", html)
    named = {re.search(r'name="([^"]+)"', i).group(1): i for i in inputs}  # type: ignore[union-attr]
    assert set(named) == {"csrf_token", "api_key", "dc"}
    assert 'type="password"' in named["api_key"]
    assert 'autocomplete="off"' in named["api_key"]
    assert 'type="text"' in named["dc"]
    assert '<label for="f-api_key">' in html
    assert "<fieldset><legend>Your Mailchimp credentials</legend>" in html
    assert '<img class="logo" src="https://mailchimp.com/favicon.ico" alt="Mailchimp"' in html
    assert "<script" not in html


def test_the_page_forbids_scripts_framing_referrers_and_caching(
    api: Api, provider: OAuthServer
) -> None:
    link = new_link(api, keyed_integration(api, provider))
    page = Browser().open(link["url"])

    policy = page.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'; style-src 'sha256-")
    # The app's logo, by its exact URL: the one image the page may load
    assert "; img-src https://mailchimp.com/favicon.ico; " in policy
    assert "form-action 'self' https://app.example.com;" in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    cookie = page.headers["Set-Cookie"]
    assert re.match(r"keyfob_csrf_[0-9a-f]{16}=[A-Za-z0-9_-]{32}; Path=/; Max-Age=\d+", cookie)
    assert "; HttpOnly" in cookie
    assert "; SameSite=Strict" in cookie
    # Plain http on loopback (the local stack): a Secure cookie would never come back
    assert "Secure" not in cookie


def test_unknown_links_are_a_404_page(anonymous: Api) -> None:
    for token in ("x" * 43, "short", "x" * 44, "not%20a%20token"):
        response = anonymous.get(f"/v1/connect/{token}")
        assert response.status_code == 404
        assert "Link not found" in response.text


# --- making the connection -----------------------------------------------------------


def test_submitting_the_form_connects_the_account_and_sends_the_user_on(
    api: Api, provider: OAuthServer
) -> None:
    # Given a link for a Mailchimp integration, with labels
    integration_id = keyed_integration(api, provider)
    link = new_link(api, integration_id, labels={"plan": "pro"})
    key = provider.register_api_key("0123456789abcdef0123-us21")
    browser = Browser()
    # When the user fills in the form and submits it
    response = browser.submit(link["url"], {"api_key": key, "dc": "us21"})
    # Then the browser goes to the app, with the new account and its status
    query = outcome(response)
    assert query["session"] == "7"
    assert query["status"] == "ACTIVE"
    # And the account is the link's entity's, verified with the app, labels kept
    account = api.get(f"/v1/connected_accounts/{query['connected_account_id']}").json()
    assert (account["entity_id"], account["integration_id"]) == (link["entity_id"], integration_id)
    assert account["labels"] == {"plan": "pro"}
    assert account["params"] == {"dc": "us21"}
    assert provider.api_requests[-1]["headers"]["Authorization"] == f"Bearer {key}"
    credentials = api.get(f"/v1/connected_accounts/{account['id']}/credentials").json()
    assert credentials["credentials"]["api_key"] == key
    # And the CSRF cookie is cleared
    assert "Max-Age=0" in response.headers["Set-Cookie"]
    # And the link works no more
    again = browser.open(link["url"])
    assert again.status_code == 410
    assert "Link already used" in again.text
    replay = browser.submit(link["url"], {"api_key": key, "dc": "us21"})
    assert replay.status_code == 410


def test_a_rejected_key_is_shown_on_the_page_keeping_what_is_not_secret(
    api: Api, provider: OAuthServer
) -> None:
    link = new_link(api, keyed_integration(api, provider))
    browser = Browser()

    response = browser.submit(link["url"], {"api_key": "bad-key-000000000000", "dc": "us21"})

    assert response.status_code == 422
    assert "Mailchimp did not accept these credentials" in response.text
    assert 'role="alert"' in response.text
    assert 'value="us21"' in response.text
    assert "bad-key-000000000000" not in response.text
    assert accounts_of(api, link["entity_id"]) == []
    # And the same page, corrected, still works: nothing was used up
    key = provider.register_api_key("good-key-1111111111111-us21")
    assert outcome(browser.submit(link["url"], {"api_key": key, "dc": "us21"}, response))


def test_invalid_fields_are_marked_one_by_one(api: Api, provider: OAuthServer) -> None:
    link = new_link(api, keyed_integration(api, provider))

    response = Browser().submit(link["url"], {"api_key": "", "dc": "evil.com/x"})

    assert response.status_code == 422
    assert 'id="f-api_key-error"' in response.text
    assert "Enter your API key." in response.text
    assert 'id="f-dc-error"' in response.text
    assert 'value="evil.com/x"' in response.text
    assert response.text.count('aria-invalid="true"') == 2
    assert provider.api_requests == []


def test_what_was_typed_comes_back_escaped(api: Api, provider: OAuthServer) -> None:
    link = new_link(api, keyed_integration(api, provider))
    typed = '"><script>alert(1)</script>'

    response = Browser().submit(link["url"], {"api_key": "k" * 20, "dc": typed})

    assert response.status_code == 422
    assert "<script>" not in response.text
    # Jinja2's autoescape (markupsafe) writes a quote as &#34;
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in response.text


def test_an_app_that_cannot_be_reached_is_a_502_page_to_retry(
    api: Api, provider: OAuthServer
) -> None:
    link = new_link(api, keyed_integration(api, provider))
    provider.api_status = 503
    response = Browser().submit(link["url"], {"api_key": "k" * 20, "dc": "us21"})
    assert response.status_code == 502
    assert "could not be reached" in response.text


def test_an_oauth_link_sends_the_user_to_the_provider_and_back_to_the_app(
    api: Api, anonymous: Api, provider: OAuthServer
) -> None:
    integration_id, _ = create_integration(api, provider)
    link = new_link(api, integration_id)
    browser = Browser()
    page = browser.open(link["url"])
    assert '<button type="submit">Continue to Custom OAuth 2.0 server</button>' in page.text
    assert (
        f"form-action 'self' {provider.base_url} https://app.example.com"
        in (page.headers["Content-Security-Policy"])
    )

    to_provider = browser.submit(link["url"], {}, page)

    assert to_provider.status_code == 303
    assert to_provider.headers["Location"].startswith(provider.authorization_url)
    to_callback = requests.get(to_provider.headers["Location"], allow_redirects=False, timeout=10)
    back = callback(anonymous, to_callback.headers["Location"])
    assert outcome(back, 302)["status"] == "ACTIVE"
    assert browser.open(link["url"]).status_code == 410


# --- CSRF, single use, expiry --------------------------------------------------------


def test_a_post_without_the_pages_cookie_is_refused(api: Api, provider: OAuthServer) -> None:
    link = new_link(api, keyed_integration(api, provider))
    page = Browser().open(link["url"])
    token = _CSRF.search(page.text).group(1)  # type: ignore[union-attr]

    # The form's token, but from a browser that never loaded the page (no cookie)
    response = Browser().post(link["url"], token, {"api_key": "k" * 20, "dc": "us21"})

    assert response.status_code == 403
    assert "Reload the page" in response.text
    assert provider.api_requests == []


def test_a_post_without_the_forms_token_is_refused(api: Api, provider: OAuthServer) -> None:
    link = new_link(api, keyed_integration(api, provider))
    browser = Browser()
    browser.open(link["url"])
    for token in ("", "0" * 64):
        response = browser.post(link["url"], token, {"api_key": "k" * 20, "dc": "us21"})
        assert response.status_code == 403
    assert provider.api_requests == []


def test_a_token_for_another_link_does_not_open_this_one(api: Api, provider: OAuthServer) -> None:
    integration_id = keyed_integration(api, provider)
    mine, other = new_link(api, integration_id), new_link(api, integration_id)
    browser = Browser()
    other_page = browser.open(other["url"])
    browser.open(mine["url"])
    token = _CSRF.search(other_page.text).group(1)  # type: ignore[union-attr]
    response = browser.post(mine["url"], token, {"api_key": "k" * 20, "dc": "us21"})
    assert response.status_code == 403


def test_a_cross_site_post_is_refused(api: Api, provider: OAuthServer) -> None:
    link = new_link(api, keyed_integration(api, provider))
    response = Browser().submit(
        link["url"], {"api_key": "k" * 20, "dc": "us21"}, **{"Sec-Fetch-Site": "cross-site"}
    )
    assert response.status_code == 403


def test_two_submissions_at_once_make_one_account(api: Api, provider: OAuthServer) -> None:
    link = new_link(api, keyed_integration(api, provider))
    key = provider.register_api_key("0123456789abcdef0123-us21")
    browsers = [Browser() for _ in range(4)]
    pages = [b.open(link["url"]) for b in browsers]
    results: list[int] = []

    def post(browser: Browser, page: requests.Response) -> None:
        results.append(
            browser.submit(link["url"], {"api_key": key, "dc": "us21"}, page).status_code
        )

    threads = [
        threading.Thread(target=post, args=pair) for pair in zip(browsers, pages, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [303, 410, 410, 410]
    assert len(accounts_of(api, link["entity_id"])) == 1


def test_an_expired_link_says_so(api: Api, provider: OAuthServer) -> None:
    link = new_link(api, keyed_integration(api, provider))
    browser = Browser()
    page = browser.open(link["url"])

    expire_link(link["url"])

    assert browser.open(link["url"]).status_code == 410
    assert "Link expired" in browser.open(link["url"]).text
    late = browser.submit(link["url"], {"api_key": "k" * 20, "dc": "us21"}, page)
    assert late.status_code == 410
    assert provider.api_requests == []


def test_a_form_that_is_not_urlencoded_or_too_large_is_refused(
    api: Api, provider: OAuthServer
) -> None:
    link = new_link(api, keyed_integration(api, provider))
    browser = Browser()
    browser.open(link["url"])
    as_json = browser.session.post(link["url"], json={"api_key": "k"}, timeout=30)
    assert as_json.status_code == 415
    huge = browser.session.post(link["url"], data={"api_key": "k" * 20000}, timeout=30)
    assert huge.status_code == 413
    assert "text/html" in huge.headers["Content-Type"]


def test_a_regional_field_is_a_choice_and_only_its_choices_are_taken(
    api: Api, provider: OAuthServer
) -> None:
    # Given a link for a PostHog integration (its region: us or eu)
    link = new_link(api, keyed_integration(api, provider, "posthog", "BEARER_TOKEN"))
    browser = Browser()
    page = browser.open(link["url"])
    # Then the page offers the region as a list, the usual one selected
    select = re.search(r'<select id="f-region" name="region"[^>]*>(.*?)</select>', page.text, re.S)
    assert select is not None, page.text
    assert re.findall(r"<option( selected)?>(\w+)</option>", select.group(1)) == [
        (" selected", "us"),
        ("", "eu"),
    ]
    # When the user sends a region that is not offered, the page says which field is wrong
    key = provider.register_api_key()
    refused = browser.submit(link["url"], {"token": key, "region": "mars"}, page)
    assert refused.status_code == 422
    assert 'id="f-region-error"' in refused.text
    # And with one that is, the account is connected in that region
    query = outcome(browser.submit(link["url"], {"token": key, "region": "eu"}))
    account = api.get(f"/v1/connected_accounts/{query['connected_account_id']}").json()
    assert account["params"] == {"region": "eu"}
