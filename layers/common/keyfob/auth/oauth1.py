"""OAuth 1.0a, three-legged (RFC 5849), on Authlib's client: a request token, the user's
authorization, the verifier back at the callback, the access token; then every request
to the app's API signed (HMAC-SHA1, or RSA-SHA1 with the integration's private key).
Every call goes through the egress guard.

OAuth 1.0a has no ``state``: Keyfob's own travels in the callback URL it gives as
``oauth_callback``. The request token's secret waits with the pending attempt (where the
code flow keeps its PKCE verifier). The stored credential holds the consumer key and
secret besides the token: whoever reads the credential needs all four to sign."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from keyfob.auth.authorization import new_state
from keyfob.auth.base import (
    Authorization,
    Begun,
    Context,
    Family,
    GrantError,
    RevocationStatus,
)
from keyfob.auth.upstream import Credential
from keyfob.catalog import loader
from keyfob.catalog.params import template_problem
from keyfob.core.errors import Invalid
from keyfob.core.urls import with_query
from keyfob.security import http

if TYPE_CHECKING:
    import requests

    from keyfob.catalog.schema import App, SchemeSpec
    from keyfob.catalog.scheme_parts import OAuth1Spec

_URLS = ("request_token_url", "authorization_url", "access_token_url")
# What the stored credential holds besides the provider's answer.
_SIGNING = ("consumer_key", "consumer_secret", "signature_method", "signature_type")


def effective_settings(app: App, scheme: SchemeSpec, overrides: OAuth1Spec | None) -> OAuth1Spec:
    """The catalog's OAuth 1.0a settings with the integration's on top, validated."""
    assert scheme.oauth1 is not None
    given = {k: getattr(overrides, k) for k in overrides.model_fields_set} if overrides else {}
    merged = scheme.oauth1.model_copy(update=given)
    fields = {f.name for f in scheme.connection_fields}
    missing = [f"oauth1.{name}" for name in _URLS if not getattr(merged, name)]
    invalid = [
        {"field": f"oauth1.{name}", "reason": problem}
        for name in _URLS
        if (url := getattr(merged, name)) and (problem := template_problem(url, fields))
    ]
    if (revocation := merged.revocation) is not None:
        problem = template_problem(revocation.url, fields, ("client_id", "token"))
        if revocation.token_in == "bearer" or revocation.client_auth != "none":
            problem = "is signed with the connection's credential: no bearer or client auth"
        if problem:
            invalid.append({"field": "oauth1.revocation", "reason": problem})
    if missing or invalid:
        raise Invalid(
            "invalid_oauth1_settings",
            "OAuth 1.0a settings incomplete or invalid: "
            + ", ".join([f"{m} is required" for m in missing] + [i["field"] for i in invalid]),
            {"missing": missing, "invalid": invalid},
        )
    return merged


def _settings(context: Context) -> OAuth1Spec:
    spec = context.integration.oauth1
    assert spec is not None
    filled = {
        name: loader.fill(url, dict(context.params))
        for name in _URLS
        if (url := getattr(spec, name))
    }
    return spec.model_copy(update=filled)


def _keys(method: str, consumer_secret: str) -> dict[str, Any]:
    """The consumer secret, or the RSA private key RSA-SHA1 signs with."""
    if method == "RSA-SHA1":
        return {"client_secret": None, "rsa_key": consumer_secret}
    return {"client_secret": consumer_secret}


def _client(context: Context, spec: OAuth1Spec, **token: Any) -> Any:
    from authlib.integrations.requests_client import OAuth1Auth
    from authlib.oauth1.client import OAuth1Client

    class Client(OAuth1Client):  # type: ignore[misc]
        auth_class = OAuth1Auth

        def handle_error(self, error_type: str, error_description: str) -> None:
            raise GrantError(f"OAuth 1.0a provider refused: {error_type}")

    assert context.integration.client_id
    return Client(
        http.session(),
        context.integration.client_id,
        signature_method=spec.signature_method,
        signature_type=spec.signature_type.upper(),
        **_keys(spec.signature_method, context.client_secret),
        **token,
    )


def _fetch(call: Any, url: str, **kwargs: Any) -> dict[str, Any]:
    import requests

    try:
        token = call(url, timeout=http.timeout(), allow_redirects=False, **kwargs)
    except requests.Timeout:
        raise GrantError("OAuth 1.0a provider timed out", transient=True) from None
    except requests.RequestException:
        raise GrantError("OAuth 1.0a provider could not be reached", transient=True) from None
    if not isinstance(token, dict) or not token.get("oauth_token"):
        raise GrantError("OAuth 1.0a provider answered no oauth_token")
    return dict(token)


class Signed(Credential):
    """A request signed with the connection's token (RFC 5849 section 3)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        from authlib.integrations.requests_client import OAuth1Auth

        method = str(values.get("signature_method") or "HMAC-SHA1")
        secret = str(values.get("consumer_secret") or "")
        super().__init__({}, {}, tuple(str(values[k]) for k in _SECRET_VALUES if values.get(k)))
        self._auth = OAuth1Auth(
            str(values.get("consumer_key") or ""),
            token=str(values.get("oauth_token") or ""),
            token_secret=str(values.get("oauth_token_secret") or ""),
            signature_method=method,
            signature_type=str(values.get("signature_type") or "header").upper(),
            **_keys(method, secret),
        )

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        signed: requests.PreparedRequest = self._auth(request)
        return signed


