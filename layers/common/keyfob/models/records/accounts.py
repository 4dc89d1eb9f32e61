"""A connected account, a write of its attributes, and what it is made with and leaves:
its pending authorization (state), the connect link it came from, its history."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from keyfob.models.account_view import AccountFields, AccountView
from keyfob.models.mcp import Grant
from keyfob.models.records.base import EncryptedBlob, Record
from keyfob.models.types import PENDING, Status

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
