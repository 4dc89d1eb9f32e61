"""The client's webhook methods: endpoints, their secrets, tests and delivery attempts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from keyfob_client._http import Transport, items_of, segment
from keyfob_client.errors import UnexpectedResponseError
from keyfob_client.models import CreatedWebhook, RotatedSecret, Webhook, WebhookAttempt


class WebhookMethods:
    _http: Transport

    def create_webhook(
        self,
        url: str,
        *,
        event_types: Sequence[str] | None = None,
        description: str | None = None,
    ) -> CreatedWebhook:
        """A webhook endpoint; its signing secret (``.secret``) is in this answer only."""
        body: dict[str, Any] = {"url": url}
        if event_types is not None:
            body["event_types"] = list(event_types)
        if description is not None:
            body["description"] = description
        return CreatedWebhook.from_json(self._http.request("POST", "/v1/webhooks", body=body))

    def list_webhooks(self) -> list[Webhook]:
        return [Webhook.from_json(i) for i in items_of(self._http.request("GET", "/v1/webhooks"))]

    def delete_webhook(self, webhook_id: str) -> None:
        self._http.request("DELETE", _webhook(webhook_id))

    def rotate_webhook_secret(self, webhook_id: str) -> RotatedSecret:
        """A new secret; the old one keeps signing beside it for 24 hours."""
        answer = self._http.request("POST", f"{_webhook(webhook_id)}/rotate")
        return RotatedSecret.from_json(answer)

    def test_webhook(self, webhook_id: str) -> str:
        """Send a test event once; returns its message id (the webhook-id header)."""
        answer = self._http.request("POST", f"{_webhook(webhook_id)}/test")
        return _message_id(answer)

    def list_webhook_attempts(self, webhook_id: str) -> list[WebhookAttempt]:
        """The endpoint's last delivery attempts, newest first."""
        answer = self._http.request("GET", f"{_webhook(webhook_id)}/attempts")
        return [WebhookAttempt.from_json(item) for item in items_of(answer)]

    def retry_webhook_attempt(self, webhook_id: str, attempt_id: str) -> str:
        """Deliver an attempt's message again (same webhook-id); returns that id."""
        path = f"{_webhook(webhook_id)}/attempts/{segment(attempt_id)}/retry"
        return _message_id(self._http.request("POST", path))


def _webhook(webhook_id: str) -> str:
    return f"/v1/webhooks/{segment(webhook_id)}"


def _message_id(answer: Any) -> str:
    if not isinstance(answer, dict) or not isinstance(answer.get("message_id"), str):
        raise UnexpectedResponseError("expected a JSON object with a message_id")
    return str(answer["message_id"])
