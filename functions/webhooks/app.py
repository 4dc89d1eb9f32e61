"""/v1/webhooks: a tenant's webhook endpoints, their secrets, tests and delivery attempts."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from keyfob.models.webhooks import (
    ATTEMPT_ID_PATTERN,
    WEBHOOK_ID_PATTERN,
    AttemptPage,
    CreatedWebhook,
    Queued,
    RotatedSecret,
    WebhookCreate,
    WebhookPage,
)
from keyfob.services import webhooks
from keyfob.web.resolver import API_KEY_SECURITY, create_app, entry, tenant_id

app = create_app()

WebhookId = Annotated[str, Path(pattern=WEBHOOK_ID_PATTERN)]
AttemptId = Annotated[str, Path(pattern=ATTEMPT_ID_PATTERN)]


@app.post(
    "/v1/webhooks",
    summary="Create a webhook endpoint; its signing secret is in the answer this once",
    description="Keyfob's events (every status change of a connected account, and "
    "`Keyfob.WebhookEndpointDisabled`) are POSTed to `url`, signed as the Standard "
    "Webhooks specification says (`webhook-id`, `webhook-timestamp`, `webhook-signature`). "
    "Verify them with the `secret` (`whsec_...`) and any Standard Webhooks library. "
    "Retried with backoff for about a day; an endpoint failing for a day is disabled. "
    "422 `invalid_webhook_url`: not https, or an address Keyfob does not call.",
    responses={201: {"description": "Created"}},
    security=API_KEY_SECURITY,
)
def create_webhook(request: WebhookCreate) -> Response[CreatedWebhook]:
    created = webhooks.create(tenant_id(app), request)
    return Response(status_code=201, content_type="application/json", body=created)


@app.get(
    "/v1/webhooks", summary="List webhook endpoints (never a secret)", security=API_KEY_SECURITY
)
def list_webhooks() -> WebhookPage:
    return webhooks.list_all(tenant_id(app))


@app.delete(
    "/v1/webhooks/<webhook_id>",
    summary="Delete a webhook endpoint",
    responses={204: {"description": "Deleted"}},
    security=API_KEY_SECURITY,
)
def delete_webhook(webhook_id: WebhookId) -> Response[None]:
    webhooks.delete(tenant_id(app), webhook_id)
    return Response(status_code=204)


@app.post(
    "/v1/webhooks/<webhook_id>/rotate",
    summary="Rotate the signing secret: both sign for 24 hours",
    description="The new secret is in the answer this once. Until "
    "`previous_secret_expires_at`, every delivery carries a signature by each secret.",
    security=API_KEY_SECURITY,
)
def rotate_secret(webhook_id: WebhookId) -> RotatedSecret:
    return webhooks.rotate(tenant_id(app), webhook_id)


@app.post(
    "/v1/webhooks/<webhook_id>/test",
    summary="Send a test event (Keyfob.WebhookTest) to the endpoint, once",
    responses={202: {"description": "Queued"}},
    security=API_KEY_SECURITY,
)
def send_test(webhook_id: WebhookId) -> Response[Queued]:
    queued = webhooks.send_test(tenant_id(app), webhook_id)
    return Response(status_code=202, content_type="application/json", body=queued)


@app.get(
    "/v1/webhooks/<webhook_id>/attempts",
    summary="The endpoint's delivery attempts, newest first (never a payload)",
    security=API_KEY_SECURITY,
)
def list_attempts(webhook_id: WebhookId) -> AttemptPage:
    return webhooks.attempts(tenant_id(app), webhook_id)


@app.post(
    "/v1/webhooks/<webhook_id>/attempts/<attempt_id>/retry",
    summary="Deliver an attempt's message again, with the same webhook-id",
    responses={202: {"description": "Queued"}},
    security=API_KEY_SECURITY,
)
def retry_attempt(webhook_id: WebhookId, attempt_id: AttemptId) -> Response[Queued]:
    queued = webhooks.retry(tenant_id(app), webhook_id, attempt_id)
    return Response(status_code=202, content_type="application/json", body=queued)


lambda_handler = entry(app)
