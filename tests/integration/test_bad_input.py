"""Bad input gets a clear 4xx JSON error naming the problem, and writes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Api

VALID_ID = "int_" + "a" * 24


def error_of(response: Any) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/json")
    return dict(response.json()["error"])


@pytest.fixture
def openai_integration(api: Api) -> str:
    response = api.post("/v1/integrations", json={"app": "openai", "auth_scheme": "API_KEY"})
    return str(response.json()["id"])


def test_malformed_json_is_a_400(api: Api) -> None:
    response = api.post(
        "/v1/integrations", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_json"


# Every JSON route, the proxy's larger body included.
JSON_ROUTES = [
    "/v1/integrations",
    "/v1/connected_accounts",
    "/v1/connect_links",
    f"/v1/connected_accounts/ca_{'a' * 24}/proxy",
    f"/v1/connected_accounts/ca_{'a' * 24}/confirm",
]


@pytest.mark.parametrize(
    ("path", "depth"),
    [(path, depth) for path in JSON_ROUTES for depth in (65, 1_000)]
    # 100,000 levels (200 KB) fit the proxy's 5 MiB only
    + [(JSON_ROUTES[3], 100_000)],
)
def test_json_nested_too_deep_is_a_400(api: Api, path: str, depth: int) -> None:
    # 1,000 levels are 2 KB: well under the size limit, and past Python's recursion limit
    response = api.post(
        path, data="[" * depth + "]" * depth, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert error_of(response)["code"] == "invalid_json"


def test_json_as_deep_as_allowed_reaches_validation(api: Api) -> None:
    nested: Any = {}
    for _ in range(62):
        nested = {"a": nested}
    response = api.post(
        "/v1/integrations", json={"app": "openai", "auth_scheme": "API_KEY", "name": nested}
    )
    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"


def test_body_that_is_not_utf8_is_a_400(api: Api) -> None:
    response = api.post(
        "/v1/integrations", data=b"\xff\xfe{", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_json"


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "application/octet-stream"]
)
def test_non_json_bodies_are_a_415_that_echoes_nothing(api: Api, content_type: str) -> None:
    body = '{"app": "openai", "auth_scheme": "API_KEY", "name": "sk-SECRET-VALUE"}'
    response = api.post("/v1/integrations", data=body, headers={"Content-Type": content_type})
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_content_type"
    assert "sk-SECRET-VALUE" not in response.text


@pytest.mark.parametrize(
    ("body", "location"),
    [
        ({"app": 5, "auth_scheme": "API_KEY"}, "body.app"),
        ({"app": "openai"}, "body.auth_scheme"),
        ({"app": "openai", "auth_scheme": "API_KEY", "extra": 1}, "body.extra"),
        ([], "body"),
        ("a string", "body"),
    ],
)
def test_wrong_shapes_are_a_422_naming_the_field(api: Api, body: Any, location: str) -> None:
    response = api.post("/v1/integrations", json=body)
    assert response.status_code == 422
    error = error_of(response)
    assert location in [d["location"] for d in error["details"]]


def test_validation_errors_never_echo_the_submitted_value(api: Api) -> None:
    response = api.post(
        "/v1/connected_accounts",
        json={"integration_id": VALID_ID, "entity_id": "bad entity with spaces sk-SECRET"},
    )
    assert response.status_code == 422
    assert "sk-SECRET" not in response.text


def test_oversized_body_is_a_413_and_writes_nothing(api: Api) -> None:
    before = len(api.get("/v1/integrations", params={"limit": 100}).json()["items"])
    body = {"app": "openai", "auth_scheme": "API_KEY", "name": "x" * 40_000}
    response = api.post("/v1/integrations", data=json.dumps(body))
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"
    assert len(api.get("/v1/integrations", params={"limit": 100}).json()["items"]) == before


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("get", f"/v1/integrations/{VALID_ID}", "integration_not_found"),
        ("delete", f"/v1/integrations/{VALID_ID}", "integration_not_found"),
        ("get", "/v1/connected_accounts/ca_" + "b" * 24, "connected_account_not_found"),
        (
            "get",
            "/v1/connected_accounts/ca_" + "b" * 24 + "/credentials",
            "connected_account_not_found",
        ),
    ],
)
def test_unknown_ids_are_a_404(api: Api, method: str, path: str, code: str) -> None:
    response = api.request(method, path)
    assert response.status_code == 404
    assert error_of(response)["code"] == code


@pytest.mark.parametrize("path", ["/v1/integrations/nope", "/v1/connected_accounts/../x"])
def test_malformed_ids_are_refused(api: Api, path: str) -> None:
    response = api.get(path)
    assert response.status_code in (404, 422)


def test_initiating_with_an_unknown_integration_writes_nothing(api: Api) -> None:
    response = api.post(
        "/v1/connected_accounts",
        json={"integration_id": VALID_ID, "entity_id": "ivan", "params": {"api_key": "k"}},
    )
    assert response.status_code == 404
    assert api.get("/v1/connected_accounts", params={"entity_id": "ivan"}).json()["items"] == []


@pytest.mark.parametrize(
    "redirect_url",
    ["javascript:alert(1)", "http://app.example.com/cb", "/relative/path", "https://a.example/#x"],
)
def test_unsafe_redirect_urls_are_refused(
    api: Api, openai_integration: str, redirect_url: str
) -> None:
    response = api.post(
        "/v1/connected_accounts",
        json={
            "integration_id": openai_integration,
            "entity_id": "judy",
            "params": {"api_key": "k"},
            "redirect_url": redirect_url,
        },
    )
    assert response.status_code == 422
    assert api.get("/v1/connected_accounts", params={"entity_id": "judy"}).json()["items"] == []


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "1000"},
        {"limit": "ten"},
        {"status": "HAPPY"},
        {"entity_id": "has#hash"},
        {"cursor": "not-base64!!"},
        {"cursor": "eyJwIjogIlRFTkFOVCN0bl9vdGhlciJ9"},
    ],
)
def test_bad_list_queries_are_refused(api: Api, query: dict[str, str]) -> None:
    error_of(api.get("/v1/connected_accounts", params=query))


def test_unknown_route_is_a_404(api: Api) -> None:
    assert api.get("/v1/nothing-here").status_code == 404
