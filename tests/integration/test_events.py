"""Events out: every change of a connected account's status reaches the Keyfob bus, in
order, never with a secret; an event EventBridge refuses is recorded and the scheduled
run sends it again, and the API call that caused it succeeds all the same.

Watched as a user would: a rule on the bus with an SQS target (tests/integration/bus.py).
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from devstack.gateway import Gateway
from devstack.oauth_provider import OAuthServer
from keyfob.core import aws
from keyfob.core.config import settings
from tests.conftest import Api, Tenant
from tests.integration.bus import ROUND_TRIP, Published
from tests.integration.conftest import Setting
from tests.integration.flows import (
    PAST,
    authorize,
    callback,
    connect,
    keyed_integration,
    query_of,
    run_sweep,
    set_stored,
    start,
)

# Each test starts with the provider forgetting every code, token and switch.
pytestmark = pytest.mark.usefixtures("provider")


def details(published: Published, account_id: str) -> list[dict[str, Any]]:
    return [e["detail"] for e in published.about(account_id)]


def test_each_status_change_of_an_oauth_connection_is_published_in_order(
    api: Api,
    anonymous: Api,
    oauth_server: OAuthServer,
    tenant: Tenant,
    published: Published,
) -> None:
    # Given a connection initiated through the API, and completed by the user's browser
    started = start(api, oauth_server)
    account_id = started.account["id"]
    assert callback(anonymous, authorize(started)).status_code == 302
    # When the app refreshes it, disables, enables and deletes it
    for method, path in (
        ("POST", "refresh"),
        ("POST", "disable"),
        ("POST", "enable"),
        ("DELETE", ""),
    ):
        url = f"/v1/connected_accounts/{account_id}" + (f"/{path}" if path else "")
        assert api.request(method, url).status_code == 200
    # Then each change was published, in order, with the status before and after
    events = published.about(account_id)
    assert [e["detail-type"] for e in events] == ROUND_TRIP
    assert {e["source"] for e in events} == {"keyfob"}
    transitions = [(e["detail"]["previous_status"], e["detail"]["status"]) for e in events]
    assert transitions == [
        (None, "INITIATED"),
        ("INITIATED", "ACTIVE"),
        ("ACTIVE", "ACTIVE"),
        ("ACTIVE", "INACTIVE"),
        ("INACTIVE", "ACTIVE"),
        ("ACTIVE", "DELETED"),
    ]
    first = events[0]["detail"]
    assert first["authorization_url"] == started.authorization_url
    assert {e["detail"]["authorization_url"] for e in events[1:]} == {None}
    for event in events:
        assert event["detail"]["tenant_id"] == tenant.id
        assert event["detail"]["entity_id"] == "user-1"
        assert event["detail"]["app"] == "oauth2"
        assert event["detail"]["integration_id"] == started.integration_id
        assert event["detail"]["requested_by_account"] is None
    # And each names the API request that caused it, and can be told apart from the rest
    correlation_ids = [e["detail"]["correlation_id"] for e in events]
    assert None not in correlation_ids and len(set(correlation_ids)) == len(events)
    assert len({e["detail"]["event_id"] for e in events}) == len(events)


def test_a_refused_authorization_publishes_failed_with_the_reason(
    api: Api, anonymous: Api, oauth_server: OAuthServer, published: Published
) -> None:
    started = start(api, oauth_server)
    oauth_server.deny_next_authorization = True

    callback(anonymous, authorize(started))

    failed = details(published, started.account["id"])[-1]
    assert (failed["status"], failed["previous_status"]) == ("FAILED", "INITIATED")
    assert failed["status_reason"] == "provider returned error: access_denied"


def test_expiry_and_reinitiation_are_published(
    api: Api,
    anonymous: Api,
    oauth_server: OAuthServer,
    tenant: Tenant,
    gateway: Gateway,
    published: Published,
) -> None:
    # Given an ACTIVE account whose grant the provider has forgotten, due for refresh
    started = connect(api, anonymous, oauth_server)
    account_id = started.account["id"]
    oauth_server.reset()
    set_stored(tenant.id, account_id, due_at=PAST)
    # When the scheduled run tries to refresh it, and the app reinitiates it
    run_sweep(gateway)
    reinitiated = api.post(f"/v1/connected_accounts/{account_id}/reinitiate")
    assert reinitiated.status_code == 200, reinitiated.text
    # Then Expired (from the scheduled run) and Initiated again were published
    *_, expired, again = details(published, account_id)
    assert (expired["status"], expired["previous_status"]) == ("EXPIRED", "ACTIVE")
    assert "invalid_grant" in expired["status_reason"]
    assert expired["correlation_id"]  # the scheduled run's own request id
    assert (again["status"], again["previous_status"]) == ("INITIATED", "EXPIRED")
    assert again["authorization_url"] == reinitiated.json()["redirect_url"]


def test_a_lapsed_attempt_is_published_expired_by_the_scheduled_run(
    api: Api, oauth_server: OAuthServer, tenant: Tenant, gateway: Gateway, published: Published
) -> None:
    started = start(api, oauth_server)
    account_id = started.account["id"]
    set_stored(tenant.id, account_id, pending_until=1, due_at=PAST)

    run_sweep(gateway)

    assert published.types(account_id) == [
        "Keyfob.ConnectionInitiated",
        "Keyfob.ConnectionExpired",
    ]


def test_session_binding_publishes_awaiting_confirmation_then_activated_or_failed(
    api: Api, anonymous: Api, oauth_server: OAuthServer, published: Published
) -> None:
    outcomes = {}
    for entity in ("user-1", "someone-else"):
        started = start(api, oauth_server, require_confirmation=True)
        landed = callback(anonymous, authorize(started)).headers["Location"]
        code = query_of(landed)["confirmation_code"]
        api.post(
            f"/v1/connected_accounts/{started.account['id']}/confirm",
            json={"code": code, "entity_id": entity},
        )
        outcomes[entity] = details(published, started.account["id"])

    confirmed, refused = outcomes["user-1"], outcomes["someone-else"]
    assert [d["status"] for d in confirmed] == ["INITIATED", "AWAITING_CONFIRMATION", "ACTIVE"]
    assert [d["status"] for d in refused] == ["INITIATED", "AWAITING_CONFIRMATION", "FAILED"]
    assert refused[-1]["previous_status"] == "AWAITING_CONFIRMATION"


def test_no_event_carries_a_secret(
    api: Api, anonymous: Api, oauth_server: OAuthServer, published: Published
) -> None:
    # Given every kind of secret Keyfob handles going through flows that publish
    api_key = oauth_server.register_api_key()
    key_integration = keyed_integration(api, oauth_server, "mistral")
    keyed = api.post(
        "/v1/connected_accounts",
        json={"integration_id": key_integration, "entity_id": "u", "params": {"api_key": api_key}},
    )
    assert keyed.status_code == 201, keyed.text
    started = start(api, oauth_server, require_confirmation=True)
    redirect = authorize(started)
    landed = callback(anonymous, redirect).headers["Location"]
    confirmation_code = query_of(landed)["confirmation_code"]
    account_id = started.account["id"]
    api.post(
        f"/v1/connected_accounts/{account_id}/confirm",
        json={"code": confirmation_code, "entity_id": "user-1"},
    )
    api.post(f"/v1/connected_accounts/{account_id}/refresh")
    api.delete(f"/v1/connected_accounts/{account_id}")
    # Then no event the bus delivered holds any of them
    secrets = {api_key, started.client_secret, confirmation_code, query_of(redirect)["code"]}
    for issued in oauth_server.issued_tokens:
        secrets |= {issued["access_token"], issued["refresh_token"]}
    bodies = [m.body for m in published.drain()]
    assert len([b for b in bodies if account_id in b]) == 5
    assert keyed.json()["id"] in "".join(bodies)
    leaked = {s for s in secrets for body in bodies if s in body}
    assert leaked == set()


# --- when EventBridge refuses -------------------------------------------------------


def outbox_items() -> list[dict[str, Any]]:
    client = boto3.client("dynamodb")
    items = []
    for shard in range(4):
        items += client.query(
            TableName=os.environ["KEYFOB_TABLE"],
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"OUTBOX#{shard}"}},
        )["Items"]
    return items


def test_an_event_eventbridge_refuses_is_recorded_and_sent_by_the_scheduled_run(
    api: Api,
    oauth_server: OAuthServer,
    gateway: Gateway,
    published: Published,
    setting: Setting,
) -> None:
    # Given a bus that refuses events (it does not exist), when the app starts a connection
    setting("KEYFOB_EVENT_BUS", "keyfob-no-such-bus")
    started = start(api, oauth_server)
    account_id = started.account["id"]
    # Then the API call succeeded, nothing was published, and the event was recorded,
    # encrypted: its authorization URL is nowhere in the table in the clear
    assert published.about(account_id) == []
    recorded = outbox_items()
    assert len(recorded) == 1
    assert query_of(started.authorization_url)["state"] not in json.dumps(recorded)
    assert account_id not in json.dumps(recorded)
    # When the bus is back and the scheduled run comes
    setting("KEYFOB_EVENT_BUS", gateway.env["KEYFOB_EVENT_BUS"])
    counts = run_sweep(gateway)
    # Then it sent the event, as it was, and forgot it
    assert counts["EventsResent"] == 1
    (event,) = published.about(account_id)
    assert event["detail-type"] == "Keyfob.ConnectionInitiated"
    assert event["detail"]["authorization_url"] == started.authorization_url
    assert outbox_items() == []


def test_a_failed_entry_is_recorded_and_the_api_call_succeeds(
    api: Api,
    anonymous: Api,
    oauth_server: OAuthServer,
    gateway: Gateway,
    published: Published,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given EventBridge answering with a failed entry (a partial failure, no error)
    started = start(api, oauth_server)
    refusing = boto3.client("events")
    stubber = Stubber(refusing)
    stubber.add_response(
        "put_events",
        {
            "FailedEntryCount": 1,
            "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}],
        },
    )
    stubber.activate()
    monkeypatch.setattr(aws, "events", lambda: refusing)
    # When the user completes the connection
    response = callback(anonymous, authorize(started))
    # Then the callback succeeded and the Activated event waits in the outbox
    assert response.status_code == 302
    assert "status=ACTIVE" in response.headers["Location"]
    stubber.assert_no_pending_responses()
    assert len(outbox_items()) == 1
    monkeypatch.undo()
    run_sweep(gateway)
    assert published.types(started.account["id"]) == [
        "Keyfob.ConnectionInitiated",
        "Keyfob.ConnectionActivated",
    ]
    assert outbox_items() == []


def test_the_scheduled_run_publishes_its_refreshes_ten_to_a_put_events(
    api: Api,
    anonymous: Api,
    oauth_server: OAuthServer,
    tenant: Tenant,
    gateway: Gateway,
    published: Published,
) -> None:
    # Given a dozen accounts due for refresh
    account_ids = [connect(api, anonymous, oauth_server).account["id"] for _ in range(12)]
    for account_id in account_ids:
        set_stored(tenant.id, account_id, due_at=PAST)
    entries: list[int] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        entries.append(len(params["Entries"]))

    aws.events().meta.events.register("provide-client-params.events.PutEvents", count)
    try:
        # When the scheduled run refreshes them
        run_sweep(gateway)
    finally:
        aws.events().meta.events.unregister("provide-client-params.events.PutEvents", count)
    # Then each one's Refreshed event arrived, put in batches of ten, not one by one
    for account_id in account_ids:
        assert published.types(account_id)[-1] == "Keyfob.ConnectionRefreshed"
    # (each worker its own batches: at most one put per shard for twelve accounts)
    assert sum(entries) >= 12
    assert len(entries) <= settings().due_shards < 12
