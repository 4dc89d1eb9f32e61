"""The parts of the catalog's schema that belong to one auth scheme each: a provider's
own revocation call (OAuth 2.0's and OAuth 1.0a's), OAuth 1.0a's endpoints, the JWT
bearer grant's flavour, a GitHub App's installation endpoints and a two-step scheme's
exchange."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from keyfob.catalog.calls import Revocation


class OAuth1Spec(BaseModel):
    """OAuth 1.0a, three-legged (RFC 5849): request token, the user's authorization,
    access token. The integration's client_id is the consumer key; its client secret is
    the consumer secret (HMAC-SHA1) or the RSA private key in PEM (RSA-SHA1). Every
    proxied request is signed. URLs may hold {placeholders} naming connection fields."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    # Null for a custom server, whose integration supplies them.
    request_token_url: str | None = None
    authorization_url: str | None = None
    access_token_url: str | None = None
    signature_method: Literal["HMAC-SHA1", "RSA-SHA1"] = "HMAC-SHA1"
    signature_type: Literal["header", "query"] = Field(
        default="header", description="Where the oauth_* parameters go on signed requests."
    )
    authorization_params: dict[str, str] = Field(
        default_factory=dict,
        description="Extra query parameters of the authorization redirect (Trello's scope, "
        "expiration and name).",
    )
    revocation: Revocation | None = Field(
        default=None,
        description="The provider's call that revokes the access token (oauth_token), "
        "signed with the connection's credential (Trello: DELETE /1/tokens/{token}); "
        "token_in bearer and client_auth do not apply.",
    )


class JwtBearerSpec(BaseModel):
    """RFC 7523 section 2.1: a JWT signed with the connection's private key, exchanged at
    ``token_url`` for an access token; minted again when it nears expiry.

    The connection fields each flavour reads: ``google_service_account``: the key file as
    ``service_account_key`` (secret JSON), optional ``subject`` (domain-wide delegation);
    ``salesforce``: ``client_id`` (the connected app's consumer key), ``username``,
    ``private_key`` (secret PEM); ``generic``: ``issuer``, optional ``subject``,
    ``private_key`` (secret PEM)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    flavour: Literal["google_service_account", "salesforce", "generic"]
    audience: str | None = Field(
        default=None,
        description="The assertion's aud; null: the token URL (Google). Salesforce: "
        "https://login.salesforce.com or https://test.salesforce.com.",
    )
    algorithm: Literal["RS256"] = "RS256"
    assertion_lifetime_seconds: int = Field(default=300, ge=30, le=3600)


JWT_BEARER_FIELDS: dict[str, tuple[str, ...]] = {
    "google_service_account": ("service_account_key",),
    "salesforce": ("client_id", "username", "private_key"),
    "generic": ("issuer", "private_key"),
}


class GitHubAppSpec(BaseModel):
    """A GitHub App installation: the app's JWT (RS256, signed with the app's private
    key, the integration's client secret; ``iss`` the integration's client_id, the app's
    client ID) buys an installation access token (one hour), renewed on read. The
    connection is made from the install redirect (``installation_id``, ``setup_action``)
    and the ``code`` of the user authorization GitHub asks for during installation: the
    code buys a user access token, and the installation is accepted only if it is among
    that user's installations (GitHub: the ``installation_id`` may be spoofed)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    install_url: str = Field(
        description="Where the user installs the app; {app_slug}: the integration's app slug."
    )
    installation_token_url: str = Field(
        description="POST, with the app JWT; {installation_id} from the install redirect."
    )
    oauth_token_url: str = Field(
        description="POST: the install redirect's code for a user access token (the app's "
        "client ID and client secret)."
    )
    user_installations_url: str = Field(
        description="GET with the user access token: the user's installations of the app "
        "(paginated); the install redirect's installation_id must be among them."
    )
    user_token_revocation_url: str | None = Field(
        default=None,
        description="DELETE with the app's client ID and client secret (HTTP Basic): the "
        "user access token, dropped once the installation is checked; {client_id}.",
    )
    installation_url: str | None = Field(
        default=None,
        description="GET with the app JWT: the installation, its account (id, login).",
    )
    revocation_url: str | None = Field(
        default=None, description="DELETE with the installation token: revokes it."
    )


class Exchange(BaseModel):
    """A two-step scheme's exchange: the connection's credentials sent to ``token_url``
    for a short-lived token, renewed by making the exchange again. Body values and
    headers may hold {placeholders} naming connection fields."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    method: Literal["POST", "GET", "PUT"] = "POST"
    body_format: Literal["json", "form", "none"] = "json"
    body: dict[str, Any] = Field(
        default_factory=dict, description="A JSON template: its strings may hold placeholders."
    )
    headers: dict[str, str] = Field(default_factory=dict)
    basic_auth: tuple[str, str] | None = Field(
        default=None, description="Connection fields sent as HTTP Basic (username, password)."
    )
    token_path: str = Field(
        default="access_token", description="Dotted path to the token in the JSON answer."
    )
    expires_in_path: str | None = Field(
        default=None, description="Dotted path to the token's lifetime in seconds."
    )
    expires_at_path: str | None = Field(
        default=None, description="Dotted path to its expiry (ISO 8601 or epoch seconds)."
    )
