"""Validation of integration credentials and connection params against catalog fields."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from keyfob.catalog import params
from keyfob.catalog.names import AuthScheme
from keyfob.catalog.schema import ParamField
from keyfob.core import urls
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
    assert (urls.url_problem(url) is None) is allowed


def test_loopback_over_http_is_allowed_only_when_configured() -> None:
    # The test session runs with KEYFOB_ALLOW_HTTP_LOOPBACK=true, as the local stack does.
    assert urls.url_problem("http://127.0.0.1:8080/token") is None
    assert urls.url_problem("http://10.0.0.1/token") is not None


def test_the_document_says_which_credentials_each_scheme_s_integration_takes() -> None:
    from keyfob.catalog import loader
    from keyfob.catalog.params import integration_fields
    from keyfob.models.integrations import IntegrationCreate

    def documented(scheme: AuthScheme) -> dict[str, Any]:
        """The credentials the document asks of this scheme's integration (the clause
        naming it that says what credentials are)."""
        for clause in IntegrationCreate.model_json_schema()["allOf"]:
            named = clause["if"]["properties"]["auth_scheme"]["enum"]
            then = clause["then"]
            if scheme.value not in named:
                continue
            if scheme is AuthScheme.OAUTH2:
                # Without `mcp`; a remote MCP server's takes the same, none required.
                assert then["then"]["properties"]["credentials"]["required"] == []
                return dict(then["else"]["properties"]["credentials"])
            if "credentials" in then["properties"]:
                return dict(then["properties"]["credentials"])
        raise AssertionError(f"the document says nothing of {scheme.value}")

    for app in loader.list_apps():
        for scheme in app.auth_schemes:
            fields = integration_fields(scheme)
            said = documented(scheme.type)
            if not fields:
                assert said == {"maxProperties": 0}
                continue
            assert {f.name for f in fields} == set(said["properties"])
            required = {f.name for f in fields if f.required and f.default is None}
            assert required == set(said["required"])
