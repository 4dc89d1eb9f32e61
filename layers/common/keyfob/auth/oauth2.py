"""OAuth 2.0 on Authlib's client: the authorization code flow with PKCE (RFC 6749, RFC
7636), refresh (RFC 6749 section 6) and revocation (RFC 7009, or the provider's own
call). Every request goes through the egress guard (``keyfob.security.http``).

What is Keyfob's own here: the catalog's settings with an integration's overrides,
and what a failure means for the grant (transient or not, and the RFC 6749 error code,
the only provider text ever kept). Authlib's client, its client authentication and the
provider quirks are set up in ``keyfob.auth.oauth2_session``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from keyfob.auth import oauth2_session
from keyfob.auth.authorization import RESERVED, authorization_url
from keyfob.auth.base import Begun, Context, Family, GrantError, RevocationStatus
from keyfob.catalog import loader
from keyfob.catalog.names import AuthScheme
from keyfob.catalog.params import template_problem
from keyfob.core.errors import Invalid
from keyfob.core.ids import iso, now
from keyfob.models.settings import OAuthSettings
from keyfob.models.types import set_fields
from keyfob.security import http

if TYPE_CHECKING:
    import requests
    from authlib.oauth2.client import OAuth2Client

    from keyfob.catalog.schema import App, SchemeSpec

_URL_FIELDS = ("authorization_url", "token_url", "revocation_url", "refresh_url")
# What a token request's own parameters are: the catalog's extra ones never replace them.
_TOKEN_REQUEST_PARAMS = frozenset(
    {*RESERVED, "grant_type", "code", "code_verifier", "refresh_token", "client_secret", "resource"}
)
# The provider's own revocation URL may also name the client and the token.
_REVOCATION_PLACEHOLDERS = frozenset({"client_id", "token"})
# The schemes whose token requests Authlib's client makes (and token_request_format shapes).
_AUTHLIB_MADE = (AuthScheme.OAUTH2, AuthScheme.OAUTH2_CLIENT_CREDENTIALS)
_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


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
        refresh_url=scheme.refresh_url,
        token_params=dict(scheme.token_params) or None,
        refresh_params=dict(scheme.refresh_params) or None,
        token_request_format=scheme.token_request_format,
    )
    update = set_fields(overrides)
    # Either revocation style replaces the catalog's, whichever it used.
    if "revocation_url" in update:
        update.setdefault("revocation", None)
    if "revocation" in update:
        update.setdefault("revocation_url", None)
    merged = base.model_copy(update=update)
    fields = {f.name for f in scheme.connection_fields}
    # Client credentials have no authorization endpoint: a token endpoint is enough.
    needed = ("authorization_url", "token_url") if scheme.type is AuthScheme.OAUTH2 else ()
    missing = [f for f in (*needed, "token_url") if not getattr(merged, f)]
    missing = list(dict.fromkeys(missing))
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
    if merged.token_request_format == "json" and scheme.type not in _AUTHLIB_MADE:
        reason = f"{scheme.type.value} token requests are sent as a form only"
        invalid.append({"field": "oauth.token_request_format", "reason": reason})
    if missing or invalid:
        raise Invalid(
            "invalid_oauth_settings",
            "OAuth settings incomplete or invalid: "
            + ", ".join(
                [f"oauth.{m} is required" for m in missing] + [i["field"] for i in invalid]
            ),
            {"missing": [f"oauth.{m}" for m in missing], "invalid": invalid},
        )
    return merged


def resolve(endpoints: OAuthSettings, params: Mapping[str, str]) -> OAuthSettings:
    """Fill {placeholders} (a Zendesk subdomain, a Shopify shop) from connection params."""
    return endpoints.model_copy(
        update={
            name: loader.fill(url, dict(params))
            for name in _URL_FIELDS
            if (url := getattr(endpoints, name))
        }
    )


def token_set(payload: Mapping[str, Any], default_lifetime: int | None = None) -> dict[str, Any]:
    """Normalise a token response; expires_in becomes an absolute expires_at. Without
    expires_in the token does not expire, unless the app's tokens have a known lifetime."""
    obtained = now()
    tokens = {k: v for k, v in payload.items() if k != "expires_in"}
    tokens["obtained_at"] = iso(obtained)
    seconds = oauth2_session.seconds(payload.get("expires_in"))
    if seconds is None:
        seconds = default_lifetime
    tokens["expires_at"] = iso(obtained + timedelta(seconds=seconds)) if seconds else None
    return tokens


