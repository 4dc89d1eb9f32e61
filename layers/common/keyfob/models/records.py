"""The records stored in DynamoDB, apart from the API's models: a record holds what the
API never shows (encrypted secrets, leases, hashes), and the API shows what a record
is turned into (``AccountRecord.view``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from keyfob.catalog.names import AuthScheme
from keyfob.catalog.scheme_parts import GitHubAppSpec, OAuth1Spec
from keyfob.models.accounts import AccountFields, AccountView
from keyfob.models.mcp import Grant, McpSettings
from keyfob.models.settings import ApiSettings, OAuthSettings
from keyfob.models.types import PENDING, Status


class Record(BaseModel):
    # A newer writer's extra attributes do not break an older reader.
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
    oauth1: OAuth1Spec | None = None
    github_app: GitHubAppSpec | None = None
    api: ApiSettings | None = None
    # A remote MCP server, whose authorization server each connection discovers.
    mcp: McpSettings | None = None
    require_confirmation: bool = False
    secret: EncryptedBlob | None = None
    account_count: int = 0
    created_at: str


LAPSED_REASON = {
    Status.INITIATED: "authorization was not completed in time",
    Status.AWAITING_CONFIRMATION: "the connection was not confirmed in time",
}


class AccountRecord(AccountFields):
    """A connected account as stored: what the API shows of it, and what it never does."""

    model_config = Record.model_config

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


class Increment(BaseModel):
    """A number added to the stored one (DynamoDB's ADD), whatever it is now."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    by: int = 1


class AccountChanges(BaseModel):
    """A write of some of an account's attributes: exactly the fields given are written,
    and a field given as None is removed. The status is not among them: only the state
    machine (``keyfob.services.transitions``) changes it."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    status_reason: str | None = None
    token_expires_at: str | None = None
    last_refreshed_at: str | None = None
    refresh_failures: int | None = None
    upstream_account_id: str | None = None
    upstream_display_name: str | None = None
    granted_scopes: list[str] | None = None
    missing_scopes: list[str] | None = None
    updated_at: str | None = None
    secret: EncryptedBlob | None = None
    return_url: str | None = None
    pending_until: int | None = None
    due_at: str | None = None
    token_version: int | Increment | None = None
    refreshable: bool | None = None
    lease_owner: str | None = None
    lease_until: int | None = None
    confirmation_hash: str | None = None

    def merged(self, other: AccountChanges) -> AccountChanges:
        """These changes with ``other``'s on top."""
        given = {name: getattr(other, name) for name in other.model_fields_set}
        return self.model_copy(update=given)


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
    # A remote MCP server's attempt: the authorization server the user was sent to.
    grant: Grant | None = None
    # OAuth 2.0: the scopes this attempt asked for (what a grant may have left out).
    scopes: list[str] | None = None


class LinkRecord(Record):
    """A connect link, keyed by the hash of the secret token in its URL; single use."""

    link_hash: str
    id: str
    tenant_id: str
    integration_id: str
    entity_id: str
    # None: a link made for an agent, whose user only closes the window when done.
    redirect_url: str | None = None
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


class ApiKeyRecord(Record):
    """An API key, found by the hash of the key (the authorizer's lookup) and listed
    under its tenant by id. A tenant key opens the whole API; an agent key only the MCP
    endpoint, for its entities (and apps and tools, when it names them)."""

    key_hash: str
    id: str = ""
    tenant_id: str
    kind: Literal["tenant", "agent"] = "tenant"
    name: str | None = None
    prefix: str = ""
    entity_ids: list[str] = []
    apps: list[str] | None = None
    operations: list[str] | None = None
    created_at: str
    expires_at: int | None = None  # epoch seconds; None: until deleted

    def expired(self, now_epoch: float) -> bool:
        return self.expires_at is not None and self.expires_at <= now_epoch


class RegistrationRecord(Record):
    """An OAuth client Keyfob registered (RFC 7591) with an MCP server's authorization
    server, keyed by tenant and the authorization server's issuer, reused by every
    connection to it; its client secret is encrypted."""

    tenant_id: str
    issuer: str
    client_id: str
    token_endpoint_auth_method: str
    secret: EncryptedBlob | None = None
    client_secret_expires_at: int | None = None  # epoch seconds; None or 0: never
    registered_at: str


class WebhookRecord(Record):
    """A webhook endpoint. Its signing secrets are encrypted: ``{"keys": [{"secret",
    "expires_at"}]}``, the newest first; a rotated-out secret signs until its expiry."""

    tenant_id: str
    id: str
    url: str
    event_types: list[str] | None = None
    description: str | None = None
    status: Literal["ENABLED", "DISABLED"] = "ENABLED"
    status_reason: str | None = None
    failing_since: str | None = None
    secrets: EncryptedBlob
    created_at: str
    secret_rotated_at: str | None = None


class AttemptRecord(Record):
    """One delivery attempt of a message to an endpoint. The payload is encrypted (an
    Initiated event's authorization URL holds an OAuth state); the listing never shows it."""

    tenant_id: str
    webhook_id: str
    id: str
    message_id: str
    event_type: str
    trigger: Literal["event", "test", "retry"]
    attempt: int
    attempted_at: str
    status_code: int | None = None
    duration_ms: int
    error_class: str | None = None
    succeeded: bool
    next_attempt_at: str | None = None
    payload: EncryptedBlob
    ttl: int


class HistoryRecord(Record):
    """One status change of a connected account, as its event reported it, kept for the
    account's history (``GET .../events``): never the Initiated event's authorization URL,
    never a secret. Refreshes are not kept (the account shows its last one)."""

    tenant_id: str
    connected_account_id: str
    event_id: str
    type: str
    occurred_at: str
    status: Status | Literal["DELETED"]
    previous_status: Status | None = None
    status_reason: str | None = None
    correlation_id: str | None = None
    ttl: int  # DynamoDB's TTL drops what is older than the history keeps
