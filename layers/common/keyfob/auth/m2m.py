"""OAuth 2.0 client credentials (RFC 6749 4.4), machine to machine: the connection's own
client id and secret (or private key, ``private_key_jwt``) buy an access token, bought
again before it expires; there is no refresh token. The token request carries the
catalog's scopes, ``audience`` and RFC 8707 ``resource``. Authlib's client makes every
call (``keyfob.auth.oauth2``), through the egress guard."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keyfob.auth import oauth2
from keyfob.auth.base import Context, GrantError, Minted, RevocationStatus
from keyfob.auth.keys import signing_key_problem
from keyfob.catalog import loader

_SECRETS = ("client_secret", "private_key")


def _as_client(context: Context, credential: Mapping[str, Any]) -> Context:
    """The context with the connection's client in the integration's place."""
    oauth = context.integration.oauth
    assert oauth is not None
    method = oauth.token_endpoint_auth_method
    field = "private_key" if method == "private_key_jwt" else "client_secret"
    secret = str(credential.get(field) or "")
    if not secret:
        raise GrantError(f"{field} is required by {method}", error="invalid_request")
    if field == "private_key" and (problem := signing_key_problem(secret)):
        raise GrantError(f"private_key {problem}", error="invalid_request")
    integration = context.integration.model_copy(update={"client_id": context.params["client_id"]})
    return Context(integration, context.params, secret)


def _token(context: Context, credential: Mapping[str, Any]) -> dict[str, Any]:
    scheme = loader.get_app(context.integration.app).scheme(context.integration.auth_scheme)
    request: dict[str, Any] = {"grant_type": "client_credentials"}
    oauth = context.integration.oauth
    assert oauth is not None
    scopes = context.integration.scopes or list(scheme.default_scopes)
    if scopes:
        request["scope"] = (oauth.scope_separator or " ").join(scopes)
    for name in ("audience", "resource"):
        if value := getattr(scheme, name):
            request[name] = loader.fill(value, dict(context.params))
    tokens = oauth2.token_request(
        _as_client(context, credential), "the client credentials", **request
    )
    tokens.pop("refresh_token", None)  # RFC 6749 4.4.3: none should come; none is used
    return {**{k: credential[k] for k in _SECRETS if credential.get(k)}, **tokens}


class ClientCredentials(Minted):
    revocable = True

    def mint(self, context: Context, credential: Mapping[str, Any]) -> dict[str, Any]:
        return _token(context, credential)

    def revoke(
        self, context: Context, credential: Mapping[str, Any]
    ) -> tuple[RevocationStatus, str | None]:
        try:
            client = _as_client(context, credential)
        except GrantError as exc:
            return "failed", str(exc)
        return oauth2.OAuth2().revoke(client, {"access_token": credential.get("access_token")})
