"""OAuth 2.0: the authorization code flow with PKCE (RFC 6749, RFC 7636, RFC 9207),
refresh (RFC 6749 section 6) and revocation (RFC 7009, or the provider's own call).

``requests`` is imported only where a provider is called (``keyfob.http``), so the
functions that only build authorization URLs do not load it.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from keyfob import catalog, http
from keyfob.catalog import App, SchemeSpec
from keyfob.errors import Unprocessable
from keyfob.ids import iso, now
from keyfob.models import OAuthSettings, set_fields
from keyfob.params import template_problem

_URL_FIELDS = ("authorization_url", "token_url", "revocation_url")
# The provider's own revocation URL may also name the client and the token.
_REVOCATION_PLACEHOLDERS = frozenset({"client_id", "token"})
_MAX_TOKEN_RESPONSE = 64 * 1024
_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
RevocationStatus = Literal["revoked", "failed", "not_supported"]


class TokenError(Exception):
    """The token endpoint did not give us a token; the message is safe to store and show.

    ``transient``: the provider may well answer next time (a timeout, a 5xx, a 429), so
    the grant itself is not in doubt. ``error``: the RFC 6749 error code, if one came.
    """

    def __init__(self, message: str, *, transient: bool = False, error: str | None = None):
        super().__init__(message)
        self.transient = transient
        self.error = error


def new_state() -> str:
    return secrets.token_urlsafe(32)


def new_code_verifier() -> str:
    # 64 random bytes -> 86 characters, inside RFC 7636's 43..128.
    return secrets.token_urlsafe(64)


def code_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def effective_settings(
    app: App, scheme: SchemeSpec, overrides: OAuthSettings | None
) -> OAuthSettings:
    """The catalog's OAuth settings with the integration's overrides on top, validated."""
    base = OAuthSettings(
        authorization_url=scheme.authorization_url,
        token_url=scheme.token_url,
        revocation_url=scheme.revocation_url,
        revocation=scheme.revocation,
        token_endpoint_auth_method=scheme.token_endpoint_auth_method,
        scope_separator=scheme.scope_separator,
        authorization_params=dict(scheme.authorization_params),
        pkce=scheme.pkce,
        refresh_buffer_seconds=scheme.refresh_buffer_seconds,
        token_lifetime_seconds=scheme.token_lifetime_seconds,
    )
    update = set_fields(overrides)
    # Either revocation style replaces the catalog's, whichever it used.
    if "revocation_url" in update:
        update.setdefault("revocation", None)
    if "revocation" in update:
        update.setdefault("revocation_url", None)
    merged = base.model_copy(update=update)
    fields = {f.name for f in scheme.connection_fields}
    missing = [f for f in ("authorization_url", "token_url") if not getattr(merged, f)]
    urls = {f"oauth.{name}": getattr(merged, name) for name in _URL_FIELDS}
    invalid = [
        {"field": field, "reason": problem}
        for field, url in urls.items()
        if url and (problem := template_problem(url, fields))
    ]
    if merged.revocation and (
        problem := template_problem(merged.revocation.url, fields, _REVOCATION_PLACEHOLDERS)
    ):
        invalid.append({"field": "oauth.revocation.url", "reason": problem})
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
    """Trade an authorization code for a token set; raises TokenError."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if code_verifier is not None:
        form["code_verifier"] = code_verifier
    payload = _token_request(oauth, client_id, client_secret, form, "the code")
    return token_set(payload, oauth.token_lifetime_seconds)


def refresh(
    oauth: OAuthSettings, *, client_id: str, client_secret: str, refresh_token: str
) -> dict[str, Any]:
    """A new token set for a refresh token (RFC 6749 section 6); raises TokenError.

    The answer may carry no refresh_token: the caller keeps the one it has."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    payload = _token_request(oauth, client_id, client_secret, form, "the refresh token")
    return token_set(payload, oauth.token_lifetime_seconds)


def _client_auth(
    oauth: OAuthSettings, client_id: str, client_secret: str, form: dict[str, str]
) -> tuple[str, str] | None:
    """HTTP Basic credentials, or None with the client's credentials added to the form."""
    if oauth.token_endpoint_auth_method == "client_secret_basic":
        return client_id, client_secret
    form.update(client_id=client_id, client_secret=client_secret)
    return None


