"""Reading connected accounts: never a secret."""

from __future__ import annotations

import time

from keyfob.core.ids import iso_epoch
from keyfob.models.account_view import AccountView
from keyfob.models.accounts import AccountEvent, AccountEvents, AccountPage
from keyfob.models.types import Change, Status
from keyfob.services import history, records
from keyfob.services.store_errors import translated
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


# The newest status changes an account's events show (its last refresh besides).
RECENT_CHANGES = 25


def recent_events(tenant_id: str, account_id: str) -> AccountEvents:
    """An account's recent events, newest first: its kept status changes (one Query),
    its last refresh, and the expiry of a pending attempt whose time ran out before the
    scheduled run recorded it."""
    moment = time.time()
    stored = records.account(tenant_id, account_id)
    items = [
        AccountEvent(
            type=kept.type,
            at=kept.occurred_at,
            event_id=kept.event_id,
            status=None if kept.status == "DELETED" else Status(kept.status),
            previous_status=kept.previous_status,
            status_reason=kept.status_reason,
            correlation_id=kept.correlation_id,
        )
        for kept in history.recent(tenant_id, account_id, RECENT_CHANGES)
    ]
    if stored.last_refreshed_at:
        items.append(AccountEvent(type=Change.REFRESHED, at=stored.last_refreshed_at))
    if stored.lapsed(moment) and stored.pending_until is not None:
        effective = stored.effective(moment)
        items.append(
            AccountEvent(
                type=Change.EXPIRED,
                at=iso_epoch(stored.pending_until),
                status=effective.status,
                previous_status=stored.status,
                status_reason=effective.status_reason,
            )
        )
    items.sort(key=lambda event: event.at, reverse=True)
    return AccountEvents(connected_account_id=stored.id, items=items[:RECENT_CHANGES])
