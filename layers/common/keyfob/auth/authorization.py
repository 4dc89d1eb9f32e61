"""The authorization request of the code flow (RFC 6749 4.1.1, with PKCE S256, RFC 7636):
its random state and verifier, and the URL the user's browser is sent to."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from keyfob.auth.base import Authorization

# What the authorization request's own parameters are; an integration cannot set them.
RESERVED = frozenset({"response_type", "client_id", "redirect_uri", "state", "scope"})


def new_state() -> str:
    return secrets.token_urlsafe(32)


def new_code_verifier() -> str:
    # 64 random bytes -> 86 characters, inside RFC 7636's 43..128.
    return secrets.token_urlsafe(64)


def authorization_url(
    endpoint: str, client_id: str, redirect_uri: str, pkce: bool, extra: dict[str, str]
) -> Authorization:
    """The request to the authorization endpoint: the endpoint's own query kept, but for
    what the request itself sets."""
    from authlib.oauth2.client import OAuth2Client

    state = new_state()
    verifier = new_code_verifier() if pkce else None
    client = OAuth2Client(
        None, client_id=client_id, code_challenge_method="S256" if verifier else None
    )
    parts = urlsplit(endpoint)
    ours = {*extra, *RESERVED, "code_challenge", "code_challenge_method"}
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ours]
    url, _ = client.create_authorization_url(
        urlunsplit(parts._replace(query=urlencode(kept))),
        state=state,
        code_verifier=verifier,
        redirect_uri=redirect_uri,
        **extra,
    )
    return Authorization(url, state, verifier)
