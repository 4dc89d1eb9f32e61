"""The catalog and integrations over the local gateway, authorizer included."""

from __future__ import annotations

import pytest

from devstack.oauth_provider import OAuthServer
from tests.conftest import Api


def test_requests_without_or_with_a_wrong_api_key_are_refused(anonymous: Api) -> None:
    assert anonymous.get("/v1/apps").status_code == 401
    wrong = anonymous.get("/v1/apps", headers={"x-api-key": "kf_" + "x" * 43})
    assert wrong.status_code == 403


def test_catalog_lists_apps_and_filters_by_scheme(api: Api) -> None:
    apps = api.get("/v1/apps").json()["items"]
    slugs = {a["slug"] for a in apps}
    assert {"github", "google", "slack", "stripe", "openai", "zendesk"} <= slugs
    basic = api.get("/v1/apps", params={"auth_scheme": "BASIC"}).json()["items"]
    assert basic
    assert all(any(s["type"] == "BASIC" for s in a["auth_schemes"]) for a in basic)


def test_catalog_lists_250_apps_each_with_a_logo_and_a_docs_page_per_scheme(api: Api) -> None:
    apps = api.get("/v1/apps").json()["items"]

    assert len(apps) >= 250
    assert all(a["logo_url"].startswith("https://") for a in apps)
    assert all(s["docs_url"].startswith("https://") for a in apps for s in a["auth_schemes"])
    (opsgenie,) = [a for a in apps if a["slug"] == "opsgenie"]
    assert opsgenie["auth_schemes"][0]["deprecated"]["date"] == "2027-04-05"


def test_an_integration_of_a_retiring_scheme_carries_a_warning(api: Api) -> None:
    created = api.post(
        "/v1/integrations", json={"app": "opsgenie", "auth_scheme": "API_KEY", "credentials": {}}
    )
    assert created.status_code == 201, created.text
    (warning,) = created.json()["warnings"]
    assert warning.startswith("opsgenie retires API_KEY on 2027-04-05: ")
    fetched = api.get(f"/v1/integrations/{created.json()['id']}").json()
    assert fetched["warnings"] == [warning]
    plain = api.post(
        "/v1/integrations", json={"app": "openai", "auth_scheme": "API_KEY", "credentials": {}}
    )
    assert plain.json()["warnings"] == []


def test_a_regional_field_lists_its_choices_and_refuses_others(api: Api) -> None:
    params = api.get("/v1/apps/posthog/params", params={"auth_scheme": "BEARER_TOKEN"}).json()
    region = {f["name"]: f for f in params["connection_fields"]}["region"]
    assert (region["choices"], region["default"]) == (["us", "eu"], "us")


def test_params_name_integration_and_connection_fields(api: Api) -> None:
    response = api.get("/v1/apps/zendesk/params", params={"auth_scheme": "OAUTH2"})
    assert response.status_code == 200
    body = response.json()
    secret = {f["name"]: f["secret"] for f in body["integration_fields"]}
    assert secret == {"client_id": False, "client_secret": True, "scopes": False}
    (subdomain,) = body["connection_fields"]
    assert subdomain["name"] == "subdomain"
    assert subdomain["required"] is True
    assert {"display_name", "type", "description", "default"} <= set(subdomain)


@pytest.mark.parametrize(
    ("path", "query", "status", "code"),
    [
        ("/v1/apps/no-such-app", {}, 404, "app_not_found"),
        ("/v1/apps/no-such-app/params", {"auth_scheme": "OAUTH2"}, 404, "app_not_found"),
        ("/v1/apps/openai/params", {"auth_scheme": "OAUTH2"}, 404, "auth_scheme_not_supported"),
        ("/v1/apps/openai/params", {}, 422, "validation_error"),
        ("/v1/apps/openai/params", {"auth_scheme": "MAGIC"}, 422, "validation_error"),
        ("/v1/apps/Not_A_Slug!", {}, 422, "validation_error"),
    ],
)
def test_catalog_bad_requests_get_a_clear_4xx(
    api: Api, path: str, query: dict[str, str], status: int, code: str
) -> None:
    response = api.get(path, params=query)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_integration_secret_is_never_returned(api: Api) -> None:
    created = api.post(
        "/v1/integrations",
        json={
            "app": "github",
            "auth_scheme": "OAUTH2",
            "credentials": {"client_id": "Iv1.abc", "client_secret": "very-secret-value"},
        },
    )
    assert created.status_code == 201
    body = created.json()
    assert body["client_id"] == "Iv1.abc"
    assert body["scopes"]  # the catalog's defaults
    assert body["oauth"]["authorization_url"] == "https://github.com/login/oauth/authorize"
    fetched = api.get(f"/v1/integrations/{body['id']}")
    listed = api.get("/v1/integrations", params={"limit": 100})
    for response in (created, fetched, listed):
        assert "very-secret-value" not in response.text


