"""PKCE, state and authorization URL construction (RFC 6749, RFC 7636), on Authlib."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from keyfob.auth import authorization, oauth2
from keyfob.auth.base import Context
from keyfob.catalog.names import AuthScheme
from keyfob.models.records.integrations import IntegrationRecord
from keyfob.models.settings import OAuthSettings


def test_code_challenge_matches_rfc_7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert create_s256_code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_state_and_verifier_are_random_and_long_enough() -> None:
    states = {authorization.new_state() for _ in range(200)}
    verifiers = {authorization.new_code_verifier() for _ in range(200)}
    assert len(states) == len(verifiers) == 200
    assert min(len(s) for s in states) >= 43  # >= 256 bits, base64url
    assert all(43 <= len(v) <= 128 for v in verifiers)


def _authorize(settings: OAuthSettings, scopes: list[str]) -> tuple[dict[str, Any], str, Any]:
    integration = IntegrationRecord(
        tenant_id="tn_x",
        id="int_x",
        name="x",
        app="oauth2",
        auth_scheme=AuthScheme.OAUTH2,
        client_id="cid",
        scopes=scopes,
        oauth=settings,
        created_at="2026-01-01T00:00:00.000000Z",
    )
    begun = oauth2.OAuth2().begin(
        Context(integration, {}), {}, "https://keyfob.example/v1/oauth/callback"
    )
    assert begun.authorization is not None
    parts = urlsplit(begun.authorization.url)
    return {k: v for k, v in parse_qs(parts.query).items()}, parts.netloc, begun.authorization


def test_authorization_url_keeps_the_endpoints_own_query_and_adds_ours() -> None:
    settings = OAuthSettings(
        authorization_url="https://login.example.com/authorize?tenant=common&prompt=none",
        scope_separator=",",
        authorization_params={"prompt": "consent", "access_type": "offline"},
        pkce=True,
    )
    query, host, authorization = _authorize(settings, ["a", "b"])
    assert host == "login.example.com"
    assert query == {
        "tenant": ["common"],
        "prompt": ["consent"],
        "access_type": ["offline"],
        "response_type": ["code"],
        "client_id": ["cid"],
        "redirect_uri": ["https://keyfob.example/v1/oauth/callback"],
        "state": [authorization.state],
        "scope": ["a,b"],
        "code_challenge": [create_s256_code_challenge(authorization.code_verifier)],
        "code_challenge_method": ["S256"],
    }


def test_authorization_params_cannot_replace_state_or_redirect_uri() -> None:
    settings = OAuthSettings(
        authorization_url="https://login.example.com/authorize",
        authorization_params={"state": "attacker", "redirect_uri": "https://evil.example"},
        pkce=False,
    )
    query, _, authorization = _authorize(settings, [])
    assert query["state"] == [authorization.state]
    assert query["redirect_uri"] == ["https://keyfob.example/v1/oauth/callback"]
    assert "code_challenge" not in query
    assert authorization.code_verifier is None


@pytest.mark.parametrize(
    ("payload", "has_expiry"),
    [
        ({"access_token": "a", "expires_in": 3600}, True),
        ({"access_token": "a", "expires_in": "3600"}, True),
        ({"access_token": "a"}, False),
        ({"access_token": "a", "expires_in": None}, False),
        ({"access_token": "a", "expires_in": "soon"}, False),
    ],
)
def test_token_set_turns_expires_in_into_expires_at(
    payload: dict[str, object], has_expiry: bool
) -> None:
    tokens = oauth2.token_set(payload)
    assert tokens["access_token"] == "a"
    assert "expires_in" not in tokens
    assert (tokens["expires_at"] is not None) is has_expiry
