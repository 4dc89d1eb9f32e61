"""The catalog's schema: an app, its auth schemes, the fields each asks for, and how a
credential is applied, proven (identity probe) and revoked."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from keyfob.catalog.calls import Probe, Revocation
from keyfob.catalog.lifecycle import Deprecation, TokenLifetime
from keyfob.catalog.names import SLUG_PATTERN, AuthScheme
from keyfob.catalog.scheme_parts import (
    JWT_BEARER_FIELDS,
    Exchange,
    GitHubAppSpec,
    JwtBearerSpec,
    OAuth1Spec,
)
from keyfob.core.errors import NotFound

PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
# What a path placement may put before its value in the segment (RFC 3986 unreserved).
_SEGMENT = re.compile(r"[A-Za-z0-9._~-]*")


# The schemes whose credential is an access token Keyfob obtains from a token endpoint
# (and applies as the catalog says, reading the ``access_token`` field).
TOKEN_SCHEMES = frozenset(
    {
        AuthScheme.OAUTH2,
        AuthScheme.OAUTH2_CLIENT_CREDENTIALS,
        AuthScheme.JWT_BEARER,
        AuthScheme.GITHUB_APP,
        AuthScheme.TWO_STEP,
    }
)
# The schemes whose token endpoint is ``token_url`` (with the OAuth settings' overrides).
TOKEN_URL_SCHEMES = frozenset(
    {
        AuthScheme.OAUTH2,
        AuthScheme.OAUTH2_CLIENT_CREDENTIALS,
        AuthScheme.JWT_BEARER,
        AuthScheme.TWO_STEP,
    }
)


class ParamField(BaseModel):
    """A value someone must supply: the developer for an integration, the end user to connect."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    name: str = Field(pattern=r"^[a-z_][a-z0-9_]*$")
    display_name: str
    type: Literal["string", "url", "string_list"] = "string"
    description: str
    required: bool = True
    secret: bool = False
    default: str | list[str] | None = None
    pattern: str | None = Field(
        default=None, description="Regular expression the whole value must match."
    )
    choices: tuple[str, ...] | None = Field(
        default=None,
        description="The only values allowed (a region, a data center); the first is the "
        "usual one.",
    )

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value

    @model_validator(mode="after")
    def _default_is_a_choice(self) -> ParamField:
        if self.choices is not None and self.default not in (None, *self.choices):
            raise ValueError(f"default {self.default!r} is not one of the choices")
        return self


