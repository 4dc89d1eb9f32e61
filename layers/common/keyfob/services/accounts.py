"""Reading connected accounts: never a secret."""

from __future__ import annotations

import time

from keyfob.catalog import AuthScheme
from keyfob.core.ids import iso_epoch
from keyfob.models.accounts import AccountEvent, AccountEvents, AccountPage, AccountView
from keyfob.models.types import Status
from keyfob.services import records
from keyfob.services.events import Change
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


# The change that leaves an account in each status (ACTIVE: Activated, or Enabled,
# which the record does not tell apart; both mean usable again).
_CHANGE_TO = {
    Status.INITIATED: Change.INITIATED,
    Status.ACTIVE: Change.ACTIVATED,
    Status.AWAITING_CONFIRMATION: Change.AWAITING_CONFIRMATION,
    Status.FAILED: Change.FAILED,
    Status.EXPIRED: Change.EXPIRED,
    Status.INACTIVE: Change.DISABLED,
}


def recent_events(tenant_id: str, account_id: str) -> AccountEvents:
    """An account's recent events from its record alone (one GetItem), newest first: its
    last status change, its last refresh, its creation (Initiated for OAuth, which starts
    at the provider; Activated for a pasted credential)."""
    moment = time.time()
    stored = records.account(tenant_id, account_id)
    record = stored.effective(moment)
    changed_at = record.updated_at
    if stored.lapsed(moment) and stored.pending_until is not None:
        changed_at = iso_epoch(stored.pending_until)
    first = Status.INITIATED if record.auth_scheme is AuthScheme.OAUTH2 else Status.ACTIVE
    items = [AccountEvent(type=_CHANGE_TO[first], at=record.created_at, status=first)]
    if record.last_refreshed_at:
        items.append(AccountEvent(type=Change.REFRESHED, at=record.last_refreshed_at))
    # The last write was a status change unless it was the creation or a refresh.
    shown = (changed_at == record.created_at and record.status is first) or (
        changed_at == record.last_refreshed_at and record.status is Status.ACTIVE
    )
    if not shown:
        items.append(
            AccountEvent(
                type=_CHANGE_TO[record.status],
                at=changed_at,
                status=record.status,
                status_reason=record.status_reason,
            )
        )
    items.sort(key=lambda event: event.at, reverse=True)
    return AccountEvents(connected_account_id=record.id, items=items)
