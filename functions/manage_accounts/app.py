"""A connected account's lifecycle: delete (revoking the grant), disable, enable,
reinitiate and confirm."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from keyfob.models.account_view import AccountView
from keyfob.models.accounts import Deleted
from keyfob.models.connections import Confirmation, InitiatedAccount, Reinitiate
from keyfob.models.types import ResourceId
from keyfob.services import confirmation, lifecycle
from keyfob.web.resolver import API_KEY_SECURITY, callback_url, create_app, entry, tenant_id

app = create_app()

AccountId = Annotated[ResourceId, Path()]


@app.delete(
    "/v1/connected_accounts/<account_id>",
    summary="Delete a connected account, revoking its grant at the provider first",
    description="Revocation is best effort (RFC 7009 or the provider's own call) and its "
    "outcome is in the response; the stored secrets are deleted either way.",
    security=API_KEY_SECURITY,
)
def delete_account(
    account_id: AccountId,
    revoke: Annotated[bool, Query(description="false: delete without revoking")] = True,
) -> Deleted:
    return lifecycle.delete(tenant_id(app), account_id, revoke=revoke)


@app.post(
    "/v1/connected_accounts/<account_id>/disable",
    summary="Disable an ACTIVE account: secrets kept, credentials and refresh refused",
    security=API_KEY_SECURITY,
)
def disable(account_id: AccountId) -> AccountView:
    return lifecycle.disable(tenant_id(app), account_id)


@app.post(
    "/v1/connected_accounts/<account_id>/enable",
    summary="Enable a disabled account again",
    security=API_KEY_SECURITY,
)
def enable(account_id: AccountId) -> AccountView:
    return lifecycle.enable(tenant_id(app), account_id)


@app.post(
    "/v1/connected_accounts/<account_id>/reinitiate",
    summary="A new authorization URL for an EXPIRED or FAILED OAuth account, same id",
    security=API_KEY_SECURITY,
)
def reinitiate(account_id: AccountId, request: Reinitiate | None = None) -> InitiatedAccount:
    return lifecycle.reinitiate(
        tenant_id(app), account_id, request or Reinitiate(), callback_url(app)
    )


@app.post(
    "/v1/connected_accounts/<account_id>/confirm",
    summary="Confirm a session-bound connection with its code and the entity that got it",
    description="For integrations with require_confirmation. 403 `entity_mismatch`: the "
    "code reached another entity's session; the connection is refused for good and its "
    "grant revoked.",
    security=API_KEY_SECURITY,
)
def confirm(account_id: AccountId, request: Confirmation) -> AccountView:
    return confirmation.confirm(tenant_id(app), account_id, request)


lambda_handler = entry(app)
