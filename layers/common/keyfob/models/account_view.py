"""What the API shows of a connected account (never a secret), apart from the requests
and answers of its routes: the stored record holds these fields and is turned into the
view, in every function that reads an account."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from keyfob.catalog.names import AuthScheme
from keyfob.models.types import Model, Status


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
    granted_scopes: list[str] | None = Field(
        default=None,
        description="OAuth 2.0: the scopes the provider granted (its token answer's scope, "
        "or those requested when it names none).",
    )
    missing_scopes: list[str] | None = Field(
        default=None,
        description="Requested but not granted; reinitiate with scopes to ask again.",
    )
    created_at: str
    updated_at: str


class AccountView(AccountFields):
    model_config = Model.model_config