def _error_code(error: Any) -> str:
    code = str(error)
    return code if _ERROR_CODE.match(code) else "unrecognised_error"


def _client(context: Context, oauth: OAuthSettings) -> OAuth2Client:
    """Authlib's client for the integration (or a remote MCP server's grant)."""
    client_id, secret = context.integration.client_id, context.client_secret
    method: str | None = oauth.token_endpoint_auth_method
    if context.grant is not None:
        client_id, secret = context.grant.client_id, _mcp(context).client_secret(context)
        method = context.grant.token_endpoint_auth_method
    return oauth2_session.client(client_id, secret, method, oauth)


def token_request(context: Context, what: str, **request: Any) -> dict[str, Any]:
    """One call of the token endpoint through Authlib; raises GrantError."""
    import requests
    from authlib.integrations.requests_client import OAuthError

    oauth = settings_of(context)
    assert oauth.token_url
    client = _client(context, oauth)
    refreshing = "refresh_token" in request
    call = client.refresh_token if refreshing else client.fetch_token
    url = (oauth.refresh_url or oauth.token_url) if refreshing else oauth.token_url
    extra = (oauth.refresh_params if refreshing else oauth.token_params) or {}
    request = {**{k: v for k, v in extra.items() if k not in _TOKEN_REQUEST_PARAMS}, **request}
    if context.grant is not None:
        request["resource"] = context.grant.resource  # RFC 8707, on every token request
    try:
        token = call(url, timeout=http.timeout(), allow_redirects=False, **request)
    except OAuthError as exc:
        reason = _error_code(exc.error)
        if reason == "invalid_client" and (mcp := _mcp(context)) is not None:
            mcp.refused_client(context)
        raise GrantError(f"token endpoint refused {what}: {reason}", error=reason) from None
    except requests.Timeout:
        raise GrantError("token endpoint timed out", transient=True) from None
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "error"
        raise GrantError(f"token endpoint returned HTTP {status}") from None
    except requests.RequestException:
        raise GrantError("token endpoint could not be reached", transient=True) from None
    except ValueError:
        raise GrantError("token endpoint response had no access_token") from None
    if not isinstance(token.get("access_token"), str):
        raise GrantError("token endpoint response had no access_token")
    return token_set(token, oauth.token_lifetime_seconds)


def settings_of(context: Context) -> OAuthSettings:
    """The integration's OAuth settings for one connection's params; for a remote MCP
    server's connection, with the endpoints of the authorization server it went to."""
    assert context.integration.oauth is not None
    if context.grant is not None:
        grant = context.grant
        return context.integration.oauth.model_copy(
            update={"token_url": grant.token_endpoint, "revocation_url": grant.revocation_endpoint}
        )
    return resolve(context.integration.oauth, context.params)


