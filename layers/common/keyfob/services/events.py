"""Keyfob's events on its EventBridge bus: every change of a connected account's status,
and every command from another AWS account that Keyfob refuses to carry out.

Each is published after the change is stored, with one PutEvents call and nothing
else. Publishing never fails the caller and never loses a stored change: an event
that EventBridge refuses (an error, a timeout, a failed entry) is recorded in the
table's outbox, encrypted, and the scheduled run sends it again. Delivery is
therefore at least once: consumers dedupe on ``detail.event_id``, which stays the same
when an event is sent again. A crash between the write and PutEvents loses that one
event: the price of adding no write to the path that succeeds. (A status change other
than a refresh also keeps an entry in the account's history: ``services.history``.)

No detail ever carries a secret: no token, key, code, confirmation code or client
secret. The one sensitive value is an Initiated event's authorization URL (its state
is stored only hashed), which is why the outbox encrypts what it keeps.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from keyfob.core import aws
from keyfob.core.config import settings
from keyfob.core.errors import Tampered
from keyfob.core.ids import iso, new_id, now
from keyfob.core.observability import correlation_id, logger
from keyfob.models.records.events import OutboxRecord
from keyfob.models.types import Change
from keyfob.services import history
from keyfob.store import outbox

if TYPE_CHECKING:
    from botocore.exceptions import BotoCoreError, ClientError
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

    from keyfob.models.events import CommandRejectedEvent, ConnectionEvent, WebhookDisabledEvent
    from keyfob.models.mcp_tools import AgentActivity
    from keyfob.models.records.accounts import AccountRecord
    from keyfob.models.types import Status

SOURCE = "keyfob"
COMMAND_REJECTED = "Keyfob.CommandRejected"
_PUT_EVENTS_MAX_ENTRIES = 10
_OUTBOX_DAYS = 7


_requester: ContextVar[str | None] = ContextVar("keyfob_requester", default=None)


@contextmanager
def requested_by(aws_account_id: str) -> Iterator[None]:
    """While a command from another AWS account is carried out: the events it causes
    name that account, and a connection it starts keeps it (see ``requester``)."""
    token = _requester.set(aws_account_id)
    try:
        yield
    finally:
        _requester.reset(token)


def requester() -> str | None:
    """The AWS account whose command is being carried out, if any."""
    return _requester.get()


def connection_changed(
    change: Change,
    account: AccountRecord,
    previous: Status | None,
    *,
    authorization_url: str | None = None,
) -> None:
    """Publish a stored change of ``account`` (as it is now; as it was, for DELETED)."""
    # The event models are built where an event is: a cold start that publishes none
    # pays nothing for them.
    from keyfob.models.events import ConnectionEvent

    detail = ConnectionEvent(
        event_id=new_id("evt"),
        occurred_at=iso(now()),
        tenant_id=account.tenant_id,
        connected_account_id=account.id,
        entity_id=account.entity_id,
        app=account.app,
        integration_id=account.integration_id,
        status="DELETED" if change is Change.DELETED else account.status,
        previous_status=previous,
        status_reason=account.status_reason,
        granted_scopes=account.granted_scopes,
        missing_scopes=account.missing_scopes,
        authorization_url=authorization_url,
        correlation_id=correlation_id(),
        requested_by_account=requester() or account.requested_by_account,
    )
    history.remember(change.value, detail)
    publish(change.value, detail)


def publish(
    detail_type: str,
    detail: ConnectionEvent | CommandRejectedEvent | AgentActivity | WebhookDisabledEvent,
) -> None:
    """Put one event on the bus; if EventBridge refuses it, record it for the scheduled
    run. Never raises: the change it reports is stored already. Inside ``batched()``
    the event waits for nine others and goes with them in one PutEvents."""
    bus = settings().event_bus
    if not bus:
        return
    pending = (detail_type, detail.tenant_id, detail.model_dump(mode="json"))
    batch = _batch.get()
    if batch is not None:
        batch.add(pending)
        return
    _put(bus, [pending])


Pending = tuple[str, str, dict[str, Any]]  # detail-type, tenant, detail


def _put(bus: str, pending: list[Pending]) -> None:
    """One PutEvents for up to ten events; each EventBridge refuses is recorded."""
    refused: list[tuple[Pending, str]]
    try:
        response = aws.events().put_events(
            Entries=[_entry(bus, detail_type, body) for detail_type, _, body in pending]
        )
    except (aws.BotoCoreError, aws.ClientError) as exc:
        refused = [(event, _error_code(exc)) for event in pending]
    else:
        refused = [
            (event, result.get("ErrorCode") or "failed entry")
            for event, result in zip(pending, response["Entries"], strict=True)
            if result.get("ErrorCode") or "EventId" not in result
        ]
    for (detail_type, tenant_id, body), reason in refused:
        extra = {"event_id": body["event_id"], "detail_type": detail_type, "reason": reason}
        try:
            _record(detail_type, tenant_id, body)
        except Exception as exc:
            # Only the type: a message could quote the event.
            logger.error("event lost", extra={**extra, "error_type": type(exc).__name__})
            continue
        logger.warning("event not published; recorded for the scheduled run", extra=extra)


class _Batch:
    """Events published by the scheduled run's threads, put ten to a call: one run
    refreshes thousands of accounts, and a PutEvents each would be as many calls."""

    def __init__(self, bus: str) -> None:
        self.bus = bus
        self._lock = threading.Lock()
        self._pending: list[Pending] = []

    def add(self, event: Pending) -> None:
        with self._lock:
            self._pending.append(event)
            if len(self._pending) < _PUT_EVENTS_MAX_ENTRIES:
                return
            full, self._pending = self._pending, []
        _put(self.bus, full)

    def flush(self) -> None:
        with self._lock:
            rest, self._pending = self._pending, []
        if rest:
            _put(self.bus, rest)


_batch: ContextVar[_Batch | None] = ContextVar("keyfob_event_batch", default=None)


@contextmanager
def batched() -> Iterator[None]:
    """Publish in batches of ten until the block ends, then what is left. Threads that
    publish must run in a copy of this context (``contextvars.copy_context``)."""
    bus = settings().event_bus
    batch = _Batch(bus) if bus else None
    token = _batch.set(batch)
    try:
        yield
    finally:
        _batch.reset(token)
        if batch is not None:
            batch.flush()


def _entry(bus: str, detail_type: str, detail: dict[str, Any]) -> PutEventsRequestEntryTypeDef:
    return {
        "EventBusName": bus,
        "Source": SOURCE,
        "DetailType": detail_type,
        "Detail": json.dumps(detail, separators=(",", ":")),
    }


def _error_code(exc: BotoCoreError | ClientError) -> str:
    if isinstance(exc, aws.ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__


def _outbox_record_name(event_id: str) -> str:
    return f"OUTBOX#{event_id}"


def _record(detail_type: str, tenant_id: str, detail: dict[str, Any]) -> None:
    from keyfob.security import crypto

    recorded = now()
    event_id = detail["event_id"]
    outbox.put(
        OutboxRecord(
            event_id=event_id,
            tenant_id=tenant_id,
            recorded_at=iso(recorded),
            event=crypto.encrypt(
                {"detail_type": detail_type, "detail": detail},
                tenant_id=tenant_id,
                record=_outbox_record_name(event_id),
            ),
            ttl=int((recorded + timedelta(days=_OUTBOX_DAYS)).timestamp()),
        )
    )


# --- the scheduled run's re-send ---------------------------------------------------


def resend_recorded(stop: Callable[[], bool]) -> Counter[str]:
    """Send the recorded events again, oldest first in each shard, in batches of ten,
    and forget each once EventBridge takes it. Stops when ``stop()`` says so, or when
    EventBridge refuses a whole batch (it is still down: the next run tries again)."""
    counts: Counter[str] = Counter()
    bus = settings().event_bus
    if not bus:
        return counts
    for shard in range(outbox.SHARDS):
        batch: list[tuple[OutboxRecord, PutEventsRequestEntryTypeDef]] = []
        for record in outbox.shard(shard):
            if stop():
                return counts
            entry = _recorded_entry(bus, record, counts)
            if entry is not None:
                batch.append((record, entry))
            if len(batch) == _PUT_EVENTS_MAX_ENTRIES:
                if not _resend(batch, counts):
                    return counts
                batch = []
        if batch and not _resend(batch, counts):
            return counts
    return counts


def _recorded_entry(
    bus: str, record: OutboxRecord, counts: Counter[str]
) -> PutEventsRequestEntryTypeDef | None:
    from keyfob.security import crypto

    try:
        event = crypto.decrypt(
            record.event, tenant_id=record.tenant_id, record=_outbox_record_name(record.event_id)
        )
    except Tampered:
        # Tampered with or moved: it can never be sent, and must not be.
        logger.error("recorded event unreadable; dropped", extra={"event_id": record.event_id})
        outbox.delete(record)
        counts["EventsUnreadable"] += 1
        return None
    return _entry(bus, event["detail_type"], event["detail"])


def _resend(
    batch: list[tuple[OutboxRecord, PutEventsRequestEntryTypeDef]], counts: Counter[str]
) -> bool:
    """Put one batch; False when EventBridge took none of it."""
    try:
        response = aws.events().put_events(Entries=[entry for _, entry in batch])
    except (aws.BotoCoreError, aws.ClientError) as exc:
        logger.warning("recorded events not sent", extra={"reason": _error_code(exc)})
        counts["EventsNotResent"] += len(batch)
        return False
    for (record, _), result in zip(batch, response["Entries"], strict=True):
        if result.get("ErrorCode"):
            counts["EventsNotResent"] += 1
            continue
        outbox.delete(record)
        counts["EventsResent"] += 1
    return response.get("FailedEntryCount", 0) < len(batch)