class CredentialPlacement(BaseModel):
    """How a credential is applied to an API request on the user's behalf."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    location: Literal["header", "query", "basic", "path"]
    name: str | None = Field(default=None, description="Header or query parameter name.")
    prefix: str = Field(
        default="",
        description="Put before the value; for path, the start of the path segment the "
        "value is put in before the request's path (bot: /bot<token>/getMe).",
    )
    field: str | None = Field(
        default=None, description="Credential field that supplies the value (header/query/path)."
    )
    username_field: str | None = None
    password_field: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> CredentialPlacement:
        if self.location == "basic":
            if not self.username_field:
                raise ValueError("basic placement needs username_field")
        elif self.location == "path":
            if not self.field or self.name:
                raise ValueError("path placement needs field and no name")
            if not _SEGMENT.fullmatch(self.prefix):
                raise ValueError("path placement's prefix must be unreserved characters")
        elif not (self.name and self.field):
            raise ValueError(f"{self.location} placement needs name and field")
        return self


def _strings(template: object) -> list[str]:
    """Every string in a JSON template."""
    if isinstance(template, str):
        return [template]
    if isinstance(template, dict):
        return [s for value in template.values() for s in _strings(value)]
    if isinstance(template, list):
        return [s for value in template for s in _strings(value)]
    return []


class SchemeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    type: AuthScheme
    connection_fields: tuple[ParamField, ...] = ()
    # How the credential goes on a request; none for OAUTH1 (signed) and NO_AUTH.
    apply: CredentialPlacement | None = None
    # OAuth 2.0 only; URLs may hold {placeholders} naming connection fields.
    authorization_url: str | None = None
    token_url: str | None = None
    revocation_url: str | None = None
    default_scopes: tuple[str, ...] = ()
    scope_separator: str = " "
    pkce: bool = True
    token_endpoint_auth_method: Literal[
        "client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt"
    ] = "client_secret_post"
    authorization_params: dict[str, str] = Field(default_factory=dict)
    revocation: Revocation | None = None
    # Refresh this long before the access token expires (and at most halfway through a
    # token's life, so that short-lived tokens never refresh on every read).
    refresh_buffer_seconds: int = Field(default=300, ge=0, le=86400)
    # For providers that omit expires_in although their tokens do expire.
    token_lifetime_seconds: int | None = Field(default=None, ge=60)
    identity: Probe | None = None
    # OAUTH2_CLIENT_CREDENTIALS (with token_url, default_scopes, token_endpoint_auth_method):
    # RFC 8707 resource and the audience some servers (Auth0) take on the token request.
    audience: str | None = None
    resource: str | None = None
    oauth1: OAuth1Spec | None = None
    jwt_bearer: JwtBearerSpec | None = None
    github_app: GitHubAppSpec | None = None
    exchange: Exchange | None = None
    # The general growth (issue 11): see the classes at the end of this module.
    docs_url: str | None = Field(
        default=None,
        pattern=r"^https://[^\s]+$",
        description="The provider's own page for this scheme: where its values come from.",
    )
    refresh_url: str | None = Field(
        default=None, description="Where refresh tokens are exchanged, when not at token_url."
    )
    token_params: dict[str, str] = Field(
        default_factory=dict, description="Extra parameters of the code exchange."
    )
    refresh_params: dict[str, str] = Field(
        default_factory=dict, description="Extra parameters of a refresh request."
    )
    token_request_format: Literal["form", "json"] = Field(
        default="form",
        description="The token request's body (code exchange, refresh, client credentials): "
        "form-encoded as RFC 6749 says, or one JSON object of the same parameters "
        "(Square, Atlassian).",
    )
    token_fields: tuple[str, ...] = Field(
        default=(),
        description="Fields of the token answer (Salesforce's instance_url, Zoho's "
        "api_domain) that the app's api_base_url names as {placeholders}.",
    )
    token_lifetime: TokenLifetime | None = Field(
        default=None,
        description="How long tokens live when the token answer has no expires_in.",
    )
    deprecated: Deprecation | None = None
    notes: tuple[str, ...] = Field(
        default=(),
        description="What the provider's docs leave open: each value left null and why.",
    )

    @model_validator(mode="before")
    @classmethod
    def _lifetime_in_seconds(cls, data: Any) -> Any:
        """token_lifetime (a value and its unit) sets token_lifetime_seconds, which is what
        the token code reads."""
        if isinstance(data, dict) and isinstance(data.get("token_lifetime"), dict):
            lifetime = TokenLifetime.model_validate(data["token_lifetime"])
            if data.get("token_lifetime_seconds") not in (None, lifetime.seconds):
                raise ValueError("token_lifetime and token_lifetime_seconds disagree")
            data = {**data, "token_lifetime_seconds": lifetime.seconds}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> SchemeSpec:
        names = {f.name for f in self.connection_fields}
        if len(names) != len(self.connection_fields):
            raise ValueError("duplicate connection field names")
        probe = self.identity.path if self.identity else None
        urls = (self.authorization_url, self.token_url, self.revocation_url, self.refresh_url)
        for url in (*urls, probe):
            for placeholder in PLACEHOLDER.findall(url or ""):
                if placeholder not in names:
                    raise ValueError(f"placeholder {{{placeholder}}} names no connection field")
        if self.revocation is not None:
            if self.revocation_url:
                raise ValueError("revocation_url (RFC 7009) and revocation exclude each other")
            for placeholder in PLACEHOLDER.findall(self.revocation.url):
                if placeholder not in names | {"client_id", "token"}:
                    raise ValueError(f"placeholder {{{placeholder}}} names no connection field")
            if (self.revocation.token_in == "path") != ("{token}" in self.revocation.url):
                raise ValueError("revocation: token_in path goes with a {token} in the url")
        if self.type is AuthScheme.OAUTH2 and any(f.secret for f in self.connection_fields):
            # Initiating a connection makes no KMS call; OAuth secrets come from the provider.
            raise ValueError("an OAUTH2 scheme cannot ask the end user for a secret field")
        self._scheme_parts(names)
        self._growth()
        return self

    def _growth(self) -> None:
        """The general growth's fields go with the schemes that have a token endpoint."""
        kind = self.type
        if kind is not AuthScheme.OAUTH2 and (self.refresh_url or self.refresh_params):
            raise ValueError(f"{kind.value} scheme cannot carry OAuth endpoints")
        if kind not in TOKEN_URL_SCHEMES and (self.token_params or self.token_fields):
            raise ValueError(f"{kind.value} scheme cannot carry OAuth endpoints")
        authlib_made = (AuthScheme.OAUTH2, AuthScheme.OAUTH2_CLIENT_CREDENTIALS)
        if kind not in authlib_made and self.token_request_format != "form":
            raise ValueError(f"{kind.value} scheme cannot carry a token_request_format")

    def _scheme_parts(self, names: set[str]) -> None:
        """Each scheme's own part present, the others' absent, and its fields declared."""
        kind = self.type
        own = {
            AuthScheme.OAUTH1: "oauth1",
            AuthScheme.JWT_BEARER: "jwt_bearer",
            AuthScheme.GITHUB_APP: "github_app",
            AuthScheme.TWO_STEP: "exchange",
        }
        for scheme, attr in own.items():
            if (getattr(self, attr) is not None) != (kind is scheme):
                raise ValueError(f"{attr} goes with, and only with, a {scheme.value} scheme")
        if kind not in TOKEN_URL_SCHEMES and (self.token_url or self.token_lifetime_seconds):
            raise ValueError(f"{kind.value} scheme cannot carry a token_url")
        if kind is not AuthScheme.OAUTH2:
            redirect_only = ("authorization_url", "authorization_params")
            if any(getattr(self, attr) for attr in redirect_only):
                raise ValueError(f"{kind.value} scheme cannot carry OAuth endpoints")
        revoked_by_oauth = (AuthScheme.OAUTH2, AuthScheme.OAUTH2_CLIENT_CREDENTIALS)
        if kind not in revoked_by_oauth and (self.revocation_url or self.revocation):
            raise ValueError(f"{kind.value} scheme cannot carry OAuth revocation")
        if kind not in (AuthScheme.OAUTH2, *TOKEN_URL_SCHEMES) and self.default_scopes:
            raise ValueError(f"{kind.value} scheme cannot carry scopes")
        if kind is not AuthScheme.OAUTH2_CLIENT_CREDENTIALS and (self.audience or self.resource):
            raise ValueError("audience and resource go with OAUTH2_CLIENT_CREDENTIALS")
        if kind in (AuthScheme.OAUTH1, AuthScheme.NO_AUTH):
            if self.apply is not None:
                raise ValueError(f"a {kind.value} scheme has no credential to apply")
            if kind is AuthScheme.NO_AUTH and any(f.secret for f in self.connection_fields):
                raise ValueError("a NO_AUTH scheme has no secret field")
        elif self.apply is None:
            raise ValueError(f"a {kind.value} scheme needs apply")
        else:
            produced = {"access_token"} if kind in TOKEN_SCHEMES else set()
            applied = (self.apply.field, self.apply.username_field, self.apply.password_field)
            for name in applied:
                if name and name not in names | produced:
                    raise ValueError(f"apply names unknown field {name!r}")
            secret = {f.name for f in self.connection_fields if f.secret} | produced
            if self.apply.location == "path" and self.apply.field not in secret:
                # What is not secret is neither redacted from answers nor kept from logs.
                raise ValueError("a path placement takes a secret field")
        required: tuple[str, ...] = ()
        if kind is AuthScheme.OAUTH2_CLIENT_CREDENTIALS:
            required = ("client_id",)
            if not names & {"client_secret", "private_key"}:
                raise ValueError("client credentials need a client_secret or private_key field")
        elif self.jwt_bearer is not None:
            required = JWT_BEARER_FIELDS[self.jwt_bearer.flavour]
        for name in required:
            if name not in names:
                raise ValueError(f"a {kind.value} scheme needs connection field {name!r}")
        templated: list[str] = []
        if self.oauth1 is not None:
            o = self.oauth1
            templated += [
                url for url in (o.request_token_url, o.authorization_url, o.access_token_url) if url
            ]
        if self.exchange is not None:
            templated += [*_strings(self.exchange.body), *self.exchange.headers.values()]
            for name in self.exchange.basic_auth or ():
                if name not in names:
                    raise ValueError(f"exchange.basic_auth names unknown field {name!r}")
        for text in templated:
            for placeholder in PLACEHOLDER.findall(text):
                if placeholder not in names:
                    raise ValueError(f"placeholder {{{placeholder}}} names no connection field")


