"""Putting a credential on a request the way each app takes it, and reading its answer."""

from __future__ import annotations

import pytest

from keyfob import catalog, upstream
from keyfob.catalog import AuthScheme, CredentialPlacement
from keyfob.errors import Unprocessable
from keyfob.models import ApiSettings


def test_header_placement_with_a_prefix() -> None:
    placement = CredentialPlacement(
        location="header", name="Authorization", prefix="Bearer ", field="api_key"
    )
    assert upstream.apply(placement, {"api_key": "k"}) == ({"Authorization": "Bearer k"}, {}, None)


def test_query_placement() -> None:
    placement = CredentialPlacement(location="query", name="key", field="api_key")
    assert upstream.apply(placement, {"api_key": "k"}) == ({}, {"key": "k"}, None)


def test_basic_placement_without_a_password() -> None:
    placement = CredentialPlacement(location="basic", username_field="api_key")
    assert upstream.apply(placement, {"api_key": "sk"}) == ({}, {}, ("sk", ""))


@pytest.mark.parametrize(
    ("path", "expected"),
    [("id", 7), ("user.id", "u"), ("user.missing", None), ("id.deeper", None), (None, None)],
)
def test_dotted_fields(path: str | None, expected: object) -> None:
    assert upstream._field({"id": 7, "user": {"id": "u"}}, path) == expected


def test_given_an_override_then_it_replaces_the_catalogs_base_and_identity() -> None:
    app = catalog.get_app("github")
    scheme = app.scheme(AuthScheme.BEARER_TOKEN)
    merged = upstream.effective_settings(
        app, scheme, ApiSettings(base_url="https://git.example.com/api/v3")
    )
    assert merged.base_url == "https://git.example.com/api/v3"
    assert merged.identity == scheme.identity


def test_given_a_private_address_then_the_override_is_refused() -> None:
    app = catalog.get_app("github")
    with pytest.raises(Unprocessable) as refused:
        upstream.effective_settings(
            app, app.scheme(AuthScheme.BEARER_TOKEN), ApiSettings(base_url="https://10.0.0.1/api")
        )
    assert refused.value.details["invalid"][0]["field"] == "api.base_url"
