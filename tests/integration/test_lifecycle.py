"""A connected account's lifecycle over the local gateway: delete with revocation at the
provider, disable and enable, pending attempts that lapse, reinitiate, the upstream
identity, and session-bound connections with their confirmation (and the attack it
defeats)."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
import requests

from devstack.gateway import Gateway
from devstack.oauth_provider import TEST_USER, OAuthServer
from tests.conftest import Api, Tenant
from tests.integration.flows import (
    authorize,
    callback,
    connect,
    credentials,
    keyed_integration,
    query_of,
    run_sweep,
    set_stored,
    start,
    stored,
)

# Each test starts with the provider forgetting every code, token and switch.
pytestmark = pytest.mark.usefixtures("provider")


def account(api: Api, account_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/connected_accounts/{account_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


# --- delete ------------------------------------------------------------------------


def test_delete_revokes_the_grant_at_the_provider_then_deletes_the_account(
    api: Api, anonymous: Api, oauth_server: OAuthServer, tenant: Tenant
) -> None:
    # Given an ACTIVE OAuth account
    started = connect(api, anonymous, oauth_server)
    account_id = started.account["id"]
    issued = credentials(api, account_id)
    before = api.get(f"/v1/integrations/{started.integration_id}").json()["account_count"]
    # When the app deletes it
    response = api.delete(f"/v1/connected_accounts/{account_id}")
    # Then the provider saw its refresh token revoked (RFC 7009), which ends the grant
    assert response.status_code == 200, response.text
    assert response.json() == {
        "id": account_id,
        "deleted": True,
        "revocation": {"status": "revoked", "message": None},
    }
    assert oauth_server.revocations == [issued["refresh_token"]]
    # And the account and its secrets are gone, and the integration counts one fewer
    assert api.get(f"/v1/connected_accounts/{account_id}").status_code == 404
    assert api.get(f"/v1/connected_accounts/{account_id}/credentials").status_code == 404
    after = api.get(f"/v1/integrations/{started.integration_id}").json()["account_count"]
    assert after == before - 1
    # And deleting again is a 404
    assert api.delete(f"/v1/connected_accounts/{account_id}").status_code == 404


def test_delete_with_revoke_false_leaves_the_grant_alone(
    api: Api, anonymous: Api, oauth_server: OAuthServer
) -> None:
    account_id = connect(api, anonymous, oauth_server).account["id"]

    response = api.delete(f"/v1/connected_accounts/{account_id}", params={"revoke": "false"})

    assert response.json()["revocation"]["status"] == "skipped"
    assert oauth_server.revocations == []
    assert api.get(f"/v1/connected_accounts/{account_id}").status_code == 404


def test_delete_uses_the_providers_own_revocation_call(
    api: Api, anonymous: Api, oauth_server: OAuthServer
) -> None:
    # Given a provider that revokes with its own call: a bearer POST (like Slack's)
    own_call = {"url": f"{oauth_server.api_url}/auth.revoke", "token_in": "bearer"}
    started = connect(
        api, anonymous, oauth_server, oauth={"revocation_url": None, "revocation": own_call}
    )
    access_token = credentials(api, started.account["id"])["access_token"]

    response = api.delete(f"/v1/connected_accounts/{started.account['id']}")

    assert response.json()["revocation"]["status"] == "revoked"
    (call,) = oauth_server.api_requests
    assert (call["method"], call["path"]) == ("POST", "/auth.revoke")
    assert call["headers"]["Authorization"] == f"Bearer {access_token}"


def test_an_own_call_revoking_an_expired_access_token_refreshes_it_first(
    api: Api, anonymous: Api, oauth_server: OAuthServer, tenant: Tenant
) -> None:
    # Given a provider revoking with the access token (Dropbox's call), which has expired
    own_call = {"url": f"{oauth_server.api_url}/revoke", "token_in": "bearer"}
    started = connect(
        api, anonymous, oauth_server, oauth={"revocation_url": None, "revocation": own_call}
    )
    set_stored(tenant.id, started.account["id"], token_expires_at="2000-01-01T00:00:00.000000Z")
    # When the account is deleted
    response = api.delete(f"/v1/connected_accounts/{started.account['id']}")
    # Then a fresh access token was revoked, not the dead one
    assert response.json()["revocation"]["status"] == "revoked"
    assert [r["grant_type"] for r in oauth_server.token_requests][-1] == "refresh_token"
    (call,) = oauth_server.api_requests
    fresh = oauth_server.issued_tokens[-1]["access_token"]
    assert call["headers"]["Authorization"] == f"Bearer {fresh}"


def test_a_failed_revocation_is_reported_and_the_account_still_deleted(
    api: Api, anonymous: Api, oauth_server: OAuthServer
) -> None:
    own_call = {"url": f"{oauth_server.api_url}/revoke", "token_in": "form"}
    started = connect(
        api, anonymous, oauth_server, oauth={"revocation_url": None, "revocation": own_call}
    )
    oauth_server.api_status = 503

    response = api.delete(f"/v1/connected_accounts/{started.account['id']}")

    assert response.status_code == 200
    assert response.json()["revocation"] == {
        "status": "failed",
        "message": "revocation endpoint returned HTTP 503",
    }
    assert api.get(f"/v1/connected_accounts/{started.account['id']}").status_code == 404


def test_delete_of_a_pending_or_api_key_account_needs_no_revocation(
    api: Api, oauth_server: OAuthServer
) -> None:
    pending = start(api, oauth_server).account["id"]
    response = api.delete(f"/v1/connected_accounts/{pending}")
    assert response.json()["revocation"]["status"] == "not_needed"

    integration = api.post(
        "/v1/integrations", json={"app": "openai", "auth_scheme": "API_KEY"}
    ).json()["id"]
    keyed = api.post(
        "/v1/connected_accounts?validate=false",
        json={"integration_id": integration, "entity_id": "ann", "params": {"api_key": "sk-1"}},
    ).json()["id"]
    response = api.delete(f"/v1/connected_accounts/{keyed}")
    assert response.json()["revocation"]["status"] == "not_supported"
    assert api.delete(f"/v1/integrations/{integration}").status_code == 204


def test_another_tenant_can_neither_delete_nor_change_an_account(
    api: Api, other_api: Api, anonymous: Api, oauth_server: OAuthServer
) -> None:
    account_id = connect(api, anonymous, oauth_server).account["id"]
    base = f"/v1/connected_accounts/{account_id}"

    assert other_api.delete(base).status_code == 404
    for action in ("disable", "enable", "refresh", "reinitiate"):
        assert other_api.post(f"{base}/{action}").status_code == 404, action
    confirm = other_api.post(f"{base}/confirm", json={"code": "x", "entity_id": "user-1"})
    assert confirm.status_code == 404
    assert account(api, account_id)["status"] == "ACTIVE"
    assert oauth_server.revocations == []


# --- disable and enable ------------------------------------------------------------


def test_disable_keeps_the_secret_but_refuses_it_until_enabled(
    api: Api, anonymous: Api, oauth_server: OAuthServer
) -> None:
    account_id = connect(api, anonymous, oauth_server).account["id"]
    token = credentials(api, account_id)["access_token"]

    disabled = api.post(f"/v1/connected_accounts/{account_id}/disable")
    assert disabled.status_code == 200
    assert disabled.json()["status"] == "INACTIVE"
    refused = api.get(f"/v1/connected_accounts/{account_id}/credentials")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "account_disabled"
    assert api.post(f"/v1/connected_accounts/{account_id}/disable").status_code == 200

    enabled = api.post(f"/v1/connected_accounts/{account_id}/enable")
    assert enabled.json()["status"] == "ACTIVE"
    assert credentials(api, account_id)["access_token"] == token


def test_only_active_accounts_can_be_disabled_and_only_disabled_ones_enabled(
    api: Api, oauth_server: OAuthServer
) -> None:
    pending = start(api, oauth_server).account["id"]
    assert api.post(f"/v1/connected_accounts/{pending}/disable").status_code == 409
    response = api.post(f"/v1/connected_accounts/{pending}/enable")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "account_not_disabled"


# --- pending attempts lapse --------------------------------------------------------


def test_an_abandoned_attempt_is_expired_when_read_and_recorded_by_the_scheduled_run(
    api: Api, oauth_server: OAuthServer, tenant: Tenant, gateway: Gateway
) -> None:
    # Given an INITIATED account whose ten minutes are over (DynamoDB's TTL has not run)
    started = start(api, oauth_server, entity_id="abandoner")
    account_id = started.account["id"]
    set_stored(tenant.id, account_id, pending_until=int(time.time()) - 1)
    # Then it reads as EXPIRED at once, and lists under EXPIRED, not INITIATED
    shown = account(api, account_id)
    assert (shown["status"], shown["status_reason"]) == (
        "EXPIRED",
        "authorization was not completed in time",
    )

    def listed(status: str) -> list[str]:
        query = {"entity_id": "abandoner", "status": status}
        return [a["id"] for a in api.get("/v1/connected_accounts", params=query).json()["items"]]

    assert listed("EXPIRED") == [account_id]
    assert listed("INITIATED") == []
    # When the scheduled run has seen it due
    set_stored(tenant.id, account_id, due_at="2000-01-01T00:00:00.000000Z")
    counts = run_sweep(gateway)
    # Then EXPIRED is stored, and it has left the due index
    assert counts["PendingExpired"] >= 1
    item = stored(tenant.id, account_id)
    assert item["status"] == "EXPIRED"
    assert "due_at" not in item
    assert "due_shard" not in item


# --- reinitiate --------------------------------------------------------------------


def test_reinitiate_gives_a_failed_account_a_new_attempt_with_the_same_id(
    api: Api, anonymous: Api, oauth_server: OAuthServer
) -> None:
    # Given an account whose user denied access
    started = start(api, oauth_server)
    account_id = started.account["id"]
    oauth_server.deny_next_authorization = True
    callback(anonymous, authorize(started))
    assert account(api, account_id)["status"] == "FAILED"
    # When the app reinitiates it, with a new place to come back to
    response = api.post(
        f"/v1/connected_accounts/{account_id}/reinitiate",
        json={"redirect_url": "https://app.example.com/again"},
    )
    # Then it is INITIATED again under the same id, with a new authorization URL
    assert response.status_code == 200, response.text
    again = response.json()
    assert (again["id"], again["status"], again["status_reason"]) == (
        account_id,
        "INITIATED",
        None,
    )
    assert query_of(again["redirect_url"])["state"] != started.state
    # And completing it makes the account ACTIVE and sends the browser to the new place
    started.account = again
    done = callback(anonymous, authorize(started))
    assert done.headers["Location"].startswith("https://app.example.com/again?")
    assert account(api, account_id)["status"] == "ACTIVE"
    # And the old attempt's state can no longer be used
    assert api.post(f"/v1/connected_accounts/{account_id}/reinitiate").status_code == 409


def test_reinitiate_takes_a_lapsed_attempt_too(
    api: Api, oauth_server: OAuthServer, tenant: Tenant
) -> None:
    account_id = start(api, oauth_server).account["id"]
    set_stored(tenant.id, account_id, pending_until=int(time.time()) - 1)

    response = api.post(f"/v1/connected_accounts/{account_id}/reinitiate")

    assert response.status_code == 200, response.text
    assert response.json()["redirect_url"].startswith(oauth_server.authorization_url)
    assert account(api, account_id)["status"] == "INITIATED"


# --- proof of identity -------------------------------------------------------------


def test_oauth_activation_records_the_upstream_account(
    api: Api, anonymous: Api, oauth_server: OAuthServer
) -> None:
    identity = {"path": "/me", "id_field": "id", "name_field": "login"}
    started = connect(
        api,
        anonymous,
        oauth_server,
        api_settings={"base_url": oauth_server.api_url, "identity": identity},
    )

    shown = account(api, started.account["id"])

    assert shown["upstream_account_id"] == TEST_USER["id"]
    assert shown["upstream_display_name"] == TEST_USER["login"]
    (asked,) = oauth_server.api_requests
    assert asked["headers"]["Authorization"].startswith("Bearer ")
    listed = api.get("/v1/connected_accounts", params={"entity_id": "user-1"}).json()["items"]
    assert any(a["upstream_account_id"] == TEST_USER["id"] for a in listed)


def test_an_identity_call_that_fails_does_not_fail_the_connection(
    api: Api, anonymous: Api, oauth_server: OAuthServer
) -> None:
    oauth_server.api_status = 500
    started = connect(
        api,
        anonymous,
        oauth_server,
        api_settings={
            "base_url": oauth_server.api_url,
            "identity": {"path": "/me", "id_field": "id"},
        },
    )
    shown = account(api, started.account["id"])
    assert (shown["status"], shown["upstream_account_id"]) == ("ACTIVE", None)


# --- session binding ---------------------------------------------------------------


def bound(api: Api, anonymous: Api, oauth_server: OAuthServer, entity_id: str) -> dict[str, str]:
    """A session-bound connection for ``entity_id`` through its callback: what the app's
    redirect_url receives."""
    started = start(api, oauth_server, entity_id=entity_id, require_confirmation=True)
    response = callback(anonymous, authorize(started))
    assert response.status_code == 302, response.text
    back = query_of(response.headers["Location"])
    assert back["status"] == "AWAITING_CONFIRMATION"
    return back


def test_session_bound_connection_is_active_only_once_confirmed(
    api: Api, anonymous: Api, oauth_server: OAuthServer
) -> None:
    # Given a connection whose callback has run
    back = bound(api, anonymous, oauth_server, "bound-alice")
    account_id = back["connected_account_id"]
    # Then it is waiting, with no credentials yet
    assert account(api, account_id)["status"] == "AWAITING_CONFIRMATION"
    assert api.get(f"/v1/connected_accounts/{account_id}/credentials").status_code == 409
    # When the app confirms the code for the entity that arrived with it
    response = api.post(
        f"/v1/connected_accounts/{account_id}/confirm",
        json={"code": back["confirmation_code"], "entity_id": "bound-alice"},
    )
    # Then it is ACTIVE, and the code cannot be used again
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ACTIVE"
    assert credentials(api, account_id)["access_token"]
    again = api.post(
        f"/v1/connected_accounts/{account_id}/confirm",
        json={"code": back["confirmation_code"], "entity_id": "bound-alice"},
    )
    assert again.status_code == 409


def test_connect_link_sent_to_a_victim_is_refused_and_its_grant_revoked(
    api: Api, anonymous: Api, oauth_server: OAuthServer
) -> None:
    # Given an attacker who started a connection for their own entity and sent the
    # authorization link to a victim, who approved it with the victim's account: the
    # callback delivered the code to the app's redirect_url, in the victim's session
    back = bound(api, anonymous, oauth_server, "attacker")
    account_id = back["connected_account_id"]
    victims_refresh_token = oauth_server.issued_tokens[-1]["refresh_token"]
    # When the app confirms it for the entity whose session received it, the victim
    response = api.post(
        f"/v1/connected_accounts/{account_id}/confirm",
        json={"code": back["confirmation_code"], "entity_id": "victim"},
    )
    # Then it is refused, the account fails for good, and the victim's grant is revoked
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "entity_mismatch"
    shown = account(api, account_id)
    assert shown["status"] == "FAILED"
    assert "another entity" in shown["status_reason"]
    assert oauth_server.revocations == [victims_refresh_token]
    # And the attacker's entity never gets the victim's tokens, not even with the code
    assert api.get(f"/v1/connected_accounts/{account_id}/credentials").status_code == 409
    retry = api.post(
        f"/v1/connected_accounts/{account_id}/confirm",
        json={"code": back["confirmation_code"], "entity_id": "attacker"},
    )
    assert retry.status_code == 409
    assert account(api, account_id)["status"] == "FAILED"


def test_a_wrong_confirmation_code_changes_nothing(
    api: Api, anonymous: Api, oauth_server: OAuthServer
) -> None:
    back = bound(api, anonymous, oauth_server, "bound-bob")
    account_id = back["connected_account_id"]

    response = api.post(
        f"/v1/connected_accounts/{account_id}/confirm",
        json={"code": "guessed-code", "entity_id": "bound-bob"},
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_confirmation_code"
    assert account(api, account_id)["status"] == "AWAITING_CONFIRMATION"


def test_an_unconfirmed_connection_lapses_and_loses_its_tokens(
    api: Api, anonymous: Api, oauth_server: OAuthServer, tenant: Tenant, gateway: Gateway
) -> None:
    back = bound(api, anonymous, oauth_server, "bound-carol")
    account_id = back["connected_account_id"]
    refresh_token = oauth_server.issued_tokens[-1]["refresh_token"]
    set_stored(
        tenant.id,
        account_id,
        pending_until=int(time.time()) - 1,
        due_at="2000-01-01T00:00:00.000000Z",
    )

    late = api.post(
        f"/v1/connected_accounts/{account_id}/confirm",
        json={"code": back["confirmation_code"], "entity_id": "bound-carol"},
    )
    assert late.status_code == 410
    run_sweep(gateway)

    item = stored(tenant.id, account_id)
    assert item["status"] == "EXPIRED"
    assert "secret" not in item
    assert refresh_token in oauth_server.revocations


def test_session_binding_needs_a_redirect_url(api: Api, oauth_server: OAuthServer) -> None:
    with pytest.raises(AssertionError, match="invalid_redirect_url"):
        start(api, oauth_server, redirect_url=None, require_confirmation=True)


def test_session_binding_is_for_oauth_integrations_only(api: Api) -> None:
    response = api.post(
        "/v1/integrations",
        json={"app": "openai", "auth_scheme": "API_KEY", "require_confirmation": True},
    )
    assert response.status_code == 422


# --- secrets stay out of the logs --------------------------------------------------


def test_no_secret_reaches_the_logs_across_the_lifecycle(
    api: Api,
    anonymous: Api,
    oauth_server: OAuthServer,
    tenant: Tenant,
    gateway: Gateway,
    keyfob_logs: io.StringIO,
    capfd: pytest.CaptureFixture[str],
) -> None:
    # Given every path that logs around a secret: refreshes (due, forced, failing,
    # refused), revocation on delete, a refused confirmation, key verification, the proxy
    started = start(api, oauth_server, require_confirmation=True, entity_id="logged")
    back = query_of(callback(anonymous, authorize(started)).headers["Location"])
    api.post(
        f"/v1/connected_accounts/{started.account['id']}/confirm",
        json={"code": back["confirmation_code"], "entity_id": "someone-else"},
    )
    account_id = connect(api, anonymous, oauth_server).account["id"]
    set_stored(tenant.id, account_id, due_at="2000-01-01T00:00:00.000000Z")
    credentials(api, account_id)
    api.post(f"/v1/connected_accounts/{account_id}/refresh")
    oauth_server.token_endpoint_status = 503
    api.post(f"/v1/connected_accounts/{account_id}/refresh")
    oauth_server.token_endpoint_status = None
    run_sweep(gateway)
    api.delete(f"/v1/connected_accounts/{account_id}")
    expired = connect(api, anonymous, oauth_server).account["id"]
    issued = list(oauth_server.issued_tokens)
    oauth_server.reset()  # the provider forgets the grant: invalid_grant
    api.post(f"/v1/connected_accounts/{expired}/refresh")
    keyed = keyed_integration(api, oauth_server, "mistral")

    def connect_key(key: str) -> requests.Response:
        body = {"integration_id": keyed, "entity_id": "logged", "params": {"api_key": key}}
        return api.post("/v1/connected_accounts", json=body)

    good_key = oauth_server.register_api_key()
    proxied = connect_key(good_key).json()["id"]
    rejected = connect_key("sk-rejected-key-0000")
    api.post(f"/v1/connected_accounts/{proxied}/proxy", json={"method": "GET", "path": "/me"})
    # Then none of those secrets is in anything Keyfob logged
    out, err = capfd.readouterr()
    logs = keyfob_logs.getvalue() + out + err
    assert '"message":"token refreshed"' in logs  # the logs were captured
    assert '"message":"token refresh failed"' in logs
    assert rejected.status_code == 422
    secrets_used = [t[k] for t in issued for k in ("access_token", "refresh_token") if k in t]
    secrets_used += [started.client_secret, back["confirmation_code"], good_key]
    secrets_used += ["sk-rejected-key-0000", started.state]
    for secret in secrets_used:
        assert secret not in logs
