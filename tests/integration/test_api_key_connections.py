"""API key, bearer and basic connections, and reading accounts, over the local gateway."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api


def integration(api: Api, app: str, scheme: str) -> str:
    response = api.post("/v1/integrations", json={"app": app, "auth_scheme": scheme})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def connect(api: Api, integration_id: str, entity_id: str, **params: str) -> dict[str, Any]:
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
    api: Api,
) -> None:
    # Given an OpenAI integration
    integration_id = integration(api, "openai", "API_KEY")
    # When an end user's key is submitted
    account = connect(api, integration_id, "carol", api_key="sk-test-carol-0123456789")
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


def test_params_with_a_non_secret_field_keep_it_visible(api: Api) -> None:
    integration_id = integration(api, "mailchimp", "API_KEY")
    account = connect(api, integration_id, "dave", api_key="0123456789abcdef-us21", dc="us21")
    assert account["params"] == {"dc": "us21"}
    credentials = api.get(f"/v1/connected_accounts/{account['id']}/credentials").json()
    assert credentials["credentials"] == {"api_key": "0123456789abcdef-us21", "dc": "us21"}


def test_basic_connection_stores_both_halves(api: Api) -> None:
    integration_id = integration(api, "twilio", "BASIC")
    account = connect(
        api, integration_id, "erin", account_sid="AC" + "0" * 32, auth_token="tok-456"
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
    api: Api, params: dict[str, str], missing: list[str], unknown: list[str], invalid: list[str]
) -> None:
    integration_id = integration(api, "mailchimp", "API_KEY")
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


def test_list_is_newest_first_and_pages_with_a_cursor(api: Api) -> None:
    integration_id = integration(api, "openai", "API_KEY")
    ids = [connect(api, integration_id, "pager", api_key=f"sk-{i}")["id"] for i in range(5)]

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


def test_list_filters_by_app_status_and_integration(api: Api) -> None:
    openai = integration(api, "openai", "API_KEY")
    stripe = integration(api, "stripe", "API_KEY")
    a = connect(api, openai, "grace", api_key="sk-a")["id"]
    b = connect(api, stripe, "grace", api_key="sk_test_b")["id"]

    def ids(**query: str) -> list[str]:
        response = api.get("/v1/connected_accounts", params={"entity_id": "grace", **query})
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert ids() == [b, a]
    assert ids(app="stripe") == [b]
    assert ids(integration_id=openai) == [a]
    assert ids(status="ACTIVE") == [b, a]
    assert ids(status="FAILED") == []


def test_integration_with_accounts_cannot_be_deleted(api: Api) -> None:
    integration_id = integration(api, "openai", "API_KEY")
    connect(api, integration_id, "heidi", api_key="sk-h")
    response = api.delete(f"/v1/integrations/{integration_id}")
    assert response.status_code == 409
    assert response.json()["error"]["details"]["account_count"] == 1


def test_other_tenant_cannot_use_or_see_an_integration(api: Api, other_api: Api) -> None:
    integration_id = integration(api, "openai", "API_KEY")
    response = other_api.post(
        "/v1/connected_accounts",
        json={"integration_id": integration_id, "entity_id": "mallory", "params": {"api_key": "x"}},
    )
    assert response.status_code == 404
    assert other_api.get(f"/v1/integrations/{integration_id}").status_code == 404
    assert other_api.delete(f"/v1/integrations/{integration_id}").status_code == 404
    assert api.get(f"/v1/integrations/{integration_id}").status_code == 200
