"""GitHub App installations over the local gateway, against a loopback fake of GitHub's
App API (Flask; the app JWT verified with joserfc): the install redirect through the
initiate/callback flow and its state check, the installation checked against the
installing user's own (the redirect's code for a user token, then their installations,
across pages), the installation token bought with the app's JWT, renewed when due (on
read and by the scheduled run), proxied, revoked; a pasted foreign installation_id and
a redirect without a code fail the connection before any installation token is bought."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack.gateway import Gateway
from devstack.github_fake import ORG, GitHubFake, RegisteredApp
from keyfob.core.urls import with_query
from tests.conftest import Api, Tenant
from tests.integration.bus import Published
from tests.integration.flows import (
    PAST,
    RETURN_URL,
    callback,
    credentials,
    query_of,
    run_sweep,
    set_stored,
)
from tests.integration.test_client_credentials import key_pair


@pytest.fixture(scope="module")
def github() -> Iterator[GitHubFake]:
    server = GitHubFake().start()
    yield server
    server.stop()


def integration(
    api: Api, github: GitHubFake, oauth_on_install: bool = True
) -> tuple[str, str, RegisteredApp]:
    private, public = key_pair()
    registered = github.register_app(public, f"{api.base_url}/v1/oauth/callback", oauth_on_install)
    response = api.post(
        "/v1/integrations",
        json={
            "app": "github",
            "auth_scheme": "GITHUB_APP",
            "credentials": {
                "client_id": registered.client_id,
                "client_secret": private,
                "app_slug": registered.slug,
                "oauth_client_secret": registered.client_secret,
            },
            "github_app": github.settings(),
            "api": {"base_url": github.api_url},
        },
    )
    assert response.status_code == 201, response.text
    assert private not in response.text
    assert registered.client_secret not in response.text
    return str(response.json()["id"]), private, registered


def at_github(api: Api, integration_id: str, login: str) -> tuple[dict[str, Any], str]:
    """A connection started, and where GitHub sends the browser once this user installed."""
    started = api.post(
        "/v1/connected_accounts",
        json={"integration_id": integration_id, "entity_id": "gh", "redirect_url": RETURN_URL},
    )
    assert started.status_code == 201, started.text
    account = started.json()
    assert account["status"] == "INITIATED"
    assert "/installations/new?state=" in account["redirect_url"]
    url = with_query(account["redirect_url"], {"login": login})
    installed = requests.get(url, allow_redirects=False, timeout=10)
    assert installed.status_code == 302
    back = installed.headers["Location"]
    assert query_of(back)["setup_action"] == "install"
    return dict(account), back


def install(
    api: Api, anonymous: Api, integration_id: str, login: str = "octocat"
) -> dict[str, Any]:
    account, back = at_github(api, integration_id, login)
    done = callback(anonymous, back)
    assert done.status_code == 302, done.text
    assert "status=ACTIVE" in done.headers["Location"]
    return account


def test_an_installation_connects_renews_proxies_and_revokes(
    api: Api,
    anonymous: Api,
    github: GitHubFake,
    tenant: Tenant,
    gateway: Gateway,
    published: Published,
) -> None:
    # Given a GitHub App integration, and a user who installed the app twice before
    integration_id, private, registered = integration(api, github)
    earlier = [github.install_for(registered.slug, "octocat") for _ in range(2)]
    # When the user installs the app through Keyfob's install redirect
    account = install(api, anonymous, integration_id)
    # Then the account is ACTIVE, named after the installation's organization
    got = api.get(f"/v1/connected_accounts/{account['id']}").json()
    assert got["status"] == "ACTIVE"
    assert got["upstream_display_name"] == ORG["login"]
    assert got["token_expires_at"] is not None
    held = credentials(api, account["id"])
    # And the installation is the new one, found on the second page of the user's list
    assert int(held["installation_id"]) not in earlier
    assert github.owners[int(held["installation_id"])] == "octocat"
    assert not any(k.startswith("ghu_") for k in map(str, held.values()))
    # And the user access token that proved it was revoked once it had served
    assert github.dropped_user_tokens and not github.user_tokens
    first = held["access_token"]
    # And the proxy calls GitHub's API with the installation token
    answer = api.post(
        f"/v1/connected_accounts/{account['id']}/proxy", json={"method": "GET", "path": "/repos"}
    )
    assert answer.status_code == 200 and answer.json()["status"] == 200, answer.text
    assert github.api_requests[-1]["headers"]["Authorization"] == f"Bearer {first}"
    # And a due token is bought again with the app's JWT, on read and in the scheduled run
    set_stored(tenant.id, account["id"], due_at=PAST)
    second = credentials(api, account["id"])["access_token"]
    assert second != first
    set_stored(tenant.id, account["id"], due_at=PAST)
    assert run_sweep(gateway)["TokensRefreshed"] == 1
    third = credentials(api, account["id"])["access_token"]
    assert third not in (first, second)
    # And no list response or event shows the key or a token
    shown = api.get("/v1/connected_accounts", params={"entity_id": "gh"}).text
    shown += str(published.about(account["id"]))
    assert not any(secret in shown for secret in (private, first, second, third))
    # And deleting the connection revokes its installation token
    deleted = api.delete(f"/v1/connected_accounts/{account['id']}")
    assert deleted.status_code in (200, 204), deleted.text
    assert github.revoked == [third]


def test_a_pasted_foreign_installation_fails_and_no_token_is_bought(
    api: Api, anonymous: Api, github: GitHubFake
) -> None:
    # Given a customer's installation of the app, connected through Keyfob
    integration_id, _, _ = integration(api, github)
    victim = credentials(api, install(api, anonymous, integration_id)["id"])["installation_id"]
    # When another user installs the app for themselves, and pastes the customer's
    # installation_id into the redirect that carries their own code
    account, back = at_github(api, integration_id, "mallory")
    before = len(github.token_requests)
    forged = with_query(back, {"installation_id": victim})
    done = callback(anonymous, forged)
    # Then the connection fails with the reason, and no installation token was bought
    assert done.status_code == 302, done.text
    assert "status=FAILED" in done.headers["Location"]
    got = api.get(f"/v1/connected_accounts/{account['id']}").json()
    assert got["status"] == "FAILED"
    assert "not one the authorizing GitHub user can access" in got["status_reason"]
    assert github.token_requests[before:] == []
    assert api.get(f"/v1/connected_accounts/{account['id']}/credentials").status_code >= 400
    assert not github.user_tokens


def test_a_code_github_refuses_fails_and_no_token_is_bought(
    api: Api, anonymous: Api, github: GitHubFake
) -> None:
    integration_id, _, _ = integration(api, github)
    account, back = at_github(api, integration_id, "octocat")
    before = len(github.token_requests)

    done = callback(anonymous, with_query(back, {"code": "not-a-code-github-issued"}))

    assert done.status_code == 302, done.text
    got = api.get(f"/v1/connected_accounts/{account['id']}").json()
    assert got["status"] == "FAILED"
    assert got["status_reason"].endswith("the installation's code: bad_verification_code")
    assert github.token_requests[before:] == []


def test_an_install_redirect_without_a_code_fails_and_no_token_is_bought(
    api: Api, anonymous: Api, github: GitHubFake
) -> None:
    # Given an app that does not request user authorization during installation
    integration_id, _, _ = integration(api, github, oauth_on_install=False)
    account, back = at_github(api, integration_id, "octocat")
    assert "code" not in query_of(back)
    before = len(github.token_requests)
    # When GitHub sends the browser back with an installation_id alone
    done = callback(anonymous, back)
    # Then the connection fails, and no installation token was bought
    assert done.status_code == 302, done.text
    got = api.get(f"/v1/connected_accounts/{account['id']}").json()
    assert got["status"] == "FAILED"
    assert "no code" in got["status_reason"]
    assert github.token_requests[before:] == []


def test_an_integration_without_the_client_secret_is_a_4xx(api: Api, github: GitHubFake) -> None:
    private, _ = key_pair()
    response = api.post(
        "/v1/integrations",
        json={
            "app": "github",
            "auth_scheme": "GITHUB_APP",
            "credentials": {"client_id": "Iv1", "client_secret": private, "app_slug": "x"},
        },
    )
    assert response.status_code == 422, response.text
    assert "oauth_client_secret" in response.text


def test_a_forged_state_is_refused_and_no_token_bought(
    api: Api, anonymous: Api, github: GitHubFake
) -> None:
    integration(api, github)
    before = len(github.token_requests)

    response = callback(
        anonymous, "/v1/oauth/callback?installation_id=1&setup_action=install&state=" + "x" * 43
    )

    assert response.status_code in (400, 404, 410), response.text
    assert len(github.token_requests) == before


def test_an_app_key_that_is_no_key_is_a_4xx(api: Api, github: GitHubFake) -> None:
    response = api.post(
        "/v1/integrations",
        json={
            "app": "github",
            "auth_scheme": "GITHUB_APP",
            "credentials": {
                "client_id": "Iv1",
                "client_secret": "nope",
                "app_slug": "x",
                "oauth_client_secret": "s",
            },
        },
    )
    assert response.status_code == 422, response.text
    assert "client_secret" in response.json()["error"]["message"]
