"""Reading connected accounts: never a secret."""

from __future__ import annotations

import time

from keyfob.models.accounts import AccountPage, AccountView
from keyfob.models.types import Status
from keyfob.services import records
from keyfob.services.records import translated
from keyfob.store import accounts


def list_page(
    tenant_id: str,
    *,
    entity_id: str | None,
    app: str | None,
    integration_id: str | None,
    status: Status | None,
    limit: int,
    cursor: str | None,
) -> AccountPage:
    filters = {
        k: v for k, v in {"app": app, "integration_id": integration_id}.items() if v is not None
    }
    moment = time.time()
    with translated():
        found, next_cursor = accounts.page(
            tenant_id,
            entity_id=entity_id,
            filters=filters,
            status=status,
            now_epoch=int(moment),
            limit=limit,
            cursor=cursor,
        )
    return AccountPage(items=[r.effective(moment).view() for r in found], next_cursor=next_cursor)


def get(tenant_id: str, account_id: str) -> AccountView:
    return records.account(tenant_id, account_id).effective(time.time()).view()
