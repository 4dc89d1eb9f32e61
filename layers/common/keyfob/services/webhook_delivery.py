"""Webhook delivery: the SQS-fed function's work. Two kinds of message reach it on the
webhook queue: Keyfob's events, put there by the EventBridge rule on the bus, and its own
delivery messages (a retry, a test, a manual redelivery: ``webhook_queue``).

An event goes to each enabled endpoint of its tenant that takes its type: at once to a
tenant's one endpoint, as a message each to several. Every delivery follows the Standard
Webhooks specification, signed with the ``standardwebhooks`` library: ``webhook-id`` is
the event's id (the same on every retry and redelivery, for receivers to dedupe on),
``webhook-timestamp`` the time of sending, ``webhook-signature`` one ``v1,`` signature
per live secret (two for a day after a rotation). The body is ``{"type", "timestamp",
"data"}``, data being the event's detail as it is on the bus: never a secret.

A 2xx is success. Anything else, no answer in time, a refused address (the egress guard
checks the socket) is a failure: the attempt is recorded and the message tried again
after the next wait of the schedule, with jitter, or later when the endpoint's
Retry-After asks for more; after the last, it goes to the dead-letter queue. An endpoint
that has failed every delivery for a day is disabled, once, and a
``Keyfob.WebhookEndpointDisabled`` event says so. A test or a manual redelivery is tried
once. Delivery is at least once: a batch the function fails on comes back."""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from keyfob.core.config import settings
from keyfob.core.errors import Invalid
from keyfob.core.ids import iso, iso_epoch, new_id, now
from keyfob.core.observability import logger
from keyfob.models.records.webhooks import AttemptRecord, WebhookRecord
from keyfob.services import events, webhook_queue
from keyfob.services.webhook_queue import Delivery
from keyfob.services.webhooks import check_url, secrets_record
from keyfob.store import webhooks
from keyfob.store.errors import ItemNotFound

if TYPE_CHECKING:
    import requests

    from keyfob.models.records.base import EncryptedBlob

DISABLED_EVENT = "Keyfob.WebhookEndpointDisabled"
FAILING_FOR_A_DAY = "failing_for_a_day"
ATTEMPT_DAYS = 30
_CONNECT_TIMEOUT = 3.05
# What one delivery may take (the time-outs) and its DynamoDB and KMS calls besides.
_RESERVE_MS = 20_000
_random = secrets.SystemRandom()


def batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A batch of the webhook queue's messages; those that fail are reported, to come
    back after the visibility timeout (five times, then the dead-letter queue)."""
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    def record_handler(record: Any) -> None:
        # One delivery takes at most the connect and read time-outs: a message the
        # invocation has no time left for is reported failed, and comes back.
        if context.get_remaining_time_in_millis() < _RESERVE_MS:
            raise TimeoutError("no time left in this invocation")
        handle(json.loads(record.body))

    processor = BatchProcessor(event_type=EventType.SQS)
    result = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(result)


def handle(body: dict[str, Any]) -> None:
    """One message of the webhook queue: an event from the bus, or a delivery."""
    if webhook_queue.is_delivery(body):
        delivery = Delivery.model_validate(body)
        if webhook_queue.due(delivery):
            deliver(delivery)
        return
    fan_out(body)


def fan_out(event: dict[str, Any]) -> None:
    """An event from the bus, to every endpoint of its tenant that takes it: sent at once
    to a tenant's one endpoint; to several, queued one message each, so that a message's
    work is always one delivery (bounded by its time-outs) and a failing endpoint never
    makes the others' deliveries repeat."""
    detail, detail_type = event["detail"], event["detail-type"]
    payload = {"type": detail_type, "timestamp": detail["occurred_at"], "data": detail}
    targets = [
        endpoint
        for endpoint in webhooks.listed(detail["tenant_id"])
        if endpoint.status == "ENABLED"
        and (endpoint.event_types is None or detail_type in endpoint.event_types)
    ]
    for endpoint in targets:
        delivery = Delivery(
            tenant_id=endpoint.tenant_id,
            webhook_id=endpoint.id,
            message_id=detail["event_id"],
            event_type=detail_type,
            trigger="event",
            payload=payload,
        )
        if len(targets) == 1:
            attempt(endpoint, delivery)
        else:
            webhook_queue.send(delivery)


def deliver(delivery: Delivery) -> None:
    try:
        endpoint = webhooks.get(delivery.tenant_id, delivery.webhook_id)
    except ItemNotFound:
        logger.info("webhook endpoint gone; delivery dropped", extra=_ids(delivery))
        return
    if endpoint.status != "ENABLED" and delivery.trigger == "event":
        logger.info("webhook endpoint disabled; retry dropped", extra=_ids(delivery))
        return
    attempt(endpoint, delivery)


def _payload_record(delivery: Delivery) -> str:
    return f"webhook-message:{delivery.webhook_id}:{delivery.message_id}"


def _sealed(delivery: Delivery) -> tuple[dict[str, Any], EncryptedBlob]:
    """The payload in the clear and sealed: one of them comes with the message."""
    from keyfob.security import crypto  # cryptography: only once there is work

    context = {"tenant_id": delivery.tenant_id, "record": _payload_record(delivery)}
    if delivery.sealed is not None:
        payload = delivery.payload or crypto.decrypt(delivery.sealed, **context)
        return payload, delivery.sealed
    assert delivery.payload is not None
    return delivery.payload, crypto.encrypt(delivery.payload, **context)


