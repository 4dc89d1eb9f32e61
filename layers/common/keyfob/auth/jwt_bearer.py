"""JWT bearer grants (RFC 7523 section 2.1): a JWT signed with the connection's private
key buys an access token, bought again near expiry with a new assertion. A Google
service account's key file (with an optional subject, for domain-wide delegation), the
Salesforce JWT bearer flow, or a generic issuer. The private key is a secret
connection field, sealed like any other; Authlib signs the assertion."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from keyfob.auth import token_endpoint
from keyfob.auth.base import Context, GrantError, Minted, secret_fields
from keyfob.auth.keys import signing_key
from keyfob.auth.oauth2 import resolve, token_set
from keyfob.catalog import loader

if TYPE_CHECKING:
    from keyfob.catalog.schema import SchemeSpec
    from keyfob.catalog.scheme_parts import JwtBearerSpec

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _service_account(raw: str) -> dict[str, str]:
    """What a Google service account key file gives: its email and private key."""
    try:
        key = json.loads(raw)
    except ValueError:
        key = None
    if not isinstance(key, dict) or key.get("type") != "service_account":
        raise GrantError("service_account_key is not a service account key file (JSON)")
    fields = {name: key.get(name) for name in ("client_email", "private_key", "private_key_id")}
    if not isinstance(fields["client_email"], str) or not isinstance(fields["private_key"], str):
        raise GrantError("service_account_key has no client_email or private_key")
    return {k: v for k, v in fields.items() if isinstance(v, str)}


def _claims(
    spec: JwtBearerSpec, values: Mapping[str, Any]
) -> tuple[str, str, str | None, dict[str, str]]:
    """(private key, issuer, subject, header) of the assertion, by flavour."""
    if spec.flavour == "google_service_account":
        key = _service_account(str(values.get("service_account_key") or ""))
        header = {"kid": key["private_key_id"]} if "private_key_id" in key else {}
        return key["private_key"], key["client_email"], values.get("subject") or None, header
    if spec.flavour == "salesforce":
        return str(values["private_key"]), str(values["client_id"]), str(values["username"]), {}
    issuer = str(values["issuer"])
    return str(values["private_key"]), issuer, values.get("subject") or None, {}


def _token(context: Context, credential: Mapping[str, Any]) -> dict[str, Any]:
    from authlib.oauth2.rfc7523 import JWTBearerGrant

    integration = context.integration
    scheme: SchemeSpec = loader.get_app(integration.app).scheme(integration.auth_scheme)
    spec = scheme.jwt_bearer
    assert spec is not None and integration.oauth is not None
    oauth = resolve(integration.oauth, context.params)
    assert oauth.token_url
    values = {**context.params, **credential}
    private_key, issuer, subject, header = _claims(spec, values)
    try:
        key = signing_key(private_key)
    except ValueError as problem:
        raise GrantError(f"the private key {problem}", error="invalid_request") from None
    claims: dict[str, Any] = {"jti": secrets.token_urlsafe(16)}
    scopes = integration.scopes or list(scheme.default_scopes)
    if scopes and spec.flavour != "salesforce":
        claims["scope"] = " ".join(scopes)  # Google takes the scopes in the assertion
    now = int(time.time())
    assertion = JWTBearerGrant.sign(
        key,
        issuer=issuer,
        audience=loader.fill(spec.audience, dict(context.params))
        if spec.audience
        else oauth.token_url,
        subject=subject,
        issued_at=now,
        expires_at=now + spec.assertion_lifetime_seconds,
        claims=claims,
        header={"alg": spec.algorithm, **header},
    )
    answer = token_endpoint.call(
        "POST", oauth.token_url, data={"grant_type": GRANT_TYPE, "assertion": assertion}
    )
    if not isinstance(answer.get("access_token"), str):
        raise GrantError("token endpoint response had no access_token")
    answer.pop("refresh_token", None)  # RFC 7523 grants are made again, never refreshed
    tokens = token_set(answer, oauth.token_lifetime_seconds)
    return {**secret_fields(scheme, credential), **tokens}


class JwtBearer(Minted):
    revocable = False

    def mint(self, context: Context, credential: Mapping[str, Any]) -> dict[str, Any]:
        return _token(context, credential)
