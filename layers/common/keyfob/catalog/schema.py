"""The catalog's schema: an app, its auth schemes, the fields each asks for, and how a
credential is applied, proven (identity probe) and revoked."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from keyfob.core.errors import NotFound

SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


class AuthScheme(StrEnum):
    OAUTH2 = "OAUTH2"
    API_KEY = "API_KEY"
    BEARER_TOKEN = "BEARER_TOKEN"
    BASIC = "BASIC"


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

    location: Literal["header", "query", "basic"]
    name: str | None = Field(default=None, description="Header or query parameter name.")
    prefix: str = ""
    field: str | None = Field(
        default=None, description="Credential field that supplies the value (header/query)."
    )
    username_field: str | None = None
    password_field: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> CredentialPlacement:
        if self.location == "basic":
            if not self.username_field:
                raise ValueError("basic placement needs username_field")
        elif not (self.name and self.field):
            raise ValueError(f"{self.location} placement needs name and field")
        return self


class Probe(BaseModel):
    """An API call, made with the connection's own credential, that proves the credential
    works and, where the answer names one, which upstream account it belongs to."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    method: Literal["GET", "POST"] = "GET"
    path: str = Field(
        pattern=r"^(/|https?://)[^\s]*$",
        description="Relative to the app's API base URL, or an absolute URL.",
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra request headers (an API version, say)."
    )
    id_field: str | None = Field(
        default=None, description="Dotted path to the upstream account id in the JSON answer."
    )
    name_field: str | None = Field(
        default=None, description="Dotted path to a display name (login, email, workspace)."
    )
    ok_field: str | None = Field(
        default=None,
        description="Dotted path that must be true: for APIs that answer HTTP 200 with "
        "an error flag (Slack's `ok`).",
    )


class Revocation(BaseModel):
    """A provider's own revocation call, for providers that do not implement RFC 7009
    (which ``revocation_url`` means)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    method: Literal["POST", "DELETE", "GET"] = "POST"
    url: str = Field(
        pattern=r"^https?://[^\s]+$",
        description="May hold {client_id}, {token} and connection field placeholders.",
    )
    token: Literal["access_token", "refresh_token"] = Field(
        default="access_token", description="Which token the call revokes."
    )
    token_in: Literal["bearer", "form", "json", "query", "path"] = Field(
        description="How the token is sent: as the bearer credential, a form, JSON or query "
        "parameter named token_param, or in the URL's {token}."
    )
    token_param: str = "token"
    client_auth: Literal["basic", "none"] = Field(
        default="none", description="basic: HTTP Basic with the integration's client id/secret."
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra request headers (an API version, say)."
    )


class SchemeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    type: AuthScheme
    connection_fields: tuple[ParamField, ...] = ()
    apply: CredentialPlacement
    # OAuth 2.0 only; URLs may hold {placeholders} naming connection fields.
    authorization_url: str | None = None
    token_url: str | None = None
    revocation_url: str | None = None
    default_scopes: tuple[str, ...] = ()
    scope_separator: str = " "
    pkce: bool = True
    token_endpoint_auth_method: Literal["client_secret_basic", "client_secret_post"] = (
        "client_secret_post"
    )
    authorization_params: dict[str, str] = Field(default_factory=dict)
    revocation: Revocation | None = None
    # Refresh this long before the access token expires (and at most halfway through a
    # token's life, so that short-lived tokens never refresh on every read).
    refresh_buffer_seconds: int = Field(default=300, ge=0, le=86400)
    # For providers that omit expires_in although their tokens do expire.
    token_lifetime_seconds: int | None = Field(default=None, ge=60)
    identity: Probe | None = None
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
        if self.type is not AuthScheme.OAUTH2:
            oauth_only = (
                "authorization_url",
                "token_url",
                "revocation_url",
                "revocation",
                "default_scopes",
                "token_lifetime_seconds",
                "refresh_url",
                "token_params",
                "refresh_params",
                "token_fields",
            )
            if any(getattr(self, attr) for attr in oauth_only):
                raise ValueError(f"{self.type.value} scheme cannot carry OAuth endpoints")
            for name in (self.apply.field, self.apply.username_field, self.apply.password_field):
                if name and name not in names:
                    raise ValueError(f"apply names unknown field {name!r}")
        return self


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


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    version: Literal[1]
    apps: list[App]

    @model_validator(mode="after")
    def _unique_slugs(self) -> Catalog:
        slugs = [a.slug for a in self.apps]
        if len(set(slugs)) != len(slugs):
            raise ValueError("duplicate app slug")
        return self


# --- the general growth of issue 11 ---------------------------------------------------

_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


class TokenLifetime(BaseModel):
    """A token lifetime as the provider's docs state it, for answers without expires_in."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    value: int = Field(gt=0)
    unit: Literal["seconds", "minutes", "hours", "days"]

    @property
    def seconds(self) -> int:
        return self.value * _UNIT_SECONDS[self.unit]


class Deprecation(BaseModel):
    """A scheme the provider retires: from when, and what to use instead."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    date: str = Field(
        pattern=r"^\d{4}-\d{2}-\d{2}$", description="When it stops working (or stopped)."
    )
    message: str = Field(min_length=1)


SchemeSpec.model_rebuild()