def _token_request(
    oauth: OAuthSettings,
    client_id: str,
    client_secret: str,
    form: dict[str, str],
    what: str,
) -> dict[str, Any]:
    import requests

    assert oauth.token_url
    auth = _client_auth(oauth, client_id, client_secret, form)
    try:
        response = http.session().post(
            oauth.token_url,
            data=form,
            auth=auth,
            headers={"Accept": "application/json"},
            timeout=http.timeout(),
            allow_redirects=False,
        )
    except requests.Timeout as exc:
        raise TokenError("token endpoint timed out", transient=True) from exc
    except requests.RequestException as exc:
        raise TokenError("token endpoint could not be reached", transient=True) from exc
    if len(response.content) > _MAX_TOKEN_RESPONSE:
        raise TokenError("token endpoint response too large")
    if response.status_code >= 500 or response.status_code == 429:
        message = f"token endpoint returned HTTP {response.status_code}"
        raise TokenError(message, transient=True)
    payload = _parse(response)
    # GitHub reports errors with a 200, so look for one whatever the status.
    if reason := _error_reason(payload):
        raise TokenError(f"token endpoint refused {what}: {reason}", error=reason)
    if response.status_code != 200:
        raise TokenError(f"token endpoint returned HTTP {response.status_code}")
    if not isinstance(payload, dict) or not isinstance(payload.get("access_token"), str):
        raise TokenError("token endpoint response had no access_token")
    return payload


def revoke(
    oauth: OAuthSettings, *, client_id: str, client_secret: str, tokens: dict[str, Any]
) -> tuple[RevocationStatus, str | None]:
    """Revoke the grant at the provider, best effort: (status, message safe to show)."""
    import requests

    custom = oauth.revocation
    if custom is None and not oauth.revocation_url:
        return "not_supported", "the app has no revocation endpoint"
    # RFC 7009 2.1: revoking the refresh token ends the grant and its access tokens.
    wanted = custom.token if custom else "refresh_token"
    kind = wanted if tokens.get(wanted) else "access_token"
    token = str(tokens.get(kind) or "")
    if not token:
        return "failed", "no token to revoke"
    method, headers = "POST", {"Accept": "application/json"}
    form: dict[str, str] | None = None
    body: dict[str, str] | None = None
    auth: tuple[str, str] | None = None
    if custom is None:
        assert oauth.revocation_url
        url = oauth.revocation_url
        form = {"token": token, "token_type_hint": kind}
        auth = _client_auth(oauth, client_id, client_secret, form)
    else:
        method = custom.method
        headers.update(custom.headers)
        url = catalog.fill(
            custom.url, {"client_id": quote(client_id, safe=""), "token": quote(token, safe="")}
        )
        if custom.client_auth == "basic":
            auth = (client_id, client_secret)
        placed = {custom.token_param: token}
        if custom.token_in == "bearer":
            headers["Authorization"] = f"Bearer {token}"
        elif custom.token_in == "form":
            form = placed
        elif custom.token_in == "json":
            body = placed
        elif custom.token_in == "query":
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(placed)}"
    try:
        response = http.session().request(
            method,
            url,
            data=form,
            json=body,
            auth=auth,
            headers=headers,
            timeout=http.timeout(),
            allow_redirects=False,
        )
    except requests.Timeout:
        return "failed", "revocation endpoint timed out"
    except requests.RequestException:
        return "failed", "revocation endpoint could not be reached"
    if not 200 <= response.status_code < 300:
        return "failed", f"revocation endpoint returned HTTP {response.status_code}"
    payload = _parse(response) if response.content else None
    # Slack answers 200 with {"ok": false, "error": ...} when it did not revoke.
    if isinstance(payload, dict) and payload.get("ok") is False:
        reason = _error_reason(payload) or "ok: false"
        return "failed", f"revocation endpoint refused: {reason}"
    return "revoked", None


def _parse(response: Any) -> Any:
    content_type = response.headers.get("Content-Type", "")
    if "application/x-www-form-urlencoded" in content_type or "text/plain" in content_type:
        # GitHub's legacy form answer, when a proxy drops our Accept header.
        return dict(parse_qsl(response.text))
    try:
        return response.json()
    except ValueError:
        return None


def token_set(payload: dict[str, Any], default_lifetime: int | None = None) -> dict[str, Any]:
    """Normalise a token response; expires_in becomes an absolute expires_at. Without
    expires_in the token does not expire, unless the app's tokens have a known lifetime."""
    obtained = now()
    tokens = {k: v for k, v in payload.items() if k != "expires_in"}
    tokens["obtained_at"] = iso(obtained)
    expires_in = payload.get("expires_in")
    try:
        seconds = int(expires_in) if expires_in not in (None, "") else None
    except (TypeError, ValueError):
        seconds = None
    if seconds is None or seconds <= 0:
        seconds = default_lifetime
    tokens["expires_at"] = iso(obtained + timedelta(seconds=seconds)) if seconds else None
    return tokens
