"""Validation of integration credentials and connection params against catalog fields."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from keyfob.catalog import AuthScheme, ParamField, params
from keyfob.core.config import settings
from keyfob.core.errors import Invalid


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("KEYFOB_ALLOW_HTTP_LOOPBACK", "false")
    settings.cache_clear()
    yield
    monkeypatch.undo()
    settings.cache_clear()


FIELDS = [
    ParamField(name="api_key", display_name="API key", description="d", secret=True),
    ParamField(name="dc", display_name="DC", description="d", pattern=r"^[a-z]{2}\d{1,3}$"),
    ParamField(name="region", display_name="Region", description="d", required=False, default="eu"),
    ParamField(
        name="scopes", display_name="S", description="d", type="string_list", required=False
    ),
]


def test_valid_values_pass_with_defaults_applied_and_lists_split() -> None:
    values = params.validate(
        FIELDS, {"api_key": " k ", "dc": "us2", "scopes": "a b,c"}, what="params"
    )
    assert values == {"api_key": "k", "dc": "us2", "region": "eu", "scopes": ["a", "b", "c"]}


def test_every_problem_is_named_at_once_without_echoing_values() -> None:
    with pytest.raises(Invalid) as caught:
        params.validate(FIELDS, {"dc": "evil.com/x", "colour": "SECRET-ish"}, what="params")
    error = caught.value
    assert error.details == {
        "missing": ["api_key"],
        "unknown": ["colour"],
        "invalid": [{"field": "dc", "reason": "must match ^[a-z]{2}\\d{1,3}$"}],
    }
    assert "SECRET-ish" not in error.message
    assert "evil.com" not in str(error.body())


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://provider.example/token", True),
        ("http://provider.example/token", False),
        ("https://user:pw@provider.example/token", False),
        ("https://provider.example/#frag", False),
        ("/relative", False),
        ("javascript:alert(1)", False),
        ("https://provider.example:99999/", False),
        ("https://169.254.169.254/latest/meta-data", False),
        ("https://10.0.0.8/token", False),
        ("https://[::1]/token", False),
        ("https://127.0.0.1/token", False),
        ("https://93.184.216.34/token", True),
        ("http://127.0.0.1:8080/token", False),
    ],
)
def test_url_problem_in_production(production: None, url: str, allowed: bool) -> None:
    assert (params.url_problem(url) is None) is allowed


def test_loopback_over_http_is_allowed_only_when_configured() -> None:
    # The test session runs with KEYFOB_ALLOW_HTTP_LOOPBACK=true, as the local stack does.
    assert params.url_problem("http://127.0.0.1:8080/token") is None
    assert params.url_problem("http://10.0.0.1/token") is not None


def test_the_document_says_which_credentials_an_oauth2_integration_takes() -> None:
    from keyfob import catalog
    from keyfob.catalog.params import integration_fields
    from keyfob.models.integrations import IntegrationCreate

    # Without `mcp`; a remote MCP server's integration takes the same fields, none required.
    by_mcp = IntegrationCreate.model_json_schema()["then"]
    documented = by_mcp["else"]["properties"]["credentials"]
    assert by_mcp["then"]["properties"]["credentials"]["required"] == []
    others = IntegrationCreate.model_json_schema()["else"]
    machine = others["then"]["properties"]["credentials"]
    consumer = others["else"]["then"]["properties"]["credentials"]
    for app in catalog.list_apps():
        for scheme in app.auth_schemes:
            fields = integration_fields(scheme)
            if scheme.type is AuthScheme.OAUTH2_CLIENT_CREDENTIALS:
                # Each connection brings its own client: the integration gives scopes at most.
                assert [f.name for f in fields] == list(machine["properties"]) == ["scopes"]
                continue
            if scheme.type is AuthScheme.OAUTH1:
                assert [f.name for f in fields] == list(consumer["properties"])
                assert consumer["required"] == ["client_id", "client_secret"]
                continue
            if scheme.type is not AuthScheme.OAUTH2:
                assert fields == []
                continue
            assert {f.name for f in fields} == set(documented["properties"])
            required = {f.name for f in fields if f.required and f.default is None}
            assert required == set(documented["required"])