def test_integrations_page_and_delete(api: Api, other_api: Api) -> None:
    ids = {
        api.post("/v1/integrations", json={"app": "openai", "auth_scheme": "API_KEY"}).json()["id"]
        for _ in range(3)
    }
    seen: set[str] = set()
    cursor = None
    for _ in range(100):
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/integrations", params=query).json()
        seen |= {i["id"] for i in page["items"]}
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert ids <= seen
    assert not ids & {i["id"] for i in other_api.get("/v1/integrations").json()["items"]}
    victim = ids.pop()
    assert api.delete(f"/v1/integrations/{victim}").status_code == 204
    assert api.get(f"/v1/integrations/{victim}").status_code == 404
    assert api.delete(f"/v1/integrations/{victim}").status_code == 404


def test_custom_oauth_server_needs_its_endpoints(api: Api) -> None:
    response = api.post(
        "/v1/integrations",
        json={
            "app": "oauth2",
            "auth_scheme": "OAUTH2",
            "credentials": {"client_id": "a", "client_secret": "b"},
        },
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"]["missing"] == [
        "oauth.authorization_url",
        "oauth.token_url",
    ]


@pytest.mark.parametrize(
    ("oauth", "field"),
    [
        ({"token_url": "http://provider.example/token"}, "oauth.token_url"),
        ({"authorization_url": "https://user:pw@provider.example/a"}, "oauth.authorization_url"),
        ({"token_url": "https://{tenant}.provider.example/t"}, "oauth.token_url"),
    ],
)
def test_oauth_overrides_must_be_safe_urls(api: Api, oauth: dict[str, str], field: str) -> None:
    response = api.post(
        "/v1/integrations",
        json={
            "app": "github",
            "auth_scheme": "OAUTH2",
            "credentials": {"client_id": "a", "client_secret": "b"},
            "oauth": oauth,
        },
    )
    assert response.status_code == 422
    assert [i["field"] for i in response.json()["error"]["details"]["invalid"]] == [field]


def test_oauth_override_of_a_catalog_app_points_it_elsewhere(
    api: Api, oauth_server: OAuthServer
) -> None:
    response = api.post(
        "/v1/integrations",
        json={
            "app": "github",
            "auth_scheme": "OAUTH2",
            "credentials": {"client_id": "a", "client_secret": "b", "scopes": "repo, read:org"},
            "oauth": {"token_url": oauth_server.token_url, "scope_separator": ","},
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["scopes"] == ["repo", "read:org"]
    assert body["oauth"]["token_url"] == oauth_server.token_url
    assert body["oauth"]["authorization_url"] == "https://github.com/login/oauth/authorize"


@pytest.mark.parametrize(
    ("app", "scheme", "section", "missing"),
    [
        ("harvest", "OAUTH2", "oauth", ["token_url"]),
        (
            "garmin",
            "OAUTH1",
            "oauth1",
            ["request_token_url", "authorization_url", "access_token_url"],
        ),
    ],
)
def test_an_endpoint_the_catalog_leaves_null_is_the_integrations_to_supply(
    api: Api, app: str, scheme: str, section: str, missing: list[str]
) -> None:
    integration = {
        "app": app,
        "auth_scheme": scheme,
        "credentials": {"client_id": "a", "client_secret": "b"},
    }
    refused = api.post("/v1/integrations", json=integration)
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["missing"] == [f"{section}.{m}" for m in missing]

    supplied = {name: f"https://auth.provider.example/{name}" for name in missing}
    response = api.post("/v1/integrations", json={**integration, section: supplied})
    assert response.status_code == 201, response.text
    assert {k: response.json()[section][k] for k in missing} == supplied