def signature(endpoint: WebhookRecord, message_id: str, moment: datetime, body: str) -> str:
    """``webhook-signature``: a signature by every secret still live, space-separated."""
    from standardwebhooks import Webhook

    from keyfob.security import crypto

    keys = crypto.decrypt(
        endpoint.secrets, tenant_id=endpoint.tenant_id, record=secrets_record(endpoint.id)
    )["keys"]
    live = [k["secret"] for k in keys if k["expires_at"] is None or k["expires_at"] > time.time()]
    return " ".join(Webhook(secret).sign(message_id, moment, body) for secret in live)


def _send(
    endpoint: WebhookRecord, delivery: Delivery, body: str
) -> tuple[int | None, str | None, float | None]:
    """POST the message: (status code, error class, seconds the endpoint asks to wait)."""
    import requests

    from keyfob.security.egress import DestinationRefused
    from keyfob.security.http import session

    try:
        check_url(endpoint.url)  # again: the loopback allowance is the environment's
    except Invalid:
        return None, "invalid_url", None
    moment = datetime.now(UTC)
    headers = {
        "content-type": "application/json",
        "user-agent": "Keyfob-Webhooks/1",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signature(endpoint, delivery.message_id, moment, body),
    }
    try:
        response: requests.Response = session().post(
            endpoint.url,
            data=body.encode(),
            headers=headers,
            timeout=(_CONNECT_TIMEOUT, settings().webhook_timeout_seconds),
            allow_redirects=False,
            stream=True,  # the answer's body is never read
        )
    except DestinationRefused:
        return None, "destination_refused", None
    except requests.Timeout:
        return None, "timeout", None
    except requests.RequestException:
        return None, "connection", None
    response.close()
    if 200 <= response.status_code < 300:
        return response.status_code, None, None
    return response.status_code, "http_status", retry_after(response.headers.get("retry-after"))


def retry_after(value: str | None) -> float | None:
    """Retry-After's seconds (a number, or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def next_wait(attempt_number: int, asked: float | None) -> float | None:
    """Seconds until the next attempt after attempt ``attempt_number`` failed; None: no
    more. The schedule's wait, +-20% jitter, at least what Retry-After asked (within
    the schedule's longest wait)."""
    schedule = settings().webhook_retry_seconds
    if attempt_number > len(schedule):
        return None
    wait = schedule[attempt_number - 1] * _random.uniform(0.8, 1.2)
    if asked is not None:
        wait = max(wait, min(asked, max(schedule)))
    return wait


def attempt(endpoint: WebhookRecord, delivery: Delivery) -> None:
    """One attempt: sent, recorded, and followed up (retry, dead letter, disable)."""
    payload, sealed = _sealed(delivery)
    body = json.dumps(payload, separators=(",", ":"))
    started = time.monotonic()
    status, error, asked = _send(endpoint, delivery, body)
    duration_ms = int((time.monotonic() - started) * 1000)
    succeeded = error is None
    wait = None
    if not succeeded and delivery.trigger == "event":
        wait = next_wait(delivery.attempt, asked)
    attempted = now()
    next_at = attempted.timestamp() + wait if wait is not None else None
    webhooks.record_attempt(
        AttemptRecord(
            tenant_id=endpoint.tenant_id,
            webhook_id=endpoint.id,
            id=attempt_id(attempted),
            message_id=delivery.message_id,
            event_type=delivery.event_type,
            trigger=delivery.trigger,
            attempt=delivery.attempt,
            attempted_at=iso(attempted),
            status_code=status,
            duration_ms=duration_ms,
            error_class=error,
            succeeded=succeeded,
            next_attempt_at=iso_epoch(next_at) if next_at is not None else None,
            payload=sealed,
            ttl=int(attempted.timestamp()) + ATTEMPT_DAYS * 86400,
        )
    )
    logger.info(
        "webhook attempt",
        extra={**_ids(delivery), "status_code": status, "error_class": error},
    )
    if succeeded:
        if endpoint.failing_since is not None:
            webhooks.stop_failing(endpoint.tenant_id, endpoint.id)
        return
    if delivery.trigger != "event":
        return
    _failed(endpoint, attempted)
    follow_up = delivery.model_copy(update={"sealed": sealed})
    if next_at is None:
        webhook_queue.dead_letter(follow_up, "retries_exhausted")
        return
    webhook_queue.send(
        follow_up.model_copy(update={"attempt": delivery.attempt + 1, "due_at": next_at})
    )


def _failed(endpoint: WebhookRecord, moment: datetime) -> None:
    """A failure: the streak starts, or, a day into it, the endpoint is disabled."""
    if endpoint.failing_since is None:
        webhooks.start_failing(endpoint.tenant_id, endpoint.id, iso(moment))
        return
    since = datetime.fromisoformat(endpoint.failing_since.replace("Z", "+00:00"))
    if (moment - since).total_seconds() < settings().webhook_disable_after_seconds:
        return
    if webhooks.disable(endpoint.tenant_id, endpoint.id, FAILING_FOR_A_DAY):
        logger.warning("webhook endpoint disabled", extra={"webhook_id": endpoint.id})
        from keyfob.models.events import WebhookDisabledEvent

        events.publish(
            DISABLED_EVENT,
            WebhookDisabledEvent(
                event_id=new_id("evt"),
                occurred_at=iso(moment),
                tenant_id=endpoint.tenant_id,
                webhook_id=endpoint.id,
                url=endpoint.url,
                status_reason=FAILING_FOR_A_DAY,
                failing_since=endpoint.failing_since,
            ),
        )


def attempt_id(moment: datetime) -> str:
    """``att_`` + the time in hex (so that attempts list newest first) + 120 random bits."""
    return f"att_{int(moment.timestamp() * 1_000_000):014x}{new_id('x')[2:]}"


def _ids(delivery: Delivery) -> dict[str, Any]:
    return {
        "webhook_id": delivery.webhook_id,
        "message_id": delivery.message_id,
        "attempt": delivery.attempt,
        "trigger": delivery.trigger,
    }
