"""OAuth 2.0 authorization code flow with PKCE (RFC 6749, RFC 7636, RFC 9207).

``requests`` is imported only where a token endpoint is called, so the functions
that only build authorization URLs do not load it.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from keyfob import catalog
from keyfob.catalog import App, SchemeSpec
from keyfob.config import settings
from keyfob.errors import Unprocessable
from keyfob.ids import iso, now
from keyfob.models import OAuthSettings
from keyfob.params import url_problem

_URL_FIELDS = ("authorization_url", "token_url", "revocation_url", "base_url")
_MAX_TOKEN_RESPONSE = 64 * 1024
_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


class TokenExchangeError(Exception):
    """The token endpoint did not give us a token; the message is safe to store and show."""


def new_state() -> str:
    return secrets.token_urlsafe(32)


def new_code_verifier() -> str:
    # 64 random bytes -> 86 characters, inside RFC 7636's 43..128.
    return secrets.token_urlsafe(64)


def code_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def hash_state(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def effective_settings(
    app: App, scheme: SchemeSpec, overrides: OAuthSettings | None
) -> OAuthSettings:
    """The catalog's OAuth settings with the integration's overrides on top, validated."""
    base = OAuthSettings(
        authorization_url=scheme.authorization_url,
        token_url=scheme.token_url,
        revocation_url=scheme.revocation_url,
        base_url=app.api_base_url or None,
        token_endpoint_auth_method=scheme.token_endpoint_auth_method,
        scope_separator=scheme.scope_separator,
        authorization_params=dict(scheme.authorization_params),
        pkce=scheme.pkce,
    )
    merged = base.model_copy(update=overrides.model_dump(exclude_none=True) if overrides else {})
    fields = {f.name for f in scheme.connection_fields}
    missing = [f for f in ("authorization_url", "token_url") if not getattr(merged, f)]
    invalid = []
    for name in _URL_FIELDS:
        url = getattr(merged, name)
        if not url:
            continue
        unknown = [p for p in catalog.placeholders(url) if p not in fields]
        if unknown:
            invalid.append(
                {"field": f"oauth.{name}", "reason": f"unknown placeholder {unknown[0]}"}
            )
        elif problem := url_problem(catalog.fill(url, {p: "x" for p in fields})):
            invalid.append({"field": f"oauth.{name}", "reason": problem})
    if missing or invalid:
        raise Unprocessable(
            "invalid_oauth_settings",
            "OAuth settings incomplete or invalid: "
            + ", ".join(
                [f"oauth.{m} is required" for m in missing] + [i["field"] for i in invalid]
            ),
            {"missing": [f"oauth.{m}" for m in missing], "invalid": invalid},
        )
    return merged


def resolve(endpoints: OAuthSettings, params: dict[str, str]) -> OAuthSettings:
    """Fill {placeholders} (a Zendesk subdomain, a Shopify shop) from connection params."""
    return endpoints.model_copy(
        update={
            name: catalog.fill(url, params)
            for name in _URL_FIELDS
            if (url := getattr(endpoints, name))
        }
    )


def authorization_url(
    oauth: OAuthSettings,
    *,
    client_id: str,
    redirect_uri: str,
    scopes: list[str],
    state: str,
    code_verifier: str | None,
) -> str:
    assert oauth.authorization_url
    query: dict[str, str] = dict(oauth.authorization_params or {})
    query.update(response_type="code", client_id=client_id, redirect_uri=redirect_uri, state=state)
    if scopes:
        query["scope"] = (oauth.scope_separator or " ").join(scopes)
    if code_verifier is not None:
        query["code_challenge"] = code_challenge(code_verifier)
        query["code_challenge_method"] = "S256"
    parts = urlsplit(oauth.authorization_url)
    existing = parse_qsl(parts.query, keep_blank_values=True)
    merged = [(k, v) for k, v in existing if k not in query] + list(query.items())
    return urlunsplit(parts._replace(query=urlencode(merged)))


def _error_reason(payload: Any) -> str | None:
    if isinstance(payload, dict) and "error" in payload:
        code = str(payload["error"])
        return code if _ERROR_CODE.match(code) else "unrecognised_error"
    return None


def exchange_code(
    oauth: OAuthSettings,
    *,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    code_verifier: str | None,
) -> dict[str, Any]:
    """Trade an authorization code for a token set; raises TokenExchangeError."""
    import requests

    assert oauth.token_url
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if code_verifier is not None:
        form["code_verifier"] = code_verifier
    auth = None
    if oauth.token_endpoint_auth_method == "client_secret_basic":
        auth = requests.auth.HTTPBasicAuth(client_id, client_secret)
    else:
        form.update(client_id=client_id, client_secret=client_secret)
    try:
        response = requests.post(
            oauth.token_url,
            data=form,
            auth=auth,
            headers={"Accept": "application/json"},
            timeout=(3.05, settings().http_timeout),
            allow_redirects=False,
        )
    except requests.Timeout as exc:
        raise TokenExchangeError("token endpoint timed out") from exc
    except requests.RequestException as exc:
        raise TokenExchangeError("token endpoint could not be reached") from exc
    if len(response.content) > _MAX_TOKEN_RESPONSE:
        raise TokenExchangeError("token endpoint response too large")
    if response.status_code >= 500:
        raise TokenExchangeError(f"token endpoint returned HTTP {response.status_code}")
    payload = _parse(response)
    # GitHub reports errors with a 200, so look for one whatever the status.
    if reason := _error_reason(payload):
        raise TokenExchangeError(f"token endpoint refused the code: {reason}")
    if response.status_code != 200:
        raise TokenExchangeError(f"token endpoint returned HTTP {response.status_code}")
    if not isinstance(payload, dict) or not isinstance(payload.get("access_token"), str):
        raise TokenExchangeError("token endpoint response had no access_token")
    return token_set(payload)


def _parse(response: Any) -> Any:
    content_type = response.headers.get("Content-Type", "")
    if "application/x-www-form-urlencoded" in content_type or "text/plain" in content_type:
        # GitHub's legacy form answer, when a proxy drops our Accept header.
        return dict(parse_qsl(response.text))
    try:
        return response.json()
    except ValueError:
        return None


def token_set(payload: dict[str, Any]) -> dict[str, Any]:
    """Normalise a token response; expires_in becomes an absolute expires_at."""
    obtained = now()
    tokens = {k: v for k, v in payload.items() if k != "expires_in"}
    tokens["obtained_at"] = iso(obtained)
    expires_in = payload.get("expires_in")
    try:
        seconds = int(expires_in) if expires_in not in (None, "") else None
    except (TypeError, ValueError):
        seconds = None
    tokens["expires_at"] = iso(obtained + timedelta(seconds=seconds)) if seconds else None
    return tokens
