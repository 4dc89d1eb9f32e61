"""Commands in: another AWS account drives Keyfob with events on its bus. Delivered to the
commands function as the rule would deliver them, against the moto server and the
loopback OAuth provider; what comes back is watched on the bus and the dead-letter queue.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from devstack.gateway import Gateway
from devstack.oauth_provider import OAuthServer
from devstack.runtime import FunctionError
from tests.conftest import Api, Tenant
from tests.integration.bus import ROUND_TRIP, Published, Queue, command_event, send
from tests.integration.conftest import UNKNOWN_ACCOUNT, Setting
from tests.integration.flows import (
    callback,
    connect,
    create_integration,
    follow,
    set_stored,
    stored,
)

# Each test starts with the provider forgetting every code, token and switch.
pytestmark = pytest.mark.usefixtures("provider")


def entity() -> str:
    return f"cmd-{uuid.uuid4().hex[:12]}"


def accounts_of(api: Api, entity_id: str) -> list[dict[str, Any]]:
    response = api.get("/v1/connected_accounts", params={"entity_id": entity_id})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def refusal(dead_letters: Queue, event_id: str) -> dict[str, str]:
    (message,) = [m for m in dead_letters.drain() if m.json.get("id") == event_id]
    return message.attributes


def rejected(published: Published, event_id: str) -> list[dict[str, Any]]:
    return [
        e["detail"]
        for e in published.events()
        if e["detail-type"] == "Keyfob.CommandRejected"
        and e["detail"]["command_event_id"] == event_id
    ]


def initiation(
    api: Api, oauth_server: OAuthServer, account: str, **detail: Any
) -> tuple[str, dict[str, Any]]:
    """An InitiateConnection command from ``account`` for a new entity of a new
    integration (with the loopback provider): the entity, and the event."""
    integration_id, _ = create_integration(api, oauth_server)
    user = entity()
    detail = {"integration_id": integration_id, "entity_id": user, **detail}
    return user, command_event("Keyfob.InitiateConnection", detail, account=account)


# --- initiating a connection --------------------------------------------------------


def test_a_trusted_accounts_command_initiates_a_connection_and_its_events_name_it(
    api: Api,
    anonymous: Api,
    oauth_server: OAuthServer,
    gateway: Gateway,
    tenant: Tenant,
    trusted_account: str,
    published: Published,
) -> None:
    # Given an AWS account that acts for the tenant
    user, event = initiation(
        api, oauth_server, trusted_account, redirect_url="https://app.example.com/done"
    )
    # When it puts an InitiateConnection command on the bus
    outcome = send(gateway, event)
    # Then the tenant has a new INITIATED connection, and its Initiated event went out
    # naming that account, the command, and where to send the user
    (account,) = accounts_of(api, user)
    assert outcome == {"outcome": "done", "connected_account_id": account["id"]}
    assert account["status"] == "INITIATED"
    (initiated,) = published.about(account["id"])
    detail = initiated["detail"]
    assert initiated["detail-type"] == "Keyfob.ConnectionInitiated"
    assert detail["tenant_id"] == tenant.id
    assert detail["requested_by_account"] == trusted_account
    assert detail["correlation_id"] == event["id"]
    # And that URL works: the user's browser completes it, and Activated names the caller too
    browser = callback(anonymous, follow(detail["authorization_url"]))
    assert "status=ACTIVE" in browser.headers["Location"]
    activated = published.about(account["id"])[-1]["detail"]
    assert (activated["status"], activated["requested_by_account"]) == ("ACTIVE", trusted_account)
    assert stored(tenant.id, account["id"])["requested_by_account"] == trusted_account


def test_an_account_that_acts_for_no_tenant_is_refused_to_the_dead_letter_queue(
    api: Api,
    oauth_server: OAuthServer,
    gateway: Gateway,
    trusted_account: str,
    published: Published,
    dead_letters: Queue,
) -> None:
    user, event = initiation(api, oauth_server, UNKNOWN_ACCOUNT)
    before = len(published.events())

    outcome = send(gateway, event)

    assert outcome == {"outcome": "refused", "reason": "unknown_account"}
    assert accounts_of(api, user) == []
    assert refusal(dead_letters, event["id"])["reason"] == "unknown_account"
    assert len(published.events()) == before  # nobody to tell


def test_an_invalid_detail_is_refused_and_reported_to_the_caller(
    api: Api,
    oauth_server: OAuthServer,
    gateway: Gateway,
    tenant: Tenant,
    trusted_account: str,
    published: Published,
    dead_letters: Queue,
) -> None:
    user, event = initiation(
        api, oauth_server, trusted_account, redirect_url="ftp://nope", surprise=True
    )

    outcome = send(gateway, event)

    assert outcome == {"outcome": "refused", "reason": "invalid_detail"}
    assert accounts_of(api, user) == []
    attributes = refusal(dead_letters, event["id"])
    assert attributes["reason"] == "invalid_detail"
    assert "surprise" in attributes["message"]
    (report,) = rejected(published, event["id"])
    assert report["tenant_id"] == tenant.id
    assert report["requested_by_account"] == trusted_account
    assert report["error"]["code"] == "invalid_detail"
    assert "ftp://nope" not in str(report)  # where and why, never the value


def test_a_credential_is_never_taken_from_an_event(
    api: Api,
    gateway: Gateway,
    trusted_account: str,
    published: Published,
    dead_letters: Queue,
) -> None:
    integration_id = api.post(
        "/v1/integrations", json={"app": "stripe", "auth_scheme": "API_KEY"}
    ).json()["id"]
    user = entity()
    detail = {"integration_id": integration_id, "entity_id": user, "params": {"api_key": "sk_x"}}
    event = command_event("Keyfob.InitiateConnection", detail, account=trusted_account)

    outcome = send(gateway, event)

    assert outcome == {"outcome": "refused", "reason": "credentials_not_accepted"}
    assert accounts_of(api, user) == []
    (message,) = [m for m in dead_letters.drain() if m.json.get("id") == event["id"]]
    assert "sk_x" not in message.body
    assert message.json["detail"]["params"] == {"api_key": "(left out)"}
    assert rejected(published, event["id"])[0]["error"]["code"] == "credentials_not_accepted"


# --- acting once ------------------------------------------------------------------


@pytest.mark.parametrize("put", ["2000-01-01T00:00:00Z", "2999-01-01T00:00:00Z"])
def test_a_command_outside_its_hours_is_refused_whatever_its_id(
    api: Api,
    oauth_server: OAuthServer,
    gateway: Gateway,
    trusted_account: str,
    dead_letters: Queue,
    put: str,
) -> None:
    # An archive replayed after its key is forgotten, or a time set ahead to outlast it
    user, event = initiation(api, oauth_server, trusted_account)

    outcome = send(gateway, {**event, "time": put})

    assert outcome == {"outcome": "refused", "reason": "command_expired"}
    assert refusal(dead_letters, event["id"])["reason"] == "command_expired"
    assert accounts_of(api, user) == []


def test_a_command_delivered_twice_acts_once(
    api: Api, oauth_server: OAuthServer, gateway: Gateway, trusted_account: str
) -> None:
    user, event = initiation(api, oauth_server, trusted_account)

    first, second = send(gateway, event), send(gateway, event)

    assert first == second
    assert len(accounts_of(api, user)) == 1


def test_an_idempotency_key_acts_once_whatever_the_event_id(
    api: Api,
    oauth_server: OAuthServer,
    gateway: Gateway,
    trusted_account: str,
    other_tenant_account: str,
    other_api: Api,
    published: Published,
    dead_letters: Queue,
) -> None:
    user, first = initiation(api, oauth_server, trusted_account)
    detail = {**first["detail"], "idempotency_key": f"onboard-{user}"}

    # The caller retries its command: a new event, the same key
    outcomes = [
        send(gateway, command_event("Keyfob.InitiateConnection", detail, account=trusted_account))
        for _ in range(2)
    ]
    assert outcomes[0] == outcomes[1]
    (account,) = accounts_of(api, user)
    assert published.about(account["id"])[0]["detail"]["correlation_id"] == f"onboard-{user}"

    # The same key with another command is refused, not taken for the first
    changed = {**detail, "entity_id": entity()}
    reuse = command_event("Keyfob.InitiateConnection", changed, account=trusted_account)
    assert send(gateway, reuse) == {"outcome": "refused", "reason": "idempotency_key_reused"}
    assert refusal(dead_letters, reuse["id"])["reason"] == "idempotency_key_reused"
    assert accounts_of(api, changed["entity_id"]) == []

    # And another account's identical key is its own: never taken for this one's
    other_integration, _ = create_integration(other_api, oauth_server)
    theirs = {**detail, "integration_id": other_integration}
    outcome = send(
        gateway, command_event("Keyfob.InitiateConnection", theirs, account=other_tenant_account)
    )
    assert outcome["outcome"] == "done"
    assert len(accounts_of(other_api, user)) == 1


# --- the lifecycle, by command ------------------------------------------------------


def test_refresh_disable_enable_delete_by_command(
    api: Api,
    anonymous: Api,
    oauth_server: OAuthServer,
    gateway: Gateway,
    trusted_account: str,
    published: Published,
) -> None:
    account_id = connect(api, anonymous, oauth_server).account["id"]
    for command in ("Refresh", "Disable", "Enable"):
        outcome = send(
            gateway,
            command_event(
                f"Keyfob.{command}Connection",
                {"connected_account_id": account_id},
                account=trusted_account,
            ),
        )
        assert outcome == {"outcome": "done", "connected_account_id": account_id}
    send(
        gateway,
        command_event(
            "Keyfob.DeleteConnection",
            {"connected_account_id": account_id, "revoke": True},
            account=trusted_account,
        ),
    )

    assert api.get(f"/v1/connected_accounts/{account_id}").status_code == 404
    assert len(oauth_server.revocations) == 1
    events = published.about(account_id)
    assert [e["detail-type"] for e in events] == ROUND_TRIP
    # Started through the API: only the commands' own events name the account
    assert [e["detail"]["requested_by_account"] for e in events] == [None, None] + [
        trusted_account
    ] * 4


def test_a_command_never_touches_another_tenants_connection(
    api: Api,
    anonymous: Api,
    oauth_server: OAuthServer,
    gateway: Gateway,
    tenant: Tenant,
    other_tenant: Tenant,
    other_tenant_account: str,
    published: Published,
    dead_letters: Queue,
) -> None:
    # Given tenant A's ACTIVE connection, and tenant B's AWS account knowing its id
    account_id = connect(api, anonymous, oauth_server).account["id"]
    for command, extra in (("Disable", {}), ("Delete", {"revoke": True}), ("Refresh", {})):
        event = command_event(
            f"Keyfob.{command}Connection",
            {"connected_account_id": account_id, **extra},
            account=other_tenant_account,
        )
        # When B's account commands it, then it is refused as unknown to B
        outcome = send(gateway, event)
        assert outcome == {"outcome": "refused", "reason": "connected_account_not_found"}
        assert refusal(dead_letters, event["id"])["reason"] == "connected_account_not_found"
        (report,) = rejected(published, event["id"])
        assert report["tenant_id"] == other_tenant.id
        assert report["connected_account_id"] == account_id
    # And A's connection is as it was, untouched by any of them
    assert stored(tenant.id, account_id)["status"] == "ACTIVE"
    assert oauth_server.revocations == []
    assert (
        published.types(account_id)
        == [
            "Keyfob.ConnectionInitiated",
            "Keyfob.ConnectionActivated",
        ]
        + ["Keyfob.CommandRejected"] * 3
    )


def test_a_transient_fault_raises_and_the_retry_acts(
    api: Api,
    anonymous: Api,
    oauth_server: OAuthServer,
    gateway: Gateway,
    tenant: Tenant,
    trusted_account: str,
    setting: Setting,
) -> None:
    # Given an account another instance is refreshing (its lease held), not waited for long
    setting("KEYFOB_LEASE_WAIT_SECONDS", "0.2")
    account_id = connect(api, anonymous, oauth_server).account["id"]
    lease_until = int(time.time() * 1000) + 60_000
    set_stored(tenant.id, account_id, lease_owner="another-instance", lease_until=lease_until)
    event = command_event(
        "Keyfob.DisableConnection", {"connected_account_id": account_id}, account=trusted_account
    )
    # When the command comes, then the handler raises (Lambda retries it) and acts not
    with pytest.raises(FunctionError, match="under way"):
        send(gateway, event)
    assert stored(tenant.id, account_id)["status"] == "ACTIVE"
    # And the retry, once the lease is gone, acts: the failure was not remembered
    set_stored(tenant.id, account_id, lease_owner=None, lease_until=None)
    assert send(gateway, event)["outcome"] == "done"
    assert stored(tenant.id, account_id)["status"] == "INACTIVE"
