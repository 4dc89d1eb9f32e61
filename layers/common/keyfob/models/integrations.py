"""Integrations in the API: what creating one takes, and what one shows (never its secret)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints

from keyfob.catalog.names import AuthScheme
from keyfob.catalog.scheme_parts import GitHubAppSpec, OAuth1Spec
from keyfob.models.mcp import McpSettings
from keyfob.models.settings import ApiSettings, OAuthSettings
from keyfob.models.types import Model, ParamValue, Slug

# What an integration's credentials are, by auth scheme, in the document's terms (the
# catalog's integration_fields, which the API checks them against, say the same).
_OAUTH2_CREDENTIALS: dict[str, Any] = {
    "required": ["client_id", "client_secret"],
    "properties": {
        "client_id": {"type": "string", "minLength": 1},
        "client_secret": {"type": "string", "minLength": 1},
        "scopes": {
            "anyOf": [
                {"type": "string", "maxLength": 4096},
                {"type": "array", "items": {"type": "string", "maxLength": 256}},
            ]
        },
    },
    "additionalProperties": False,
}
# A remote MCP server's integration needs no credentials (Keyfob registers itself); a
# pre-registered client may have no secret (a public client).
_MCP_CREDENTIALS: dict[str, Any] = {
    **_OAUTH2_CREDENTIALS,
    "required": [],
    "dependentRequired": {"client_secret": ["client_id"]},
}


def _when(schemes: tuple[str, ...], then: dict[str, Any]) -> dict[str, Any]:
    return {
        "if": {"properties": {"auth_scheme": {"enum": list(schemes)}}, "required": ["auth_scheme"]},
        "then": then,
    }


def _credentials(*names: str) -> dict[str, Any]:
    """The integration's credentials of these names, all required."""
    return {
        "required": list(names),
        "properties": {name: _CREDENTIAL_FIELDS[name] for name in names},
        "additionalProperties": False,
    }


_CREDENTIAL_FIELDS: dict[str, Any] = {
    **_OAUTH2_CREDENTIALS["properties"],
    "app_slug": {"type": "string", "minLength": 1},
    "oauth_client_secret": {"type": "string", "minLength": 1},
}
_ALL = tuple(s.value for s in AuthScheme)


def _but(*kept: str) -> tuple[str, ...]:
    return tuple(s for s in _ALL if s not in kept)


_TOKEN_URL = ("OAUTH2", "OAUTH2_CLIENT_CREDENTIALS", "JWT_BEARER", "TWO_STEP")
_REDIRECTING = ("OAUTH2", "OAUTH1", "GITHUB_APP")
_INTEGRATION_BY_SCHEME: dict[str, Any] = {
    "allOf": [
        _when(
            ("OAUTH2",),
            {
                "if": {"properties": {"mcp": {"type": "object"}}, "required": ["mcp"]},
                "then": {"properties": {"credentials": _MCP_CREDENTIALS}},
                "else": {
                    "required": ["credentials"],
                    "properties": {"credentials": _OAUTH2_CREDENTIALS},
                },
            },
        ),
        # Each connection brings its own client, or its own key: the integration, scopes.
        _when(
            ("OAUTH2_CLIENT_CREDENTIALS", "JWT_BEARER"),
            {"properties": {"credentials": {**_credentials("scopes"), "required": []}}},
        ),
        # OAuth 1.0a: the consumer key and secret (or RSA private key) of the developer's app.
        _when(
            ("OAUTH1",),
            {
                "required": ["credentials"],
                "properties": {"credentials": _credentials("client_id", "client_secret")},
            },
        ),
        # A GitHub App: its client ID, private key, slug and client secret.
        _when(
            ("GITHUB_APP",),
            {
                "required": ["credentials"],
                "properties": {
                    "credentials": _credentials(
                        "client_id", "client_secret", "app_slug", "oauth_client_secret"
                    )
                },
            },
        ),
        # The others take their credential per connection.
        _when(
            _but("OAUTH2", "OAUTH2_CLIENT_CREDENTIALS", "JWT_BEARER", "OAUTH1", "GITHUB_APP"),
            {"properties": {"credentials": {"maxProperties": 0}}},
        ),
        _when(_but(*_TOKEN_URL), {"properties": {"oauth": {"type": "null"}}}),
        _when(_but("OAUTH1"), {"properties": {"oauth1": {"type": "null"}}}),
        _when(_but("GITHUB_APP"), {"properties": {"github_app": {"type": "null"}}}),
        _when(_but("OAUTH2"), {"properties": {"mcp": {"type": "null"}}}),
        _when(_but(*_REDIRECTING), {"properties": {"require_confirmation": {"const": False}}}),
    ]
}


class IntegrationCreate(Model):
    model_config = ConfigDict(json_schema_extra=_INTEGRATION_BY_SCHEME)

    app: Slug
    auth_scheme: AuthScheme
    name: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    credentials: Annotated[
        dict[str, ParamValue | list[Annotated[str, StringConstraints(max_length=256)]]],
        Field(max_length=20),
    ] = Field(
        default_factory=dict,
        description="The app's integration_fields: client_id, client_secret, scopes.",
    )
    oauth: OAuthSettings | None = None
    oauth1: OAuth1Spec | None = Field(
        default=None, description="OAUTH1: endpoints and signing, over the catalog's."
    )
    github_app: GitHubAppSpec | None = Field(
        default=None, description="GITHUB_APP: GitHub's endpoints, over the catalog's."
    )
    api: ApiSettings | None = None
    mcp: McpSettings | None = Field(
        default=None,
        description="Connect to the app's remote MCP server (OAUTH2): Keyfob discovers its "
        "authorization server and registers itself where no client is given. App `mcp` "
        "needs `server_url`; a catalog app with a remote MCP server takes `{}`.",
    )
    require_confirmation: bool = Field(
        default=False,
        description="Bind each OAuth connection to the entity's session: the callback leaves "
        "the account AWAITING_CONFIRMATION and hands your redirect_url a one-time "
        "confirmation_code, which your backend confirms with the entity_id of the user "
        "who arrived there.",
    )


class IntegrationView(Model):
    id: str
    name: str
    app: str
    auth_scheme: AuthScheme
    client_id: str | None
    scopes: list[str]
    oauth: OAuthSettings | None = Field(description="Effective OAuth settings, after overrides.")
    oauth1: OAuth1Spec | None = Field(
        default=None, description="Effective OAuth 1.0a settings, after overrides."
    )
    github_app: GitHubAppSpec | None = Field(
        default=None, description="Effective GitHub App settings, after overrides."
    )
    api: ApiSettings | None = Field(description="Effective API settings, after overrides.")
    mcp: McpSettings | None = Field(default=None, description="The remote MCP server, if any.")
    require_confirmation: bool
    account_count: int
    created_at: str
    warnings: list[str] = Field(
        default=[],
        description="What the developer should know: a scheme the provider is retiring.",
    )


class IntegrationPage(Model):
    items: list[IntegrationView]
    next_cursor: str | None
