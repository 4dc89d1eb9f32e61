"""AWS calls of webhooks, for bench/aws_calls.py: an endpoint created, and one event
delivered to it (the delivery function invoked with the SQS batch the rule's message
makes, a receiver on loopback answering 204)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from devstack.gateway import Gateway

# operation -> (max DynamoDB calls, max KMS calls, max EventBridge PutEvents)
BUDGETS: dict[str, tuple[int, int, int]] = {
    # The endpoint written; its secret encrypted.
    "create webhook endpoint": (1, 1, 0),
    # The tenant's endpoints (one Query), the attempt recorded; the secrets decrypted,
    # the payload sealed for the attempt's record.
    "webhook delivery, one endpoint": (2, 2, 0),
}

Counted = Callable[[dict[str, Counter[tuple[str, str]]], str], AbstractContextManager[None]]


@contextmanager
def _receiver() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hooks"
    finally:
        server.shutdown()
        server.server_close()


def _batch(detail: dict[str, Any]) -> dict[str, Any]:
    event = {"id": "bench-event", "detail-type": "Keyfob.ConnectionActivated"}
    event |= {"source": "keyfob", "detail": detail}
    record = {"messageId": "bench-message", "receiptHandle": "r", "body": json.dumps(event)}
    record |= {"attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs"}
    return {"Records": [record]}


def webhook_calls(
    results: dict[str, Counter[tuple[str, str]]],
    counted: Counted,
    call: Callable[..., Any],
    gateway: Gateway,
    tenant_id: str,
) -> None:
    with _receiver() as url:
        with counted(results, "create webhook endpoint"):
            call("POST", "/v1/webhooks", 201, json={"url": url})
        detail = {"event_id": "evt_bench", "occurred_at": "2026-01-01T00:00:00.000000Z"}
        detail |= {"tenant_id": tenant_id, "connected_account_id": "ca_bench"}
        gateway.invoke("WebhookDeliveryFunction", _batch(detail))  # a cold instance
        with counted(results, "webhook delivery, one endpoint"):
            outcome = gateway.invoke("WebhookDeliveryFunction", _batch(detail))
    assert outcome == {"batchItemFailures": []}, outcome