class App(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    slug: str = Field(pattern=SLUG_PATTERN)
    name: str
    description: str
    categories: tuple[str, ...] = ()
    docs_url: str = Field(pattern=r"^https://[^\s]+$")
    api_base_url: str = Field(description="May hold {placeholders} naming connection fields.")
    auth_schemes: tuple[SchemeSpec, ...] = Field(min_length=1)
    logo_url: str | None = Field(
        default=None,
        pattern=r"^https://[^\s]+$",
        description="The app's logo, from the provider's own domain or brand page.",
    )
    api_headers: dict[str, str] = Field(
        default_factory=dict,
        description="Headers sent on every proxied request (an API version, say).",
    )
    mcp_server_url: str | None = Field(
        default=None,
        pattern=r"^https://[^\s]+$",
        description="The app's remote MCP server (Streamable HTTP), for integrations with `mcp`.",
    )

    @model_validator(mode="after")
    def _unique_schemes(self) -> App:
        kinds = [s.type for s in self.auth_schemes]
        if len(set(kinds)) != len(kinds):
            raise ValueError("an auth scheme appears twice")
        return self

    def template_fields(self, spec: SchemeSpec) -> set[str]:
        """What api_base_url may name with this scheme: its connection fields and the
        fields of its token answer."""
        return {f.name for f in spec.connection_fields} | set(spec.token_fields)

    def scheme(self, kind: AuthScheme) -> SchemeSpec:
        for spec in self.auth_schemes:
            if spec.type is kind:
                return spec
        raise NotFound(
            "auth_scheme_not_supported",
            f"App {self.slug!r} does not support auth scheme {kind.value}",
            {"supported": [s.type.value for s in self.auth_schemes]},
        )
