"""Pydantic models of the API and of the records stored in DynamoDB.

Models are built lazily (``defer_build``): a function pays for the schemas it uses,
on first use, not for every model at import.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from keyfob.catalog import SLUG_PATTERN, AuthScheme, ParamField, Probe, Revocation

ENTITY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@:+\-]{0,127}$"
ID_PATTERN = r"^[a-z]{2,4}_[a-z2-7]{24}$"

Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
EntityId = Annotated[
    str,
    StringConstraints(pattern=ENTITY_PATTERN),
    Field(description="Your identifier for the end user; letters, digits and _.@:+- only."),
]
ResourceId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Url = Annotated[str, StringConstraints(min_length=8, max_length=2048)]
LabelKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")]
Labels = Annotated[
    dict[LabelKey, Annotated[str, StringConstraints(max_length=256)]],
    Field(max_length=20, description="Up to 20 free-form labels, kept on the account."),
]
ParamValue = Annotated[str, StringConstraints(max_length=4096)]
AwsAccountId = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


def set_fields(overrides: BaseModel | None) -> dict[str, Any]:
    """The fields a partial settings model gives a value (not None), as they are: nested
    models stay models, ready for ``model_copy(update=...)`` on the catalog's defaults."""
    if overrides is None:
        return {}
    return {
        name: value
        for name in type(overrides).model_fields
        if (value := getattr(overrides, name)) is not None
    }


class Status(StrEnum):
    INITIATED = "INITIATED"
    ACTIVE = "ACTIVE"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    INACTIVE = "INACTIVE"
    AWAITING_CONFIRMATION = "AWAITING_CONFIRMATION"


# Statuses of an attempt still waiting for the user (or the app): they lapse to EXPIRED.
PENDING = frozenset({Status.INITIATED, Status.AWAITING_CONFIRMATION})


# --- catalog views -------------------------------------------------------------


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


# --- integrations ----------------------------------------------------------------


class OAuthSettings(Model):
    """OAuth 2.0 endpoints and behaviour; any field overrides the catalog's value."""

    authorization_url: Url | None = None
    token_url: Url | None = None
    revocation_url: Url | None = Field(default=None, description="RFC 7009 revocation endpoint.")
    revocation: Revocation | None = Field(
        default=None, description="The provider's own revocation call, where not RFC 7009."
    )
    token_endpoint_auth_method: Literal["client_secret_basic", "client_secret_post"] | None = None
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


class ApiSettings(Model):
    """The app's own API; any field overrides the catalog's value (a self-hosted instance)."""

    base_url: Url | None = Field(default=None, description="API base URL for requests.")
    identity: Probe | None = Field(
        default=None,
        description="The call that proves a credential and names the upstream account.",
    )


class IntegrationCreate(Model):
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


# --- connected accounts ----------------------------------------------------------


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


class AccountView(Model):
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


# --- the proxy -------------------------------------------------------------------

HeaderName = Annotated[str, StringConstraints(min_length=1, max_length=128)]
HeaderValue = Annotated[str, StringConstraints(max_length=8192)]
QueryName = Annotated[str, StringConstraints(min_length=1, max_length=256)]
QueryValue = Annotated[str, StringConstraints(max_length=8192)]


