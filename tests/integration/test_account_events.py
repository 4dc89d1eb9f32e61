"""GET /v1/connected_accounts/{id}/events: an account's recent events, newest first, from
the history kept beside it, for the console and anyone debugging why an account is what
it is."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from devstack.gateway import Gateway
from devstack.oauth_provider import OAuthServer
from keyfob_client import Client, Status
from tests.conftest import Api, Tenant
from tests.integration.bus import Published
from tests.integration.client_flows import approve
from tests.integration.flows import create_integration, keyed_integration, table


def _events(api: Api, account_id: str) -> list[dict[str, str]]:
    response = api.get(f"/v1/connected_accounts/{account_id}/events")
    assert response.status_code == 200, response.text
    assert response.json()["connected_account_id"] == account_id
    return list(response.json()["items"])


def test_a_keyed_account_shows_its_activation_then_its_disabling_with_times(
    api: Api, provider: OAuthServer
) -> None:
    integration = keyed_integration(api, provider, app="mistral")
    key = provider.register_api_key()
    made = api.post(
        "/v1/connected_accounts",
        json={"integration_id": integration, "entity_id": "events-1", "params": {"api_key": key}},
    ).json()
    assert [e["type"] for e in _events(api, made["id"])] == ["Keyfob.ConnectionActivated"]

    disabled = api.post(f"/v1/connected_accounts/{made['id']}/disable").json()
    events = _events(api, made["id"])

    assert [(e["type"], e["status"]) for e in events] == [
        ("Keyfob.ConnectionDisabled", "INACTIVE"),
        ("Keyfob.ConnectionActivated", "ACTIVE"),
    ]
    # Each event's time is when it was published, just after its change was stored.
    assert made["created_at"] <= events[1]["at"] <= disabled["updated_at"] <= events[0]["at"]
    assert events[0]["previous_status"] == "ACTIVE"
    assert key not in str(events)


def test_every_change_is_kept_with_the_published_events_id_and_the_request(
    api: Api, provider: OAuthServer, published: Published
) -> None:
    integration = keyed_integration(api, provider, app="mistral")
    made = api.post(
        "/v1/connected_accounts",
        json={
            "integration_id": integration,
            "entity_id": "events-6",
            "params": {"api_key": provider.register_api_key()},
        },
    ).json()
    for _ in range(2):
        assert api.post(f"/v1/connected_accounts/{made['id']}/disable").status_code == 200
        assert api.post(f"/v1/connected_accounts/{made['id']}/enable").status_code == 200

    events = _events(api, made["id"])

    # The record alone shows one change: its history shows all five, in order.
    assert [(e["type"], e["previous_status"]) for e in events] == [
        ("Keyfob.ConnectionEnabled", "INACTIVE"),
        ("Keyfob.ConnectionDisabled", "ACTIVE"),
        ("Keyfob.ConnectionEnabled", "INACTIVE"),
        ("Keyfob.ConnectionDisabled", "ACTIVE"),
        ("Keyfob.ConnectionActivated", None),
    ]
    on_the_bus = {e["detail"]["event_id"]: e["detail"] for e in published.about(made["id"])}
    for event in events:
        assert event["event_id"] in on_the_bus
        assert event["correlation_id"] == on_the_bus[event["event_id"]]["correlation_id"]
        assert event["correlation_id"]


def test_an_oauth_account_shows_initiated_then_its_failure_and_reason(
    api: Api, provider: OAuthServer
) -> None:
    integration, _ = create_integration(api, provider)
    made = api.post(
        "/v1/connected_accounts",
        json={
            "integration_id": integration,
            "entity_id": "events-2",
            "redirect_url": "https://app.example.com/back",
        },
    ).json()
    assert [e["type"] for e in _events(api, made["id"])] == ["Keyfob.ConnectionInitiated"]

    provider.deny_next_authorization = True
    assert approve(made["redirect_url"])["status"] == ["FAILED"]
    events = _events(api, made["id"])

    assert events[0]["type"] == "Keyfob.ConnectionFailed"
    assert "access_denied" in events[0]["status_reason"]
    assert events[1]["type"] == "Keyfob.ConnectionInitiated"


def test_another_tenants_account_and_a_malformed_id_are_refused(
    api: Api, other_api: Api, provider: OAuthServer
) -> None:
    integration = keyed_integration(api, provider, app="mistral")
    made = api.post(
        "/v1/connected_accounts",
        json={
            "integration_id": integration,
            "entity_id": "events-3",
            "params": {"api_key": provider.register_api_key()},
        },
    ).json()

    assert other_api.get(f"/v1/connected_accounts/{made['id']}/events").status_code == 404
    malformed = api.get("/v1/connected_accounts/..%2F/events")
    assert malformed.status_code in (404, 422), malformed.text


def test_the_python_client_reads_them_typed(
    api: Api, provider: OAuthServer, gateway: Gateway, tenant: Tenant
) -> None:
    client = Client(gateway.url, tenant.api_key)
    integration = client.create_integration(
        "mistral", "API_KEY", api={"base_url": provider.api_url}
    )
    account = client.initiate_connection(
        integration.id, "events-4", params={"api_key": provider.register_api_key()}
    )
    client.disable_account(account.id)

    events = client.get_account_events(account.id)

    assert events.connected_account_id == account.id
    assert [(e.type, e.status) for e in events.items] == [
        ("Keyfob.ConnectionDisabled", Status.INACTIVE),
        ("Keyfob.ConnectionActivated", Status.ACTIVE),
    ]


def test_an_oauth_attempt_past_its_time_shows_expired_when_it_lapsed(
    api: Api, provider: OAuthServer, tenant: Tenant
) -> None:
    integration, _ = create_integration(api, provider)
    made = api.post(
        "/v1/connected_accounts",
        json={"integration_id": integration, "entity_id": "events-5"},
    ).json()
    time.sleep(1.1)  # its time runs out a whole second after it began, and has passed
    lapsed_at = int(time.time())
    client, name = table()
    client.update_item(
        TableName=name,
        Key={"pk": {"S": f"TENANT#{tenant.id}"}, "sk": {"S": f"ACCOUNT#{made['id']}"}},
        UpdateExpression="SET pending_until = :t",
        ExpressionAttributeValues={":t": {"N": str(lapsed_at)}},
    )

    events = _events(api, made["id"])

    assert [(e["type"], e["status"]) for e in events] == [
        ("Keyfob.ConnectionExpired", "EXPIRED"),
        ("Keyfob.ConnectionInitiated", "INITIATED"),
    ]
    assert events[0]["at"].startswith(
        datetime.fromtimestamp(lapsed_at, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    )
    assert events[0]["status_reason"] == "authorization was not completed in time"
