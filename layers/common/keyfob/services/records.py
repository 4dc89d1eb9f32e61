"""Reading records for a use case: an account or an integration, the store's errors in
the API's words (``store_errors``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from keyfob.services.store_errors import translated
from keyfob.store import integrations

if TYPE_CHECKING:
    from keyfob.models.records.accounts import AccountRecord
    from keyfob.models.records.integrations import IntegrationRecord


def account(tenant_id: str, account_id: str, *, consistent: bool = False) -> AccountRecord:
    # The accounts' store and records: loaded by the functions that read an account, not
    # by those that read only integrations (the integrations function).
    from keyfob.store import accounts

    with translated():
        return accounts.get(tenant_id, account_id, consistent=consistent)


def integration(tenant_id: str, integration_id: str) -> IntegrationRecord:
    with translated():
        return integrations.get(tenant_id, integration_id)
