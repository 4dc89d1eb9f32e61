"""An integration's settings for the app's OAuth server and its API: what the catalog
says, with the integration's overrides on top (the same models carry both)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from keyfob.catalog.calls import Probe, Revocation
from keyfob.models.types import Model, Url

_Params = Annotated[
    dict[Annotated[str, StringConstraints(max_length=64)], str], Field(max_length=20)
]


class OAuthSettings(Model):
    """OAuth 2.0 endpoints and behaviour; any field overrides the catalog's value."""

    authorization_url: Url | None = None
    token_url: Url | None = None
    revocation_url: Url | None = Field(default=None, description="RFC 7009 revocation endpoint.")
    revocation: Revocation | None = Field(
        default=None, description="The provider's own revocation call, where not RFC 7009."
    )
    token_endpoint_auth_method: (
        Literal["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt"]
        | None
    ) = Field(
        default=None,
        description="private_key_jwt: the client secret is the client's private key in PEM "
        "(RFC 7523 2.2); client_secret_jwt: an HS256 assertion with the client secret.",
    )
    scope_separator: Annotated[str, StringConstraints(min_length=1, max_length=3)] | None = None
    authorization_params: (
        Annotated[dict[Annotated[str, StringConstraints(max_length=64)], str], Field(max_length=20)]
        | None
    ) = None
    pkce: bool | None = None
    issuer: Url | None = Field(
        default=None, description="Expected RFC 9207 `iss` in the authorization response."
    )
    refresh_buffer_seconds: Annotated[int, Field(ge=0, le=86400)] | None = Field(
        default=None, description="Refresh this long before the access token expires."
    )
    token_lifetime_seconds: Annotated[int, Field(ge=60)] | None = Field(
        default=None,
        description="Lifetime of access tokens whose token response has no expires_in; "
        "null: such tokens never expire.",
    )
    refresh_url: Url | None = Field(
        default=None, description="Where refresh tokens are exchanged; null: token_url."
    )
    token_params: _Params | None = Field(
        default=None, description="Extra parameters of the code exchange."
    )
    refresh_params: _Params | None = Field(
        default=None, description="Extra parameters of a refresh request."
    )
    token_request_format: Literal["form", "json"] | None = Field(
        default=None,
        description="The token request's body: form-encoded (RFC 6749) or one JSON object "
        "of the same parameters, for providers that take only JSON.",
    )


class ApiSettings(Model):
    """The app's own API; any field overrides the catalog's value (a self-hosted instance)."""

    base_url: Url | None = Field(default=None, description="API base URL for requests.")
    identity: Probe | None = Field(
        default=None,
        description="The call that proves a credential and names the upstream account.",
    )
    headers: (
        Annotated[dict[Annotated[str, StringConstraints(max_length=64)], str], Field(max_length=20)]
        | None
    ) = Field(
        default=None,
        description="Headers sent on every proxied request unless the caller sends its own "
        "(an API version, say).",
    )
