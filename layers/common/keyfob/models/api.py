"""The API's models: what requests carry and responses show (never a stored record, and
never a secret but in Credentials)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from keyfob.catalog import AuthScheme, ParamField
from keyfob.models.settings import ApiSettings, OAuthSettings
from keyfob.models.types import (
    EntityId,
    Labels,
    Model,
    ParamValue,
    ResourceId,
    Slug,
    Status,
    Url,
)

# --- the catalog -------------------------------------------------------------------


class SchemeSummary(Model):
    type: AuthScheme
    authorization_url: str | None = None
    token_url: str | None = None
    revocation_url: str | None = None
    default_scopes: list[str] = []
    pkce: bool | None = None


class AppView(Model):
    slug: str
    name: str
    description: str
    categories: list[str]
    docs_url: str
    api_base_url: str
    auth_schemes: list[SchemeSummary]


class AppList(Model):
    items: list[AppView]


class AppParams(Model):
    app: str
    auth_scheme: AuthScheme
    integration_fields: list[ParamField] = Field(
        description="What the developer supplies once, when creating an integration."
    )
    connection_fields: list[ParamField] = Field(
        description="What each end user supplies to connect an account."
    )


# --- integrations -------------------------------------------------------------------


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


# --- connected accounts ---------------------------------------------------------------


class ConnectionCreate(Model):
    integration_id: ResourceId
    entity_id: EntityId
    params: Annotated[dict[str, ParamValue], Field(max_length=20)] = Field(
        default_factory=dict, description="The app's connection_fields."
    )
    redirect_url: Url | None = Field(
        default=None, description="Where the user's browser goes after the OAuth callback."
    )
    labels: Labels = Field(default_factory=dict)


class AccountFields(BaseModel):
    """What the API shows of a connected account; the stored record holds these and more."""

    model_config = ConfigDict(defer_build=True)

    id: str
    integration_id: str
    app: str
    auth_scheme: AuthScheme
    entity_id: str
    status: Status
    status_reason: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    params: dict[str, str] = Field(
        default_factory=dict, description="Connection params that are not secret."
    )
    token_expires_at: str | None = None
    last_refreshed_at: str | None = None
    refresh_failures: int = Field(
        default=0, description="Failed refreshes since the last success; reset by one."
    )
    upstream_account_id: str | None = Field(
        default=None, description="The account at the app this connection belongs to."
    )
    upstream_display_name: str | None = None
    created_at: str
    updated_at: str


class AccountView(AccountFields):
    model_config = Model.model_config


class InitiatedAccount(AccountView):
    redirect_url: str | None = Field(
        description="OAuth 2.0: send the user here to authorize. Otherwise null."
    )


class Reinitiate(Model):
    redirect_url: Url | None = Field(
        default=None, description="Where the browser goes after the callback; default: as before."
    )


class Confirmation(Model):
    code: Annotated[str, StringConstraints(min_length=1, max_length=256)] = Field(
        description="The confirmation_code your redirect_url received."
    )
    entity_id: EntityId = Field(
        description="The entity whose session received the code, as your app knows it."
    )


class Revoked(Model):
    status: Literal["revoked", "failed", "skipped", "not_supported", "not_needed"] = Field(
        description="revoked: the provider confirmed; failed: it could not be reached or "
        "refused (the grant may be alive); skipped: revoke=false; not_supported: the app "
        "has no revocation call; not_needed: the account held no token."
    )
    message: str | None = None


class Deleted(Model):
    id: str
    deleted: Literal[True] = True
    revocation: Revoked


class AccountPage(Model):
    items: list[AccountView]
    next_cursor: str | None


class Credentials(Model):
    connected_account_id: str
    app: str
    auth_scheme: AuthScheme
    status: Status
    credentials: dict[str, Any] = Field(
        description="Access/refresh token and expiry, or the API key and other params."
    )


# --- the proxy ---------------------------------------------------------------------

HeaderName = Annotated[str, StringConstraints(min_length=1, max_length=128)]
HeaderValue = Annotated[str, StringConstraints(max_length=8192)]
# An HTTP token (RFC 9110) and printable ASCII: checked by the proxy, which says which.
HEADER_NAME_PATTERN = r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$"
HEADER_VALUE_PATTERN = r"^[\t\x20-\x7e]*$"
QueryName = Annotated[str, StringConstraints(min_length=1, max_length=256)]
QueryValue = Annotated[str, StringConstraints(max_length=8192)]


# What the proxy takes as a path, in the document's terms: one leading /, RFC 3986
# characters, valid percent-encoding, nothing encoded twice (%25) or a control character,
# and no . or .. segment however spelled. The proxy's own check (which says which rule
# failed) and this pattern accept the same paths; a unit test holds them to it.
_SEPARATOR = r"(?:/|%2[fF]|%5[cC])"
_DOT = r"(?:\.|%2[eE])"
PROXY_PATH_PATTERN = (
    rf"^(?!.*{_SEPARATOR}{_DOT}{{1,2}}(?:{_SEPARATOR}|$))"
    r"/(?!/)(?:[A-Za-z0-9\-._~!$&'()*+,;=:/]|%(?!25|[01][0-9A-Fa-f]|7[fF])[0-9A-Fa-f]{2})*$"
)


class ProxyRequest(Model):
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    path: Annotated[str, StringConstraints(min_length=1, max_length=2048)] = Field(
        description="Relative to the app's API base URL, starting with /: percent-encoded, "
        "without query, fragment, `@`, backslashes or dot segments.",
        # Checked by the proxy, which names the rule a path breaks (422).
        json_schema_extra={"pattern": PROXY_PATH_PATTERN},
    )
    query: Annotated[
        dict[QueryName, QueryValue | Annotated[list[QueryValue], Field(max_length=100)]],
        Field(max_length=100),
    ] = Field(default_factory=dict, description="Query parameters; a list repeats the name.")
    headers: Annotated[
        dict[HeaderName, HeaderValue],
        Field(
            max_length=50,
            json_schema_extra={
                "patternProperties": {
                    HEADER_NAME_PATTERN: {
                        "type": "string",
                        "maxLength": 8192,
                        "pattern": HEADER_VALUE_PATTERN,
                    }
                },
                "additionalProperties": False,
            },
        ),
    ] = Field(
        default_factory=dict,
        description="Request headers. Never forwarded: authorization, x-api-key, cookie, "
        "host, proxy and hop-by-hop headers, and the header the credential goes in.",
    )
    body: Any = Field(
        default=None,
        description="A string is sent as it is (text/plain unless headers give a "
        "content-type); any other JSON value as JSON (application/json); null: no body.",
    )


class ProxyResponse(Model):
    status: int = Field(description="The upstream's HTTP status, redirects included.")
    headers: dict[str, str] = Field(
        description="The upstream's headers, names in lower case, without set-cookie and "
        "hop-by-hop headers."
    )
    body: Any = Field(description="The parsed JSON, the text, or base64; null when empty.")
    body_encoding: Literal["json", "text", "base64"]


# --- connect links -----------------------------------------------------------------


class ConnectLinkCreate(Model):
    integration_id: ResourceId
    entity_id: EntityId
    redirect_url: Url = Field(
        description="Where the end user's browser goes once connected, with "
        "connected_account_id and status in the query."
    )
    labels: Labels = Field(default_factory=dict)


class ConnectLink(Model):
    id: str
    url: str = Field(description="The hosted connect page: single use, send the end user here.")
    expires_at: str
