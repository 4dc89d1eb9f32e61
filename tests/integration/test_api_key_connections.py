"""API key, bearer and basic connections, and reading accounts, over the local gateway.

Every integration here points the app's API at the loopback provider's resource API,
which accepts exactly the keys registered with it: so every submitted credential is
verified over real HTTP the way it would be against the app, and nothing leaves the
machine.
"""

from __future__ import annotations

from typing import Any

import pytest

from devstack.oauth_provider import OAuthServer
from tests.conftest import Api
from tests.integration.flows import keyed_integration


def connect(
    api: Api, integration_id: str, entity_id: str, provider: OAuthServer, **params: str
) -> dict[str, Any]:
    """Connect with credentials the app (the loopback provider) accepts."""
    for value in params.values():
        provider.register_api_key(value)
    response = api.post(
        "/v1/connected_accounts",
        json={
            "integration_id": integration_id,
            "entity_id": entity_id,
            "params": params,
            "labels": {"team": "core"},
        },
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_api_key_connection_is_active_at_once_and_its_key_only_in_credentials(
    api: Api, provider: OAuthServer
) -> None:
    # Given an OpenAI integration
    integration_id = keyed_integration(api, provider, "openai", "API_KEY")
    # When an end user's key is submitted
    account = connect(api, integration_id, "carol", provider, api_key="sk-test-carol-0123456789")
    # Then the account is ACTIVE, with no authorization URL and no key in the response
    assert account["status"] == "ACTIVE"
    assert account["redirect_url"] is None
    assert account["labels"] == {"team": "core"}
    assert "sk-test-carol" not in str(account)
    # And only the credentials route gives the key back
    got = api.get(f"/v1/connected_accounts/{account['id']}").json()
    assert "sk-test-carol" not in str(got)
    credentials = api.get(f"/v1/connected_accounts/{account['id']}/credentials").json()
    assert credentials["credentials"] == {"api_key": "sk-test-carol-0123456789"}
    assert credentials["auth_scheme"] == "API_KEY"


def test_params_with_a_non_secret_field_keep_it_visible(api: Api, provider: OAuthServer) -> None:
    integration_id = keyed_integration(api, provider, "mailchimp", "API_KEY")
    account = connect(
        api, integration_id, "dave", provider, api_key="0123456789abcdef-us21", dc="us21"
    )
    assert account["params"] == {"dc": "us21"}
    credentials = api.get(f"/v1/connected_accounts/{account['id']}/credentials").json()
    assert credentials["credentials"] == {"api_key": "0123456789abcdef-us21", "dc": "us21"}


def test_basic_connection_stores_both_halves(api: Api, provider: OAuthServer) -> None:
    integration_id = keyed_integration(api, provider, "twilio", "BASIC")
    account = connect(
        api, integration_id, "erin", provider, account_sid="AC" + "0" * 32, auth_token="tok-456"
    )
    assert account["status"] == "ACTIVE"
    credentials = api.get(f"/v1/connected_accounts/{account['id']}/credentials").json()
    assert credentials["credentials"]["auth_token"] == "tok-456"


@pytest.mark.parametrize(
    ("params", "missing", "unknown", "invalid"),
    [
        ({}, ["api_key", "dc"], [], []),
        ({"api_key": "k", "dc": "us1", "colour": "blue"}, [], ["colour"], []),
        ({"api_key": "k", "dc": "evil.com/x"}, [], [], ["dc"]),
    ],
)
def test_missing_unknown_or_invalid_params_are_named_and_nothing_is_written(
    api: Api,
    provider: OAuthServer,
    params: dict[str, str],
    missing: list[str],
    unknown: list[str],
    invalid: list[str],
) -> None:
    integration_id = keyed_integration(api, provider, "mailchimp", "API_KEY")
    response = api.post(
        "/v1/connected_accounts",
        json={"integration_id": integration_id, "entity_id": "frank", "params": params},
    )
    assert response.status_code == 422
    details = response.json()["error"]["details"]
    assert details["missing"] == missing
    assert details["unknown"] == unknown
    assert [i["field"] for i in details["invalid"]] == invalid
    listed = api.get("/v1/connected_accounts", params={"integration_id": integration_id})
    assert listed.json()["items"] == []
    assert api.get(f"/v1/integrations/{integration_id}").json()["account_count"] == 0


def test_list_is_newest_first_and_pages_with_a_cursor(api: Api, provider: OAuthServer) -> None:
    integration_id = keyed_integration(api, provider, "openai", "API_KEY")
    ids = [
        connect(api, integration_id, "pager", provider, api_key=f"sk-{i}")["id"] for i in range(5)
    ]

    seen: list[str] = []
    cursor = None
    while True:
        query: dict[str, Any] = {"entity_id": "pager", "limit": 2}
        if cursor:
            query["cursor"] = cursor
        page = api.get("/v1/connected_accounts", params=query).json()
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break

    assert seen == list(reversed(ids))


def test_a_filtered_list_fills_every_page_but_the_last(api: Api, provider: OAuthServer) -> None:
    # Given accounts of two apps, the wanted one sparse among the others
    openai = keyed_integration(api, provider, "openai", "API_KEY")
    stripe = keyed_integration(api, provider, "stripe", "API_KEY")
    wanted = []
    for i in range(9):
        if i % 3 == 0:
            wanted.append(connect(api, openai, "sparse", provider, api_key=f"sk-{i}")["id"])
        else:
            connect(api, stripe, "sparse", provider, api_key=f"sk_test_{i}")
    # When they are listed two at a time, by the sparse app
    pages = []
    cursor = None
    while True:
        query: dict[str, Any] = {"entity_id": "sparse", "app": "openai", "limit": 2}
        if cursor:
            query["cursor"] = cursor
        page = api.get("/v1/connected_accounts", params=query).json()
        pages.append([a["id"] for a in page["items"]])
        cursor = page["next_cursor"]
        if not cursor:
            break
    # Then every page is full until the last, and none is empty
    assert pages == [list(reversed(wanted))[:2], list(reversed(wanted))[2:]]


def test_list_filters_by_app_status_and_integration(api: Api, provider: OAuthServer) -> None:
    openai = keyed_integration(api, provider, "openai", "API_KEY")
    stripe = keyed_integration(api, provider, "stripe", "API_KEY")
    a = connect(api, openai, "grace", provider, api_key="sk-a")["id"]
    b = connect(api, stripe, "grace", provider, api_key="sk_test_b")["id"]

    def ids(**query: str) -> list[str]:
        response = api.get("/v1/connected_accounts", params={"entity_id": "grace", **query})
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert ids() == [b, a]
    assert ids(app="stripe") == [b]
    assert ids(integration_id=openai) == [a]
    assert ids(status="ACTIVE") == [b, a]
    assert ids(status="FAILED") == []


def test_integration_with_accounts_cannot_be_deleted(api: Api, provider: OAuthServer) -> None:
    integration_id = keyed_integration(api, provider, "openai", "API_KEY")
    connect(api, integration_id, "heidi", provider, api_key="sk-h")
    response = api.delete(f"/v1/integrations/{integration_id}")
    assert response.status_code == 409
    assert response.json()["error"]["details"]["account_count"] == 1


def test_other_tenant_cannot_use_or_see_an_integration(
    api: Api, other_api: Api, provider: OAuthServer
) -> None:
    integration_id = keyed_integration(api, provider, "openai", "API_KEY")
    response = other_api.post(
        "/v1/connected_accounts",
        json={"integration_id": integration_id, "entity_id": "mallory", "params": {"api_key": "x"}},
    )
    assert response.status_code == 404
    assert other_api.get(f"/v1/integrations/{integration_id}").status_code == 404
    assert other_api.delete(f"/v1/integrations/{integration_id}").status_code == 404
    assert api.get(f"/v1/integrations/{integration_id}").status_code == 200


# --- verification with the app -----------------------------------------------------


def test_a_key_the_app_rejects_gives_422_and_no_account(api: Api, provider: OAuthServer) -> None:
    # Given an integration whose app answers 401 to keys it does not know
    integration_id = keyed_integration(api, provider, "mistral", "API_KEY")
    # When a garbage key is submitted
    response = api.post(
        "/v1/connected_accounts",
        json={
            "integration_id": integration_id,
            "entity_id": "ivy",
            "params": {"api_key": "sk-garbage-0000"},
        },
    )
    # Then it is refused, nothing is stored, and the key is not echoed
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "credentials_rejected"
    assert "sk-garbage" not in response.text
    assert api.get("/v1/connected_accounts", params={"entity_id": "ivy"}).json()["items"] == []
    assert api.get(f"/v1/integrations/{integration_id}").json()["account_count"] == 0
    # And the app was asked, with the key where the catalog says it goes
    (asked,) = provider.api_requests
    assert asked["path"] == "/models"
    assert asked["headers"]["Authorization"] == "Bearer sk-garbage-0000"


def test_validate_false_stores_a_key_without_asking_the_app(
    api: Api, provider: OAuthServer
) -> None:
    integration_id = keyed_integration(api, provider, "mistral", "API_KEY")
    response = api.post(
        "/v1/connected_accounts?validate=false",
        json={"integration_id": integration_id, "entity_id": "ivy", "params": {"api_key": "sk-x"}},
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "ACTIVE"
    assert provider.api_requests == []


def test_app_unavailable_gives_502_and_stores_nothing(api: Api, provider: OAuthServer) -> None:
    integration_id = keyed_integration(api, provider, "stripe", "API_KEY")
    provider.register_api_key("sk_test_fine")
    provider.api_status = 503
    response = api.post(
        "/v1/connected_accounts",
        json={
            "integration_id": integration_id,
            "entity_id": "judy",
            "params": {"api_key": "sk_test_fine"},
        },
    )
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "verification_unavailable"
    assert api.get("/v1/connected_accounts", params={"entity_id": "judy"}).json()["items"] == []


def test_verified_key_records_which_upstream_account_it_belongs_to(
    api: Api, provider: OAuthServer
) -> None:
    # Given an integration naming the app's identity call
    response = api.post(
        "/v1/integrations",
        json={
            "app": "openai",
            "auth_scheme": "API_KEY",
            "api": {
                "base_url": provider.api_url,
                "identity": {"path": "/me", "id_field": "id", "name_field": "login"},
            },
        },
    )
    integration_id = response.json()["id"]
    assert response.json()["api"]["identity"]["path"] == "/me"
    # When a good key is connected
    account = connect(api, integration_id, "kim", provider, api_key="sk-kim-123")
    # Then get and list show the upstream account, and no secret
    assert account["upstream_account_id"] == "4242"
    assert account["upstream_display_name"] == "keyfob-tester"
    listed = api.get("/v1/connected_accounts", params={"entity_id": "kim"}).json()["items"]
    assert listed[0]["upstream_account_id"] == "4242"
    assert "sk-kim" not in str(listed)


def test_basic_credentials_are_verified_with_http_basic(api: Api, provider: OAuthServer) -> None:
    integration_id = keyed_integration(api, provider, "twilio", "BASIC")
    sid = "AC" + "1" * 32
    response = api.post(
        "/v1/connected_accounts",
        json={
            "integration_id": integration_id,
            "entity_id": "leo",
            "params": {"account_sid": sid, "auth_token": "wrong"},
        },
    )
    assert response.status_code == 422
    (asked,) = provider.api_requests
    assert asked["path"] == f"/2010-04-01/Accounts/{sid}.json"
    assert asked["headers"]["Authorization"].startswith("Basic ")
