"""PKCE, state and authorization URL construction (RFC 6749, RFC 7636)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from keyfob import oauth
from keyfob.models import OAuthSettings


def test_code_challenge_matches_rfc_7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert oauth.code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_state_and_verifier_are_random_and_long_enough() -> None:
    states = {oauth.new_state() for _ in range(200)}
    verifiers = {oauth.new_code_verifier() for _ in range(200)}
    assert len(states) == len(verifiers) == 200
    assert min(len(s) for s in states) >= 43  # >= 256 bits, base64url
    assert all(43 <= len(v) <= 128 for v in verifiers)


def test_authorization_url_keeps_the_endpoints_own_query_and_adds_ours() -> None:
    settings = OAuthSettings(
        authorization_url="https://login.example.com/authorize?tenant=common&prompt=none",
        scope_separator=",",
        authorization_params={"prompt": "consent", "access_type": "offline"},
        pkce=True,
    )
    url = oauth.authorization_url(
        settings,
        client_id="cid",
        redirect_uri="https://keyfob.example/v1/oauth/callback",
        scopes=["a", "b"],
        state="st",
        code_verifier="v" * 43,
    )
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert parts.netloc == "login.example.com"
    assert query == {
        "tenant": "common",
        "prompt": "consent",
        "access_type": "offline",
        "response_type": "code",
        "client_id": "cid",
        "redirect_uri": "https://keyfob.example/v1/oauth/callback",
        "state": "st",
        "scope": "a,b",
        "code_challenge": oauth.code_challenge("v" * 43),
        "code_challenge_method": "S256",
    }


def test_authorization_params_cannot_replace_state_or_redirect_uri() -> None:
    settings = OAuthSettings(
        authorization_url="https://login.example.com/authorize",
        authorization_params={"state": "attacker", "redirect_uri": "https://evil.example"},
    )
    url = oauth.authorization_url(
        settings,
        client_id="c",
        redirect_uri="https://k.example/cb",
        scopes=[],
        state="mine",
        code_verifier=None,
    )
    query = parse_qs(urlsplit(url).query)
    assert query["state"] == ["mine"]
    assert query["redirect_uri"] == ["https://k.example/cb"]
    assert "code_challenge" not in query


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
    tokens = oauth.token_set(payload)
    assert tokens["access_token"] == "a"
    assert "expires_in" not in tokens
    assert (tokens["expires_at"] is not None) is has_expiry
