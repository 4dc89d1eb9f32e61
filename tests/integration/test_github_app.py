"""GitHub App installations over the local gateway, against a loopback fake of GitHub's
App API (Flask; the app JWT verified with joserfc): the install redirect through the
initiate/callback flow and its state check, the installation token bought with the
app's JWT, renewed when due (on read and by the scheduled run), proxied, revoked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack.gateway import Gateway
from devstack.github_fake import ORG, GitHubFake
from tests.conftest import Api, Tenant
from tests.integration.bus import Published
from tests.integration.flows import (
    PAST,
    RETURN_URL,
    SCHEDULED_EVENT,
    callback,
    credentials,
    query_of,
    set_stored,
)
from tests.integration.test_client_credentials import key_pair


@pytest.fixture(scope="module")
def github() -> Iterator[GitHubFake]:
    server = GitHubFake().start()
    yield server
    server.stop()


def integration(api: Api, github: GitHubFake) -> tuple[str, str]:
    private, public = key_pair()
    registered = github.register_app(public, f"{api.base_url}/v1/oauth/callback")
    response = api.post(
        "/v1/integrations",
        json={
            "app": "github",
            "auth_scheme": "GITHUB_APP",
            "credentials": {
                "client_id": registered.client_id,
                "client_secret": private,
                "app_slug": registered.slug,
            },
            "github_app": github.settings(),
            "api": {"base_url": github.api_url},
        },
    )
    assert response.status_code == 201, response.text
    assert private not in response.text
    return str(response.json()["id"]), private


def install(api: Api, anonymous: Api, integration_id: str) -> dict[str, Any]:
    started = api.post(
        "/v1/connected_accounts",
        json={"integration_id": integration_id, "entity_id": "gh", "redirect_url": RETURN_URL},
    )
    assert started.status_code == 201, started.text
    account = started.json()
    assert account["status"] == "INITIATED"
    assert "/installations/new?state=" in account["redirect_url"]
    at_github = requests.get(account["redirect_url"], allow_redirects=False, timeout=10)
    assert at_github.status_code == 302
    back = at_github.headers["Location"]
    assert query_of(back)["setup_action"] == "install"
    done = callback(anonymous, back)
    assert done.status_code == 302, done.text
    assert "status=ACTIVE" in done.headers["Location"]
    return dict(account)


def test_an_installation_connects_renews_proxies_and_revokes(
    api: Api,
    anonymous: Api,
    github: GitHubFake,
    tenant: Tenant,
    gateway: Gateway,
    published: Published,
) -> None:
    # Given a GitHub App integration
    integration_id, private = integration(api, github)
    # When a user installs the app through Keyfob's install redirect
    account = install(api, anonymous, integration_id)
    # Then the account is ACTIVE, named after the installation's organization
    got = api.get(f"/v1/connected_accounts/{account['id']}").json()
    assert got["status"] == "ACTIVE"
    assert got["upstream_display_name"] == ORG["login"]
    assert got["token_expires_at"] is not None
    held = credentials(api, account["id"])
    assert held["installation_id"].isdigit()
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
    assert gateway.invoke("SweepFunction", SCHEDULED_EVENT)["TokensRefreshed"] == 1
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
            "credentials": {"client_id": "Iv1", "client_secret": "nope", "app_slug": "x"},
        },
    )
    assert response.status_code == 422, response.text
    assert "client_secret" in response.json()["error"]["message"]
