"""Authlib's OAuth 2.0 client as Keyfob sets it up: on this thread's guarded session
(``keyfob.security.http``), with the client authentication the settings name (RFC 7523
assertions, and a JSON body for the providers whose token endpoint takes no form), and
the quirks of providers' token answers as compliance hooks (GitHub's errors with a 200
and its form-encoded answers, a non-numeric ``expires_in``, answers too large to be a
token). Authlib is imported only where a provider is called."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from keyfob.auth.base import GrantError
from keyfob.models.settings import OAuthSettings
from keyfob.security import http

if TYPE_CHECKING:
    import requests
    from authlib.oauth2.client import OAuth2Client

_MAX_TOKEN_RESPONSE = 64 * 1024
# Authlib's signature of a client authentication method: (the client's credentials,
# HTTP method, URI, headers, body) to the request's URI, headers and body.
_Encode = Callable[[Any, str, str, Any, Any], tuple[str, Any, Any]]


def seconds(expires_in: Any) -> int | None:
    """A token answer's ``expires_in`` as a positive number of seconds, or None."""
    try:
        value = int(expires_in) if expires_in not in (None, "") else None
    except (TypeError, ValueError):
        return None
    return value if value is not None and value > 0 else None


def client(
    client_id: str | None, client_secret: str, method: str | None, oauth: OAuthSettings
) -> OAuth2Client:
    """Authlib's client for one token endpoint (and its RFC 7009 revocation endpoint),
    authenticating with ``method``, the provider quirks hooked in."""
    made = _client_class()(
        http.session(),
        client_id=client_id,
        client_secret=client_secret,
        token_endpoint_auth_method=method,
        revocation_endpoint_auth_method=method,
    )
    if method in ("private_key_jwt", "client_secret_jwt"):
        # RFC 7523 2.2: a signed assertion, its audience the token endpoint.
        from authlib.oauth2.rfc7523 import ClientSecretJWT, PrivateKeyJWT

        signer = PrivateKeyJWT if method == "private_key_jwt" else ClientSecretJWT
        made.register_client_auth_method(signer(oauth.token_url))
    if oauth.token_request_format == "json":
        # The token requests only: revocation keeps RFC 7009's form.
        name = f"{made.token_endpoint_auth_method}+json"
        encode = made.client_auth(made.token_endpoint_auth_method).auth_method
        made.register_client_auth_method((name, json_body(encode)))
        made.token_endpoint_auth_method = name
    for hook in ("access_token_response", "refresh_token_response"):
        made.register_compliance_hook(hook, _screened)
    return made


def json_body(encode: _Encode) -> _Encode:
    """A client authentication method that sends the token request as one JSON object:
    Authlib form-encodes the request, ``encode`` (the integration's own method) adds the
    client's credentials, and the form becomes JSON, every value a string as it was."""

    def as_json(auth: Any, method: str, uri: str, headers: Any, body: Any) -> tuple[str, Any, str]:
        uri, headers, body = encode(auth, method, uri, headers, body)
        form = body.decode() if isinstance(body, bytes) else body or ""
        headers["Content-Type"] = "application/json"
        return uri, headers, json.dumps(dict(parse_qsl(form, keep_blank_values=True)))

    return as_json


@cache
def _client_class() -> type[OAuth2Client]:
    """Authlib's OAuth 2.0 client on a requests session of our own (its requests
    integration's client authentication, errors and per-request options)."""
    from authlib.integrations.requests_client import OAuthError
    from authlib.integrations.requests_client.oauth2_session import OAuth2ClientAuth
    from authlib.oauth2.client import OAuth2Client

    class Client(OAuth2Client):  # type: ignore[misc]
        client_auth_class = OAuth2ClientAuth
        oauth_error_class = OAuthError
        SESSION_REQUEST_PARAMS = ("timeout", "allow_redirects")

    return Client


def _screened(response: requests.Response) -> requests.Response:
    """A token endpoint's answer made fit for Authlib to read, or refused: too large to
    be a token, a failure that may pass (5xx, 429), a form-encoded answer (GitHub's
    legacy one, when a proxy drops our Accept header), a non-numeric expires_in, an
    empty refresh_token, an error status without an RFC 6749 error."""
    if len(response.content) > _MAX_TOKEN_RESPONSE:
        raise GrantError("token endpoint response too large")
    if response.status_code >= 500 or response.status_code == 429:
        raise GrantError(f"token endpoint returned HTTP {response.status_code}", transient=True)
    content_type = response.headers.get("Content-Type", "")
    if "application/x-www-form-urlencoded" in content_type or "text/plain" in content_type:
        payload: Any = dict(parse_qsl(response.text))
    else:
        try:
            payload = response.json()
        except ValueError:
            payload = None
    if isinstance(payload, dict):
        # GitHub reports errors with a 200: Authlib raises for an `error` whatever the status.
        if response.status_code != 200 and "error" not in payload:
            raise GrantError(f"token endpoint returned HTTP {response.status_code}")
        if "expires_in" in payload and seconds(payload["expires_in"]) is None:
            del payload["expires_in"]
        # An empty refresh token is none: a refresh then keeps the one it was made with.
        if "refresh_token" in payload and not payload["refresh_token"]:
            del payload["refresh_token"]
        response._content = json.dumps(payload).encode()
        response.headers["Content-Type"] = "application/json"
    elif response.status_code != 200:
        raise GrantError(f"token endpoint returned HTTP {response.status_code}")
    return response
