"""Signed webhooks end to end: endpoints made through the API, Keyfob's events taken off
the bus by the EventBridge rule into the webhook queue, the delivery function fed by the
queue's event source (devstack's poller), and a receiver on loopback that verifies every
delivery with the ``standardwebhooks`` library."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from devstack.oauth_provider import OAuthServer
from tests.conftest import Api, Tenant
from tests.integration.bus import Published, Queue
from tests.integration.conftest import Setting
from tests.integration.flows import authorize, callback, start
from tests.integration.webhook_receiver import Receiver

CONNECTION = ("Keyfob.ConnectionInitiated", "Keyfob.ConnectionActivated")


def endpoint(api: Api, url: str, **fields: Any) -> dict[str, Any]:
    response = api.post("/v1/webhooks", json={"url": url, **fields})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def attempts(api: Api, webhook_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/v1/webhooks/{webhook_id}/attempts")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def wait_for_attempts(api: Api, webhook_id: str, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = attempts(api, webhook_id)
        if len(found) >= count:
            return found
        time.sleep(0.2)
    raise AssertionError(f"fewer than {count} attempts: {attempts(api, webhook_id)}")


def test_an_oauth_connection_reaches_the_endpoint_initiated_then_activated_and_signed(
    owner: Api, anonymous: Api, provider: OAuthServer, receiver: Receiver
) -> None:
    # Given an endpoint; its secret is shown this once
    created = endpoint(owner, receiver.url, description="the app's receiver")
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert "whsec_" not in owner.get("/v1/webhooks").text
    # When a user connects an OAuth account
    started = start(owner, provider)
    account_id = started.account["id"]
    assert callback(anonymous, authorize(started)).status_code == 302
    # Then the endpoint gets Initiated, then Activated, each verified by the library
    receiver.wait_for(lambda _: len(receiver.about("connected_account_id", account_id)) >= 2)
    got = receiver.about("connected_account_id", account_id)
    payloads = [r.verified(secret) for r in got]
    assert [p["type"] for p in payloads] == list(CONNECTION)
    assert [p["data"]["status"] for p in payloads] == ["INITIATED", "ACTIVE"]
    # webhook-id is the event's id: the same on every retry, for the receiver to dedupe
    assert [r.headers["webhook-id"] for r in got] == [p["data"]["event_id"] for p in payloads]
    for received in got:
        assert "token" not in received.body.replace("authorization_url", "")
        assert started.client_secret not in received.body
    # And the attempts are recorded and listed, without the payload
    listed = wait_for_attempts(owner, created["id"], 2)
    assert {(a["event_type"], a["status_code"], a["succeeded"]) for a in listed} == {
        (CONNECTION[0], 204, True),
        (CONNECTION[1], 204, True),
    }
    assert all(a["trigger"] == "event" and a["error_class"] is None for a in listed)
    assert "data" not in str(listed) and "payload" not in str(listed)


def test_a_failing_receiver_gets_the_event_once_it_answers_2xx(
    owner: Api, provider: OAuthServer, receiver: Receiver, setting: Setting
) -> None:
    setting("KEYFOB_WEBHOOK_RETRY_SECONDS", "1,1,1")
    created = endpoint(owner, receiver.url, event_types=["Keyfob.ConnectionInitiated"])
    # Given a receiver that is down twice (and asks for a second's wait), then recovers
    receiver.answer(503, times=2, Retry_After="1")
    # When an event is published
    account_id = start(owner, provider).account["id"]
    # Then it comes three times, with one webhook-id, and the third is taken
    receiver.wait_for(lambda _: len(receiver.about("connected_account_id", account_id)) >= 3)
    got = receiver.about("connected_account_id", account_id)
    assert len({r.headers["webhook-id"] for r in got}) == 1
    assert all(r.verified(created["secret"])["type"] == CONNECTION[0] for r in got)
    listed = sorted(wait_for_attempts(owner, created["id"], 3), key=lambda a: a["attempt"])
    assert [(a["attempt"], a["status_code"], a["error_class"]) for a in listed] == [
        (1, 503, "http_status"),
        (2, 503, "http_status"),
        (3, 204, None),
    ]
    assert listed[0]["next_attempt_at"] and listed[2]["next_attempt_at"] is None
    # And the endpoint is not failing any more
    (shown,) = owner.get("/v1/webhooks").json()["items"]
    assert (shown["status"], shown["failing_since"]) == ("ENABLED", None)


def test_a_tampered_or_stale_delivery_is_refused_by_the_library(
    owner: Api, receiver: Receiver
) -> None:
    created = endpoint(owner, receiver.url)
    response = owner.post(f"/v1/webhooks/{created['id']}/test")
    assert response.status_code == 202, response.text
    (delivery,) = receiver.wait_for(lambda seen: len(seen) >= 1)
    assert delivery.verified(created["secret"])["type"] == "Keyfob.WebhookTest"
    assert delivery.headers["webhook-id"] == response.json()["message_id"]
    verifier = Webhook(created["secret"])
    with pytest.raises(WebhookVerificationError):
        verifier.verify(delivery.body.replace('"test":true', '"test":false'), delivery.headers)
    with pytest.raises(WebhookVerificationError):
        verifier.verify(delivery.body, {**delivery.headers, "webhook-id": "msg_other"})
    # Stale: the same message signed ten minutes ago (the library allows five)
    then = datetime.fromtimestamp(time.time() - 600, UTC)
    stale = {
        **delivery.headers,
        "webhook-timestamp": str(int(then.timestamp())),
        "webhook-signature": verifier.sign(delivery.headers["webhook-id"], then, delivery.body),
    }
    with pytest.raises(WebhookVerificationError, match="too old"):
        verifier.verify(delivery.body, stale)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(delivery.body, delivery.headers)


def test_a_rotated_secret_signs_beside_the_new_one_for_a_day(
    owner: Api, receiver: Receiver
) -> None:
    created = endpoint(owner, receiver.url)
    rotated = owner.post(f"/v1/webhooks/{created['id']}/rotate")
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret != created["secret"] and new_secret.startswith("whsec_")
    expires = datetime.fromisoformat(rotated.json()["previous_secret_expires_at"])
    assert 86000 < expires.timestamp() - time.time() <= 86400
    assert owner.post(f"/v1/webhooks/{created['id']}/test").status_code == 202
    (delivery,) = receiver.wait_for(lambda seen: len(seen) >= 1)
    assert len(delivery.headers["webhook-signature"].split(" ")) == 2
    assert delivery.verified(new_secret) == delivery.verified(created["secret"])
    # A second rotation retires the first secret at once: two secrets sign, never three
    again = owner.post(f"/v1/webhooks/{created['id']}/rotate").json()["secret"]
    assert owner.post(f"/v1/webhooks/{created['id']}/test").status_code == 202
    second = receiver.wait_for(lambda seen: len(seen) >= 2)[1]
    assert second.verified(again) == second.verified(new_secret)
    with pytest.raises(WebhookVerificationError):
        second.verified(created["secret"])


def test_an_attempt_is_delivered_again_on_request_with_its_webhook_id(
    owner: Api, receiver: Receiver
) -> None:
    created = endpoint(owner, receiver.url)
    receiver.answer(500)
    message_id = owner.post(f"/v1/webhooks/{created['id']}/test").json()["message_id"]
    (failed,) = wait_for_attempts(owner, created["id"], 1)
    assert (failed["status_code"], failed["error_class"], failed["trigger"]) == (
        500,
        "http_status",
        "test",
    )
    assert failed["next_attempt_at"] is None  # a test is sent once
    retried = owner.post(f"/v1/webhooks/{created['id']}/attempts/{failed['id']}/retry")
    assert retried.status_code == 202, retried.text
    assert retried.json()["message_id"] == message_id
    first, second = receiver.wait_for(lambda seen: len(seen) >= 2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == message_id
    assert first.json == second.json
    newest = wait_for_attempts(owner, created["id"], 2)[0]
    assert (newest["trigger"], newest["status_code"], newest["succeeded"]) == ("retry", 204, True)


def test_an_endpoint_failing_for_a_day_is_disabled_and_an_event_says_so(
    owner: Api,
    provider: OAuthServer,
    receiver: Receiver,
    watcher: Receiver,
    setting: Setting,
    published: Published,
    hooked: Tenant,
) -> None:
    # A "day" of two seconds, retries every second
    setting("KEYFOB_WEBHOOK_RETRY_SECONDS", "1,1,1,1,1,1")
    setting("KEYFOB_WEBHOOK_DISABLE_AFTER_SECONDS", "2")
    failing = endpoint(owner, receiver.url, event_types=["Keyfob.ConnectionInitiated"])
    receiver.answer(500, times=100)
    watching = endpoint(owner, watcher.url, event_types=["Keyfob.WebhookEndpointDisabled"])
    published.events()
    start(owner, provider)
    # Then the endpoint is disabled, once, and says why
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        shown = {e["id"]: e for e in owner.get("/v1/webhooks").json()["items"]}[failing["id"]]
        if shown["status"] == "DISABLED":
            break
        time.sleep(0.2)
    assert (shown["status"], shown["status_reason"]) == ("DISABLED", "failing_for_a_day")
    # And an event on the bus says so, which the other endpoint receives, signed
    (delivered,) = watcher.wait_for(lambda seen: len(seen) >= 1)
    payload = delivered.verified(watching["secret"])
    assert payload["type"] == "Keyfob.WebhookEndpointDisabled"
    assert payload["data"]["webhook_id"] == failing["id"]
    assert payload["data"]["tenant_id"] == hooked.id
    time.sleep(2)  # any retry still queued finds the endpoint disabled
    disabled = [e for e in published.events() if e["detail-type"] == payload["type"]]
    assert [e["detail"]["webhook_id"] for e in disabled].count(failing["id"]) == 1
    tried = len(receiver.received)
    time.sleep(2)
    assert len(receiver.received) == tried  # no more deliveries to a disabled endpoint
    # When the engineer has fixed the receiver and enables the endpoint
    with receiver.lock:
        receiver.answers.clear()
    enabled = owner.post(f"/v1/webhooks/{failing['id']}/enable")
    assert enabled.status_code == 200, enabled.text
    shown = enabled.json()
    assert (shown["status"], shown["status_reason"], shown["failing_since"]) == (
        "ENABLED",
        None,
        None,
    )
    # Then it takes deliveries again
    start(owner, provider)
    receiver.wait_for(lambda seen: len(seen) > tried and seen[-1].json["type"] == CONNECTION[0])
    assert owner.post(f"/v1/webhooks/{failing['id']}/enable").json()["status"] == "ENABLED"


def test_a_message_whose_retries_are_spent_goes_to_the_dead_letter_queue(
    owner: Api,
    provider: OAuthServer,
    receiver: Receiver,
    setting: Setting,
    stack_env: dict[str, str],
) -> None:
    setting("KEYFOB_WEBHOOK_RETRY_SECONDS", "1")
    dead = Queue(stack_env["KEYFOB_WEBHOOK_DLQ_URL"])
    dead.drain()
    created = endpoint(owner, receiver.url, event_types=["Keyfob.ConnectionInitiated"])
    receiver.answer(502, times=2)
    account_id = start(owner, provider).account["id"]
    receiver.wait_for(lambda _: len(receiver.about("connected_account_id", account_id)) >= 2)

    # Other tests' endpoints may spend their retries meanwhile: only this endpoint's count.
    def ours() -> list[Any]:
        return [m for m in dead.seen if m.json.get("webhook_id") == created["id"]]

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not ours():
        dead.drain()
        time.sleep(0.2)
    (letter,) = ours()
    assert letter.attributes == {"reason": "retries_exhausted"}
    assert letter.json["webhook_id"] == created["id"]
    assert letter.json["attempt"] == 2
    assert "payload" not in letter.json and account_id not in letter.body  # sealed only


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",
        "https://10.0.0.8/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://192.168.1.1:8443/hooks",
        "https://[::ffff:192.168.0.1]/hooks",
        "ftp://example.com/hooks",
        "https://user:password@example.com/hooks",
        "http://example.com/hooks",
        "not a url at all",
    ],
)
def test_an_endpoint_url_keyfob_would_not_call_is_refused(owner: Api, url: str) -> None:
    response = owner.post("/v1/webhooks", json={"url": url})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] in ("invalid_webhook_url", "validation_error")
    assert owner.get("/v1/webhooks").json()["items"] == []


def test_bad_input_and_other_tenants_get_clear_4xx(
    owner: Api, other_api: Api, receiver: Receiver
) -> None:
    created = endpoint(owner, receiver.url)
    assert owner.post("/v1/webhooks", json={}).status_code == 422
    unknown = owner.post("/v1/webhooks", json={"url": receiver.url, "event_types": ["Nope"]})
    assert unknown.status_code == 422
    assert owner.get("/v1/webhooks/not-an-id/attempts").status_code == 422
    gone = owner.post("/v1/webhooks/wh_aaaaaaaaaaaaaaaaaaaaaaaa/enable")
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "webhook_not_found")
    missing = owner.post("/v1/webhooks/wh_aaaaaaaaaaaaaaaaaaaaaaaa/rotate")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "webhook_not_found")
    for method, path in [
        ("delete", f"/v1/webhooks/{created['id']}"),
        ("post", f"/v1/webhooks/{created['id']}/rotate"),
        ("post", f"/v1/webhooks/{created['id']}/enable"),
        ("post", f"/v1/webhooks/{created['id']}/test"),
        ("get", f"/v1/webhooks/{created['id']}/attempts"),
    ]:
        assert getattr(other_api, method)(path).status_code == 404, path
    assert created["id"] not in str(other_api.get("/v1/webhooks").json())
    assert owner.delete(f"/v1/webhooks/{created['id']}").status_code == 204
    assert owner.delete(f"/v1/webhooks/{created['id']}").status_code == 404


def test_two_failures_that_read_the_endpoint_enabled_disable_it_and_say_so_once(
    owner: Api, receiver: Receiver, hooked: Tenant, published: Published
) -> None:
    """Two deliveries fail at once, a day into the endpoint's streak, each having read it
    ENABLED: the conditional write lets one of them disable it, and one event goes out."""
    from keyfob.core.ids import now
    from keyfob.services import webhook_delivery
    from keyfob.store import webhooks

    created = endpoint(owner, receiver.url)
    webhooks.start_failing(hooked.id, created["id"], "2000-01-01T00:00:00.000000Z")
    first, second = (webhooks.get(hooked.id, created["id"]) for _ in range(2))
    published.events()
    webhook_delivery._failed(first, now())
    webhook_delivery._failed(second, now())
    disabled = [
        e
        for e in published.events()
        if e["detail-type"] == "Keyfob.WebhookEndpointDisabled"
        and e["detail"]["webhook_id"] == created["id"]
    ]
    assert len(disabled) == 1
    assert disabled[0]["detail"]["failing_since"] == "2000-01-01T00:00:00.000000Z"


def test_a_rotation_that_read_the_secrets_before_another_is_refused(
    owner: Api, receiver: Receiver, hooked: Tenant
) -> None:
    """Rotations are conditional on the secrets being as they were read: of two at once,
    the later one does not put back a secret the earlier one retired."""
    from keyfob.models.records.base import EncryptedBlob
    from keyfob.store import webhooks

    created = endpoint(owner, receiver.url)
    read = webhooks.get(hooked.id, created["id"])
    assert owner.post(f"/v1/webhooks/{created['id']}/rotate").status_code == 200
    stale = read.secret_rotated_at or read.created_at
    blob = EncryptedBlob(v=1, edk="x", nonce="x", ct="x")
    assert not webhooks.replace_secrets(hooked.id, created["id"], blob, "later", stale)
    # The endpoint still signs with the rotated secrets
    assert owner.post(f"/v1/webhooks/{created['id']}/test").status_code == 202
    (delivery,) = receiver.wait_for(lambda seen: len(seen) >= 1)
    assert len(delivery.headers["webhook-signature"].split(" ")) == 2


def test_a_delivery_is_held_to_the_egress_rules_when_it_is_sent(
    owner: Api, receiver: Receiver, setting: Setting
) -> None:
    """The rules are applied again at each delivery, not only when the endpoint was made:
    here loopback stops being allowed (as it is outside the local stack)."""
    created = endpoint(owner, receiver.url)
    setting("KEYFOB_ALLOW_HTTP_LOOPBACK", "false")
    assert owner.post(f"/v1/webhooks/{created['id']}/test").status_code == 202
    (refused,) = wait_for_attempts(owner, created["id"], 1)
    assert (refused["status_code"], refused["error_class"]) == (None, "invalid_url")
    assert receiver.received == []


def test_each_endpoint_gets_the_event_and_one_failing_does_not_repeat_it_to_another(
    owner: Api, provider: OAuthServer, receiver: Receiver, watcher: Receiver, setting: Setting
) -> None:
    setting("KEYFOB_WEBHOOK_RETRY_SECONDS", "1,1")
    healthy = endpoint(owner, receiver.url, event_types=["Keyfob.ConnectionInitiated"])
    failing = endpoint(owner, watcher.url, event_types=["Keyfob.ConnectionInitiated"])
    watcher.answer(500, times=10)
    account_id = start(owner, provider).account["id"]
    watcher.wait_for(lambda _: len(watcher.about("connected_account_id", account_id)) >= 3)
    wait_for_attempts(owner, failing["id"], 3)
    (taken,) = receiver.about("connected_account_id", account_id)
    assert taken.verified(healthy["secret"])["type"] == "Keyfob.ConnectionInitiated"
    assert watcher.received[0].verified(failing["secret"]) == taken.verified(healthy["secret"])
    assert [a["attempt"] for a in attempts(owner, healthy["id"])] == [1]