class ProxyRequest(Model):
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    path: Annotated[str, StringConstraints(min_length=1, max_length=2048)] = Field(
        description="Relative to the app's API base URL, starting with /: percent-encoded, "
        "without query, fragment, `@`, backslashes or dot segments."
    )
    query: Annotated[
        dict[QueryName, QueryValue | Annotated[list[QueryValue], Field(max_length=100)]],
        Field(max_length=100),
    ] = Field(default_factory=dict, description="Query parameters; a list repeats the name.")
    headers: Annotated[dict[HeaderName, HeaderValue], Field(max_length=50)] = Field(
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


# --- stored records --------------------------------------------------------------


class Record(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)


class EncryptedBlob(Record):
    """What is stored: never the plaintext, never the plaintext data key."""

    v: int
    edk: str  # KMS-encrypted data key, base64
    nonce: str  # 96-bit GCM nonce, base64
    ct: str  # ciphertext with the GCM tag, base64


class TenantRecord(Record):
    id: str
    name: str
    api_key_prefix: str
    created_at: str


class IntegrationRecord(Record):
    tenant_id: str
    id: str
    name: str
    app: str
    auth_scheme: AuthScheme
    client_id: str | None = None
    scopes: list[str] = []
    oauth: OAuthSettings | None = None
    api: ApiSettings | None = None
    require_confirmation: bool = False
    secret: EncryptedBlob | None = None
    account_count: int = 0
    created_at: str


class AccountRecord(AccountView):
    """The stored account: the view's fields plus what the API never shows."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    tenant_id: str
    secret: EncryptedBlob | None = None
    return_url: str | None = None
    # Epoch seconds after which an INITIATED or AWAITING_CONFIRMATION account has lapsed.
    pending_until: int | None = None
    # When the scheduled run next has work on this account (refresh, expiry); indexed.
    due_at: str | None = None
    # Bumped by every write of the secret: the optimistic lock of token refreshes.
    token_version: int = 0
    # Whether the secret holds a refresh token (known without decrypting it).
    refreshable: bool = False
    lease_owner: str | None = None
    lease_until: int | None = None  # epoch milliseconds
    confirmation_hash: str | None = None
    # The AWS account whose command started the connection: its events name it.
    requested_by_account: str | None = None

    def lapsed(self, now_epoch: float) -> bool:
        return (
            self.status in PENDING
            and self.pending_until is not None
            and self.pending_until <= now_epoch
        )

    def effective(self, now_epoch: float) -> AccountRecord:
        """The account as it stands: a pending attempt past its time is EXPIRED, whether
        or not the scheduled run has recorded it yet."""
        if not self.lapsed(now_epoch):
            return self
        return self.model_copy(
            update={"status": Status.EXPIRED, "status_reason": LAPSED_REASON[self.status]}
        )

    def view(self) -> AccountView:
        return AccountView.model_validate(self.model_dump(include=set(AccountView.model_fields)))


LAPSED_REASON = {
    Status.INITIATED: "authorization was not completed in time",
    Status.AWAITING_CONFIRMATION: "the connection was not confirmed in time",
}


class StateRecord(Record):
    """A pending OAuth authorization, keyed by the hash of its state value."""

    state_hash: str
    tenant_id: str
    account_id: str
    integration_id: str
    code_verifier: str | None = None
    redirect_uri: str
    return_url: str | None = None
    params: dict[str, str] = {}
    created_at: str
    expires_at: int


class LinkRecord(Record):
    """A connect link, keyed by the hash of the secret token in its URL; single use."""

    link_hash: str
    id: str
    tenant_id: str
    integration_id: str
    entity_id: str
    redirect_url: str
    labels: dict[str, str] = {}
    created_at: str
    expires_at: int
    used_at: str | None = None
    account_id: str | None = None


class OutboxRecord(Record):
    """An event PutEvents refused, kept for the scheduled run to send again. The event
    is encrypted: an Initiated event carries an authorization URL, whose state Keyfob
    otherwise stores only hashed."""

    event_id: str
    tenant_id: str
    recorded_at: str
    event: EncryptedBlob
    ttl: int  # DynamoDB's TTL drops an event nobody could send for a week


# --- events out (detail of what Keyfob publishes; never a secret) -----------------


class ConnectionEvent(Model):
    """The detail of every ``Keyfob.Connection*`` event."""

    event_id: str = Field(description="Unique per event: deliveries are at least once.")
    occurred_at: str
    tenant_id: str
    connected_account_id: str
    entity_id: str
    app: str
    integration_id: str
    status: Status | Literal["DELETED"]
    previous_status: Status | None
    status_reason: str | None
    authorization_url: str | None = Field(
        description="ConnectionInitiated only: where to send the user to authorize."
    )
    correlation_id: str | None = Field(
        description="The API request id, the command's idempotency key or event id, or "
        "the scheduled run's request id."
    )
    requested_by_account: str | None = Field(
        description="The AWS account whose command caused this, or started the connection."
    )


class CommandError(Model):
    code: str
    message: str
    details: Any = None


class CommandRejectedEvent(Model):
    """The detail of ``Keyfob.CommandRejected``: a command Keyfob will not carry out."""

    event_id: str
    occurred_at: str
    tenant_id: str
    command: str = Field(description="The command's detail-type.")
    command_event_id: str
    idempotency_key: str | None
    connected_account_id: str | None
    error: CommandError
    correlation_id: str | None
    requested_by_account: str


# --- commands in (detail of the events other AWS accounts put on the bus) ----------

IdempotencyKey = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9_.:\-]{1,128}$"),
    Field(description="Acts once per key and sending account; default: the event id."),
]


class InitiateConnectionCommand(ConnectionCreate):
    idempotency_key: IdempotencyKey | None = None


class AccountCommand(Model):
    """Refresh, disable, enable: a command on one connected account."""

    connected_account_id: ResourceId
    idempotency_key: IdempotencyKey | None = None


class DeleteConnectionCommand(AccountCommand):
    revoke: bool = True
