"""The webhook queue's own messages: a delivery to one endpoint, due at a time.

SQS delays a message by 15 minutes at most (DelaySeconds <= 900). A retry due later
is a chain: the message goes with the longest delay, and the delivery function, finding
it not due yet, sends it on with the rest of the wait (``hop``). A ten-hour wait is 40
hops, each one SendMessage and one invocation: no table, index or schedule to sweep.

A message whose retries are spent goes to the dead-letter queue, with the reason as a
message attribute (as do messages the function fails on five times: the redrive policy).
"""

from __future__ import annotations

import json
import math
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from keyfob.core import aws
from keyfob.core.config import settings
from keyfob.models.records.base import EncryptedBlob

KIND: Literal["keyfob.webhook.delivery"] = "keyfob.webhook.delivery"
MAX_DELAY_SECONDS = 900


class Delivery(BaseModel):
    # Built on first use, like every model: the webhooks API uses it on two routes only.
    model_config = ConfigDict(defer_build=True)

    kind: Literal["keyfob.webhook.delivery"] = KIND
    tenant_id: str
    webhook_id: str
    message_id: str
    event_type: str
    trigger: Literal["event", "test", "retry"]
    attempt: int = 1  # the number of the attempt this message is for
    due_at: float = 0.0  # epoch seconds
    # The payload in the clear (an event's, a test's), or sealed as an attempt keeps it.
    payload: dict[str, Any] | None = None
    sealed: EncryptedBlob | None = None


def is_delivery(body: dict[str, Any]) -> bool:
    return body.get("kind") == KIND


def send(delivery: Delivery) -> None:
    """Queue a delivery, delayed until it is due (or as long as SQS delays one)."""
    wait = max(0.0, delivery.due_at - time.time())
    aws.sqs().send_message(
        QueueUrl=settings().webhook_queue_url,
        MessageBody=delivery.model_dump_json(exclude_none=True),
        DelaySeconds=min(MAX_DELAY_SECONDS, math.ceil(wait)),
    )


def due(delivery: Delivery) -> bool:
    """Whether a delivery is due now; one that is not is sent on (another hop)."""
    if delivery.due_at - time.time() <= 1:
        return True
    send(delivery)
    return False


def dead_letter(delivery: Delivery, reason: str) -> None:
    # What the retries could not deliver, sealed: never an Initiated event's URL in the
    # clear in a queue kept for two weeks.
    body = delivery.model_dump(mode="json", exclude={"payload"}, exclude_none=True)
    aws.sqs().send_message(
        QueueUrl=settings().webhook_dead_letter_queue,
        MessageBody=json.dumps(body),
        MessageAttributes={"reason": {"DataType": "String", "StringValue": reason}},
    )