_SECRET_VALUES = ("consumer_secret", "oauth_token", "oauth_token_secret")


def _revocation(context: Context, credential: Mapping[str, Any]) -> requests.Response | None:
    """The provider's own revocation call, signed with the connection's credential; None
    where the app has none."""
    spec = _settings(context).revocation
    if spec is None:
        return None
    token = str(credential.get("oauth_token") or "")
    given = {k: quote(v, safe="") for k, v in context.params.items()}
    url = loader.fill(
        spec.url,
        {
            **given,
            "client_id": quote(context.integration.client_id or "", safe=""),
            "token": quote(token, safe=""),
        },
    )
    placed = {spec.token_param: token}
    if spec.token_in == "query":
        url = with_query(url, placed)
    return http.session().request(
        spec.method,
        url,
        data=placed if spec.token_in == "form" else None,
        json=placed if spec.token_in == "json" else None,
        headers={"Accept": "application/json", **spec.headers},
        auth=Signed(credential),
        timeout=http.timeout(),
        allow_redirects=False,
    )


class OAuth1(Family):
    redirects = True
    renews = False
    revocable = True
    begins_with_secret = True

    def begin(self, context: Context, secret: Mapping[str, Any], redirect_uri: str) -> Begun:
        spec = _settings(context)
        assert spec.request_token_url and spec.authorization_url
        state = new_state()
        callback = with_query(redirect_uri, {"state": state})
        client = _client(context, spec, redirect_uri=callback)
        request_token = _fetch(client.fetch_request_token, spec.request_token_url)
        url = client.create_authorization_url(
            spec.authorization_url, request_token["oauth_token"], **spec.authorization_params
        )
        pending = json.dumps([request_token["oauth_token"], request_token["oauth_token_secret"]])
        return Begun(authorization=Authorization(url, state, pending))

    def callback_code(self, query: Mapping[str, str]) -> str | None:
        return query.get("oauth_verifier")

    def complete(
        self, context: Context, code: str, redirect_uri: str, code_verifier: str | None
    ) -> dict[str, Any]:
        spec = _settings(context)
        assert spec.access_token_url and code_verifier
        token, token_secret = json.loads(code_verifier)
        client = _client(context, spec, token=token, token_secret=token_secret)
        answer = _fetch(client.fetch_access_token, spec.access_token_url, verifier=code)
        if not answer.get("oauth_token_secret"):
            raise GrantError("OAuth 1.0a provider answered no oauth_token_secret")
        signing = dict(
            zip(
                _SIGNING,
                (
                    context.integration.client_id,
                    context.client_secret,
                    spec.signature_method,
                    spec.signature_type,
                ),
                strict=True,
            )
        )
        extra = {k: v for k, v in answer.items() if isinstance(v, str) and k not in _SIGNING}
        return {**extra, **signing}

    def revoke(
        self, context: Context, credential: Mapping[str, Any]
    ) -> tuple[RevocationStatus, str | None]:
        """The app's own call revokes the token where the catalog names one; otherwise the
        token lasts until its owner revokes it at the app."""
        import requests

        try:
            response = _revocation(context, credential)
        except requests.Timeout:
            return "failed", "revocation endpoint timed out"
        except requests.RequestException:
            return "failed", "revocation endpoint could not be reached"
        if response is None:
            return "not_supported", "the app has no revocation call; its owner revokes it there"
        if not 200 <= response.status_code < 300:
            return "failed", f"revocation endpoint returned HTTP {response.status_code}"
        return "revoked", None

    def apply(self, scheme: SchemeSpec, values: Mapping[str, Any]) -> Credential:
        return Signed(values)
