"""The webhook queue's consumer: Keyfob's events (through the EventBridge rule) and its
own retries, tests and redeliveries, signed and sent to the tenants' endpoints."""

from typing import Any

from keyfob.services import webhook_delivery
from keyfob.web.handler import handler


@handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return webhook_delivery.batch(event, context)