class OAuth2(Family):
    """The authorization code flow, refreshed and revoked at the provider."""

    redirects = True
    renews = True
    revocable = True

    def begin(self, context: Context, secret: Mapping[str, Any], redirect_uri: str) -> Begun:
        integration = context.integration
        if (mcp := _mcp(context)) is not None:
            return Begun(authorization=mcp.authorization(context, redirect_uri))
        oauth = settings_of(context)
        assert oauth.authorization_url and integration.client_id
        extra = {k: v for k, v in (oauth.authorization_params or {}).items() if k not in RESERVED}
        scopes = tuple(dict.fromkeys([*integration.scopes, *context.scopes]))
        if scopes:
            extra["scope"] = (oauth.scope_separator or " ").join(scopes)
        authorization = authorization_url(
            oauth.authorization_url, integration.client_id, redirect_uri, bool(oauth.pkce), extra
        )
        return Begun(authorization=authorization._replace(scopes=scopes or None))

    def complete(
        self, context: Context, code: str, redirect_uri: str, code_verifier: str | None
    ) -> dict[str, Any]:
        request: dict[str, Any] = {"code": code, "redirect_uri": redirect_uri}
        if code_verifier is not None:
            request["code_verifier"] = code_verifier
        tokens = token_request(context, "the code", grant_type="authorization_code", **request)
        return _carried(context, tokens)

    def refresh(self, context: Context, credential: Mapping[str, Any]) -> dict[str, Any]:
        """A new token set. Providers that do not rotate refresh tokens leave it out of
        the answer: Authlib keeps the one refreshed with, which stays good."""
        context = _with_grant(context, credential)
        refresh_token = str(credential["refresh_token"])
        tokens = token_request(context, "the refresh token", refresh_token=refresh_token)
        return _carried(context, tokens)

    def revoke(
        self, context: Context, credential: Mapping[str, Any]
    ) -> tuple[RevocationStatus, str | None]:
        """Revoke the grant at the provider, best effort: (status, message safe to show)."""
        import requests

        context = _with_grant(context, credential)
        oauth = settings_of(context)
        custom = oauth.revocation
        if custom is None and not oauth.revocation_url:
            return "not_supported", "the app has no revocation endpoint"
        # RFC 7009 2.1: revoking the refresh token ends the grant and its access tokens.
        wanted = custom.token if custom else "refresh_token"
        kind = wanted if credential.get(wanted) else "access_token"
        token = str(credential.get(kind) or "")
        if not token:
            return "failed", "no token to revoke"
        try:
            if custom is None:
                assert oauth.revocation_url
                response = _client(context, oauth).revoke_token(
                    oauth.revocation_url,
                    token=token,
                    token_type_hint=kind,
                    timeout=http.timeout(),
                    allow_redirects=False,
                )
            else:
                response = _own_revocation(context, oauth, token)
        except requests.Timeout:
            return "failed", "revocation endpoint timed out"
        except requests.RequestException:
            return "failed", "revocation endpoint could not be reached"
        if not 200 <= response.status_code < 300:
            return "failed", f"revocation endpoint returned HTTP {response.status_code}"
        try:
            payload = response.json() if response.content else None
        except ValueError:
            payload = None
        # Slack answers 200 with {"ok": false, "error": ...} when it did not revoke.
        if isinstance(payload, dict) and payload.get("ok") is False:
            reason = _error_code(payload["error"]) if "error" in payload else "ok: false"
            return "failed", f"revocation endpoint refused: {reason}"
        return "revoked", None


def _mcp(context: Context) -> Any:
    """The remote MCP servers' part (keyfob.auth.mcp), loaded for their connections only."""
    if context.integration.mcp is None:
        return None
    from keyfob.auth import mcp

    return mcp


def _with_grant(context: Context, credential: Mapping[str, Any]) -> Context:
    mcp = _mcp(context)
    return context if mcp is None else mcp.with_grant(context, credential)


def _carried(context: Context, tokens: dict[str, Any]) -> dict[str, Any]:
    mcp = _mcp(context)
    return tokens if mcp is None else mcp.carried(context, tokens)


def _own_revocation(context: Context, oauth: OAuthSettings, token: str) -> requests.Response:
    """A provider's own revocation call (GitHub's, Slack's, Notion's ...), as the catalog
    describes it."""
    custom = oauth.revocation
    client_id = context.integration.client_id or ""
    assert custom is not None
    headers = {"Accept": "application/json", **custom.headers}
    url = loader.fill(
        custom.url, {"client_id": quote(client_id, safe=""), "token": quote(token, safe="")}
    )
    auth = (client_id, context.client_secret) if custom.client_auth == "basic" else None
    placed = {custom.token_param: token}
    id_param, secret_param = custom.client_params
    if custom.client_auth == "body":
        placed |= {id_param: client_id, secret_param: context.client_secret}
    elif custom.client_auth == "client_header":
        placed[id_param] = client_id
        headers["Authorization"] = f"Client {context.client_secret}"
    form = placed if custom.token_in == "form" else None
    body = placed if custom.token_in == "json" else None
    if custom.token_in == "bearer":
        headers["Authorization"] = f"Bearer {token}"
    elif custom.token_in == "query":
        url = f"{url}{'&' if '?' in url else '?'}{urlencode(placed)}"
    return http.session().request(
        custom.method,
        url,
        data=form,
        json=body,
        auth=auth,
        headers=headers,
        timeout=http.timeout(),
        allow_redirects=False,
    )
