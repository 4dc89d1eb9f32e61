"""Integrations in the API: what creating one takes, and what one shows (never its secret)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints

from keyfob.catalog import AuthScheme
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
_INTEGRATION_BY_SCHEME: dict[str, Any] = {
    "if": {"properties": {"auth_scheme": {"const": "OAUTH2"}}, "required": ["auth_scheme"]},
    "then": {
        "required": ["credentials"],
        "properties": {"credentials": _OAUTH2_CREDENTIALS},
    },
    # The other schemes take their credential per connection, and no OAuth settings.
    "else": {
        "properties": {
            "credentials": {"maxProperties": 0},
            "oauth": {"type": "null"},
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
    require_confirmation: bool
    account_count: int
    created_at: str


class IntegrationPage(Model):
    items: list[IntegrationView]
    next_cursor: str | None
