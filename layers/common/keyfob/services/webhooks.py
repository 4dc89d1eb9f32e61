"""Webhook endpoints: created with a signing secret shown once, listed (never a secret),
deleted, their secret rotated (both secrets sign for a day, so that receivers can switch
without losing a delivery), a test event sent, their delivery attempts listed, and an
attempt sent again. Deliveries themselves are ``webhook_delivery``'s; these use cases
only put messages on its queue.

An endpoint's URL is held to the egress rules at creation: https (plain http only on
loopback where the local stack allows it), no credentials in it, and an address literal
only if Keyfob may call it. A name is checked on the socket at every delivery: it could
resolve elsewhere by then."""

from __future__ import annotations

import base64
import ipaddress
import secrets
import time
from urllib.parse import urlsplit

from keyfob.core.config import settings
from keyfob.core.errors import Conflict, Invalid
from keyfob.core.ids import iso, iso_epoch, new_id, now
from keyfob.core.observability import logger
from keyfob.models.records.webhooks import WebhookRecord
from keyfob.models.webhooks import (
    TEST_EVENT,
    AttemptPage,
    AttemptView,
    CreatedWebhook,
    Queued,
    RotatedSecret,
    WebhookCreate,
    WebhookPage,
    WebhookView,
)
from keyfob.services import webhook_queue
from keyfob.services.store_errors import translated
from keyfob.store import webhooks

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A Standard Webhooks secret: whsec_ and 32 random bytes, base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secrets_record(webhook_id: str) -> str:
    """The encryption context's record of an endpoint's secrets."""
    return f"webhook:{webhook_id}"


def check_url(url: str) -> None:
    """Refuse a URL Keyfob would not deliver to (422 invalid_webhook_url)."""
    from keyfob.security import egress  # requests: loaded by the functions that call out

    parts = urlsplit(url)
    host = parts.hostname or ""
    problem = None
    if parts.scheme not in ("https", "http") or not host:
        problem = "must be an absolute https URL"
    elif parts.username is not None or parts.password is not None:
        problem = "must not carry credentials"
    elif parts.fragment:
        problem = "must not have a fragment"
    else:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            loopback = host.lower() in ("localhost", "localhost.localdomain")
        else:
            loopback = address.is_loopback
            if not egress.allowed(str(address)):
                problem = "is an address Keyfob does not call (private, link-local, metadata)"
        if problem is None and loopback and not settings().allow_http_loopback:
            problem = "is an address Keyfob does not call (loopback)"
        if problem is None and parts.scheme == "http" and not loopback:
            problem = "must use https"
    if problem:
        raise Invalid("invalid_webhook_url", f"The webhook URL {problem}", {"field": "url"})


def view(record: WebhookRecord) -> WebhookView:
    return WebhookView.model_validate(
        record.model_dump(include=set(WebhookView.model_fields)), from_attributes=False
    )


def create(tenant_id: str, request: WebhookCreate) -> CreatedWebhook:
    from keyfob.security import crypto

    check_url(request.url)
    webhook_id = new_id("wh")
    secret = new_secret()
    record = WebhookRecord(
        tenant_id=tenant_id,
        id=webhook_id,
        url=request.url,
        event_types=request.event_types,
        description=request.description,
        secrets=crypto.encrypt(
            {"keys": [{"secret": secret, "expires_at": None}]},
            tenant_id=tenant_id,
            record=secrets_record(webhook_id),
        ),
        created_at=iso(now()),
    )
    webhooks.create(record)
    logger.info("webhook endpoint created", extra={"webhook_id": webhook_id})
    return CreatedWebhook(**view(record).model_dump(), secret=secret)


def list_all(tenant_id: str) -> WebhookPage:
    return WebhookPage(items=[view(record) for record in webhooks.listed(tenant_id)])


def delete(tenant_id: str, webhook_id: str) -> None:
    with translated():
        webhooks.delete(tenant_id, webhook_id)
    logger.info("webhook endpoint deleted", extra={"webhook_id": webhook_id})


def enable(tenant_id: str, webhook_id: str) -> WebhookView:
    """A disabled endpoint takes deliveries again (of the events from now on)."""
    with translated():
        if not webhooks.enable(tenant_id, webhook_id):
            webhooks.get(tenant_id, webhook_id)  # a 404 if it is gone
        record = webhooks.get(tenant_id, webhook_id)
    logger.info("webhook endpoint enabled", extra={"webhook_id": webhook_id})
    return view(record)


def rotate(tenant_id: str, webhook_id: str) -> RotatedSecret:
    """A new secret; the current one keeps signing for a day beside it, the older ones
    stop. Conditional on no other rotation since this one read the endpoint."""
    from keyfob.security import crypto

    with translated():
        record = webhooks.get(tenant_id, webhook_id)
    context = {"tenant_id": tenant_id, "record": secrets_record(webhook_id)}
    current = crypto.decrypt(record.secrets, **context)["keys"][0]
    overlap_until = int(time.time()) + settings().webhook_rotation_overlap_seconds
    secret = new_secret()
    keys = [
        {"secret": secret, "expires_at": None},
        {"secret": current["secret"], "expires_at": overlap_until},
    ]
    rotated_at = iso(now())
    if not webhooks.replace_secrets(
        tenant_id,
        webhook_id,
        crypto.encrypt({"keys": keys}, **context),
        rotated_at,
        record.secret_rotated_at or record.created_at,
    ):
        raise Conflict("rotation_in_progress", "The secret was rotated meanwhile; try again")
    logger.info("webhook secret rotated", extra={"webhook_id": webhook_id})
    return RotatedSecret(
        id=webhook_id, secret=secret, previous_secret_expires_at=iso_epoch(overlap_until)
    )


def send_test(tenant_id: str, webhook_id: str) -> Queued:
    with translated():
        webhooks.get(tenant_id, webhook_id)
    message_id = new_id("msg")
    moment = now()
    payload = {
        "type": TEST_EVENT,
        "timestamp": iso(moment),
        "data": {"webhook_id": webhook_id, "tenant_id": tenant_id, "test": True},
    }
    webhook_queue.send(
        webhook_queue.Delivery(
            tenant_id=tenant_id,
            webhook_id=webhook_id,
            message_id=message_id,
            event_type=TEST_EVENT,
            trigger="test",
            payload=payload,
        )
    )
    return Queued(message_id=message_id)


def attempts(tenant_id: str, webhook_id: str) -> AttemptPage:
    with translated():
        webhooks.get(tenant_id, webhook_id)
    return AttemptPage(
        items=[
            AttemptView.model_validate(a.model_dump(include=set(AttemptView.model_fields)))
            for a in webhooks.attempts(tenant_id, webhook_id)
        ]
    )


def retry(tenant_id: str, webhook_id: str, attempt_id: str) -> Queued:
    """Send an attempt's message again, with its webhook-id (receivers dedupe on it)."""
    with translated():
        webhooks.get(tenant_id, webhook_id)
        attempt = webhooks.attempt(tenant_id, webhook_id, attempt_id)
    webhook_queue.send(
        webhook_queue.Delivery(
            tenant_id=tenant_id,
            webhook_id=webhook_id,
            message_id=attempt.message_id,
            event_type=attempt.event_type,
            trigger="retry",
            sealed=attempt.payload,
        )
    )
    return Queued(message_id=attempt.message_id)
