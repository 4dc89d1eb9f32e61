"""The history of each connected account's status, kept beside it for the console and
for anyone debugging why an account is what it is (``GET .../events``).

Every change the state machine reports is kept for 90 days, except refreshes (an account
refreshes every token lifetime, and its record shows the last one) and deletion. Keeping
an entry is one conditional PutItem after the change is stored; failing to keep one never
fails the change, which is stored already and published on the bus anyway."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from keyfob.core import aws
from keyfob.core.observability import logger
from keyfob.models.records.accounts import HistoryRecord
from keyfob.store import history

if TYPE_CHECKING:
    from keyfob.models.events import ConnectionEvent

KEPT_DAYS = 90
# Refreshes: the record shows the last one. Deletion: the history goes unread with the
# account, and DynamoDB's TTL drops it.
_NOT_KEPT = frozenset({"Keyfob.ConnectionRefreshed", "Keyfob.ConnectionDeleted"})


def remember(detail_type: str, detail: ConnectionEvent) -> None:
    if detail_type in _NOT_KEPT:
        return
    record = HistoryRecord(
        tenant_id=detail.tenant_id,
        connected_account_id=detail.connected_account_id,
        event_id=detail.event_id,
        type=detail_type,
        occurred_at=detail.occurred_at,
        status=detail.status,
        previous_status=detail.previous_status,
        status_reason=detail.status_reason,
        correlation_id=detail.correlation_id,
        ttl=int(time.time()) + KEPT_DAYS * 86400,
    )
    try:
        history.put(record)
    except (aws.BotoCoreError, aws.ClientError) as exc:
        # Only ids and the error's type: the change itself is stored and published.
        logger.warning(
            "account history entry not kept",
            extra={"event_id": detail.event_id, "error_type": type(exc).__name__},
        )


def recent(tenant_id: str, account_id: str, limit: int) -> list[HistoryRecord]:
    return history.newest(tenant_id, account_id, limit)
