"""Integrations in the API: what creating one takes, and what one shows (never its secret)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints

from keyfob.catalog import AuthScheme
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
_INTEGRATION_BY_SCHEME: dict[str, Any] = {
    "if": {"properties": {"auth_scheme": {"const": "OAUTH2"}}, "required": ["auth_scheme"]},
    "then": {
        "if": {"properties": {"mcp": {"type": "object"}}, "required": ["mcp"]},
        "then": {"properties": {"credentials": _MCP_CREDENTIALS}},
        "else": {"required": ["credentials"], "properties": {"credentials": _OAUTH2_CREDENTIALS}},
    },
    # The other schemes take their credential per connection, and no OAuth settings.
    "else": {
        "properties": {
            "credentials": {"maxProperties": 0},
            "oauth": {"type": "null"},
            "mcp": {"type": "null"},
            "require_confirmation": {"const": False},
        }
    },
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
