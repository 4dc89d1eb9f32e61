"""The Python client's and the ``keyfob`` command line's webhook methods against the
local stack: an endpoint made, tested, its attempts listed and retried, its secret
rotated, deleted; a secret never printed but when it is issued."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devstack.gateway import Gateway
from keyfob_client import Client, NotFoundError, ValidationError, WebhookAttempt
from tests.conftest import Api, Tenant
from tests.integration.webhook_receiver import Receiver


def test_the_client_manages_an_endpoint_and_its_deliveries(
    gateway: Gateway, hooked: Tenant, owner: Api, receiver: Receiver
) -> None:
    client = Client(gateway.url, hooked.api_key)
    created = client.create_webhook(
        receiver.url, event_types=["Keyfob.ConnectionActivated"], description="app"
    )
    assert created.secret.startswith("whsec_")
    assert created.secret not in repr(created)
    assert [w.id for w in client.list_webhooks()] == [created.id]
    receiver.answer(500)
    message_id = client.test_webhook(created.id)
    receiver.wait_for(lambda seen: len(seen) >= 1)
    (failed,) = _attempts(client, created.id, 1)
    assert (failed.message_id, failed.status_code, failed.succeeded) == (message_id, 500, False)
    assert client.retry_webhook_attempt(created.id, failed.id) == message_id
    received = receiver.wait_for(lambda seen: len(seen) >= 2)
    assert received[1].verified(created.secret)["type"] == "Keyfob.WebhookTest"
    rotated = client.rotate_webhook_secret(created.id)
    assert rotated.secret not in repr(rotated)
    client.delete_webhook(created.id)
    assert client.list_webhooks() == []
    with pytest.raises(NotFoundError):
        client.delete_webhook(created.id)
    with pytest.raises(ValidationError):
        client.create_webhook("http://169.254.169.254/")


def _attempts(client: Client, webhook_id: str, count: int) -> list[WebhookAttempt]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = client.list_webhook_attempts(webhook_id)
        if len(found) >= count:
            return found
        time.sleep(0.2)
    raise AssertionError("no attempt recorded")


def test_the_command_line_shows_the_secret_once_and_lists_attempts(
    gateway: Gateway, hooked: Tenant, owner: Api, receiver: Receiver
) -> None:
    script = Path(sys.executable).with_name("keyfob")
    env = {**os.environ, "KEYFOB_URL": gateway.url, "KEYFOB_API_KEY": hooked.api_key}

    def keyfob(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(script), *argv], capture_output=True, text=True, env=env, timeout=60, check=False
        )

    made = keyfob("webhooks", "create", receiver.url, "--event-type", "Keyfob.ConnectionFailed")
    assert made.returncode == 0, made.stderr
    assert "secret: whsec_" in made.stdout and "not shown again" in made.stderr
    webhook_id = next(
        line.split(": ")[1] for line in made.stdout.splitlines() if line.startswith("id: ")
    )
    listed = keyfob("webhooks", "list")
    assert webhook_id in listed.stdout and "whsec_" not in listed.stdout
    assert keyfob("webhooks", "test", webhook_id).returncode == 0
    receiver.wait_for(lambda seen: len(seen) >= 1)
    client = Client(gateway.url, hooked.api_key)
    _attempts(client, webhook_id, 1)
    attempts = keyfob("webhooks", "attempts", webhook_id, "--output", "json")
    assert attempts.returncode == 0, attempts.stderr
    (attempt,) = json.loads(attempts.stdout)["items"]
    assert (attempt["trigger"], attempt["status_code"]) == ("test", 204)
    assert keyfob("webhooks", "delete", webhook_id).returncode == 0
    missing = keyfob("webhooks", "rotate", webhook_id)
    assert missing.returncode == 1 and "webhook_not_found" in missing.stderr
