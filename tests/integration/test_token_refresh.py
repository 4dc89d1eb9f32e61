"""Token refresh, end to end over loopback: the credentials and refresh routes through
the local gateway, the scheduled run invoked as EventBridge would, a moto server, and
the Authlib provider, whose token endpoint is watched to count refresh calls.

Time passing is played by moving an account's due time (or its token's expiry) into
the past in DynamoDB, as the clock would.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from devstack.gateway import Gateway
from devstack.oauth_provider import OAuthServer
from tests.conftest import Api, Tenant
from tests.integration.flows import (
    PAST,
    Started,
    connect,
    credentials,
    run_sweep,
    set_stored,
    stored,
)

# Each test starts with the provider forgetting every code, token and switch.
pytestmark = pytest.mark.usefixtures("provider")


def refreshes_of(oauth_server: OAuthServer, refresh_token: str) -> list[dict[str, Any]]:
    """The token-endpoint calls that refreshed this one refresh token."""
    return [
        r
        for r in oauth_server.token_requests
        if r["grant_type"] == "refresh_token" and r["form"]["refresh_token"] == refresh_token
    ]


def make_due(tenant: Tenant, started: Started) -> None:
    set_stored(tenant.id, started.account["id"], due_at=PAST)


def sweep(gateway: Gateway) -> dict[str, int]:
    return run_sweep(gateway)


# --- refresh before expiry, and forced -----------------------------------------------


def test_credentials_refresh_a_token_that_is_about_to_expire(
    api: Api, anonymous: Api, oauth_server: OAuthServer, tenant: Tenant
) -> None:
    # Given an ACTIVE account whose token falls within the refresh buffer
    started = connect(api, anonymous, oauth_server)
    account_id = started.account["id"]
    first = credentials(api, account_id)
    assert refreshes_of(oauth_server, first["refresh_token"]) == []  # not due yet
    make_due(tenant, started)
    # When the app reads its credentials
    fresh = credentials(api, account_id)
    # Then it gets a new token, refreshed with the old refresh token exactly once
    assert fresh["access_token"] != first["access_token"]
    assert fresh["access_token"] == oauth_server.issued_tokens[-1]["access_token"]
    assert len(refreshes_of(oauth_server, first["refresh_token"])) == 1
    # And the rotated refresh token is stored, the account shows when it was refreshed
    assert fresh["refresh_token"] == oauth_server.issued_tokens[-1]["refresh_token"]
    account = api.get(f"/v1/connected_accounts/{account_id}").json()
    assert account["status"] == "ACTIVE"
    assert account["last_refreshed_at"]
    assert account["token_expires_at"] == fresh["expires_at"]
    # And the next read is served from the store
    assert credentials(api, account_id)["access_token"] == fresh["access_token"]
    assert len(oauth_server.token_requests) == 2  # the code exchange and one refresh


def test_forced_refresh_gets_a_new_token_now(
    api: Api, anonymous: Api, oauth_server: OAuthServer
) -> None:
    started = connect(api, anonymous, oauth_server)
    account_id = started.account["id"]
    before = credentials(api, account_id)

    response = api.post(f"/v1/connected_accounts/{account_id}/refresh")

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ACTIVE"
    assert "access_token" not in response.text  # the view, never the secret
    assert credentials(api, account_id)["access_token"] != before["access_token"]
    assert len(refreshes_of(oauth_server, before["refresh_token"])) == 1


def test_concurrent_refreshes_make_exactly_one_token_endpoint_call(
    api: Api, anonymous: Api, oauth_server: OAuthServer, tenant: Tenant, gateway: Gateway
) -> None:
    # Given a due account, and a provider slow enough that every caller overlaps
    started = connect(api, anonymous, oauth_server)
    account_id = started.account["id"]
    old = credentials(api, account_id)
    callers = 12
    with ThreadPoolExecutor(callers) as pool:  # one warm Lambda environment per caller
        list(pool.map(lambda _: credentials(api, account_id), range(callers)))
    make_due(tenant, started)
    oauth_server.token_endpoint_delay = 0.6
    barrier = threading.Barrier(callers + 3)

    def read() -> tuple[int, str]:
        barrier.wait()
        response = api.get(f"/v1/connected_accounts/{account_id}/credentials")
        return response.status_code, response.json()["credentials"]["access_token"]

    def force() -> tuple[int, str]:
        barrier.wait()
        response = api.post(f"/v1/connected_accounts/{account_id}/refresh")
        return response.status_code, response.json()["status"]

    def scheduled() -> dict[str, int]:
        barrier.wait()
        return sweep(gateway)

    # When API reads, forced refreshes and the scheduled run all refresh it at once
    with ThreadPoolExecutor(callers + 3) as pool:
        reads = [pool.submit(read) for _ in range(callers)]
        forced = [pool.submit(force) for _ in range(2)]
        run = pool.submit(scheduled)
        results = [f.result() for f in reads]
        forced_results = [f.result() for f in forced]
        run.result()

    # Then the provider saw one refresh, and every reader got the one new token
    assert len(refreshes_of(oauth_server, old["refresh_token"])) == 1
    new_token = oauth_server.issued_tokens[-1]["access_token"]
    assert results == [(200, new_token)] * callers
    assert forced_results == [(200, "ACTIVE")] * 2
    assert api.get(f"/v1/connected_accounts/{account_id}").json()["refresh_failures"] == 0


# --- what providers leave out ----------------------------------------------------------


def test_refresh_without_a_new_refresh_token_keeps_the_old_one(
    api: Api, anonymous: Api, oauth_server: OAuthServer
) -> None:
    # Given a provider that does not rotate refresh tokens and leaves them out
    started = connect(api, anonymous, oauth_server)
    account_id = started.account["id"]
    original = credentials(api, account_id)["refresh_token"]
    oauth_server.omit_refresh_token = True
    # When the token is refreshed twice
    for _ in range(2):
        assert api.post(f"/v1/connected_accounts/{account_id}/refresh").status_code == 200
    # Then the refresh token kept working: it is still the one stored
    assert "refresh_token" not in oauth_server.issued_tokens[-1]
    assert credentials(api, account_id)["refresh_token"] == original
    assert len(refreshes_of(oauth_server, original)) == 2


def test_token_without_expires_in_never_expires_nor_refreshes(
    api: Api, anonymous: Api, oauth_server: OAuthServer, tenant: Tenant, gateway: Gateway
) -> None:
    oauth_server.omit_expires_in = True
    started = connect(api, anonymous, oauth_server)
    account_id = started.account["id"]
    assert "due_at" not in stored(tenant.id, account_id)

    for _ in range(3):
        assert credentials(api, account_id)["expires_at"] is None
    sweep(gateway)

    assert api.get(f"/v1/connected_accounts/{account_id}").json()["token_expires_at"] is None
    assert [r["grant_type"] for r in oauth_server.token_requests] == ["authorization_code"]


def test_short_lived_tokens_are_not_refreshed_on_every_read(
    api: Api, anonymous: Api, oauth_server: OAuthServer
) -> None:
    # Given tokens that live two minutes, less than the five-minute refresh buffer
    oauth_server.expires_in = 120
    started = connect(api, anonymous, oauth_server)
    # When the app reads its credentials again and again
    for _ in range(3):
        credentials(api, started.account["id"])
    # Then it refreshes halfway through a token's life at the earliest, not on each read
    assert [r["grant_type"] for r in oauth_server.token_requests] == ["authorization_code"]


# --- failures ----------------------------------------------------------------------


def test_invalid_grant_expires_the_account_with_a_reason(
    api: Api, anonymous: Api, oauth_server: OAuthServer, tenant: Tenant
) -> None:
    # Given an account whose grant the provider has forgotten (the user revoked it there)
    started = connect(api, anonymous, oauth_server)
    account_id = started.account["id"]
    oauth_server.reset()
    make_due(tenant, started)
    # When the app reads its credentials
    response = api.get(f"/v1/connected_accounts/{account_id}/credentials")
    # Then they are refused and the account is EXPIRED, saying why
    assert response.status_code == 409
    assert response.json()["error"]["details"]["status"] == "EXPIRED"
    account = api.get(f"/v1/connected_accounts/{account_id}").json()
    assert account["status"] == "EXPIRED"
    assert "invalid_grant" in account["status_reason"]
    # And a forced refresh is refused without calling the provider again
    calls = len(oauth_server.token_requests)
    assert api.post(f"/v1/connected_accounts/{account_id}/refresh").status_code == 409
    assert len(oauth_server.token_requests) == calls


def test_provider_5xx_leaves_the_account_active_and_it_is_retried(
    api: Api, anonymous: Api, oauth_server: OAuthServer, tenant: Tenant, gateway: Gateway
) -> None:
    # Given a due account and a provider failing with 503
    started = connect(api, anonymous, oauth_server)
    account_id = started.account["id"]
    old = credentials(api, account_id)
    make_due(tenant, started)
    oauth_server.token_endpoint_status = 503
    # When the app reads its credentials
    response = api.get(f"/v1/connected_accounts/{account_id}/credentials")
    # Then it gets the token it has (still valid), and the account stays ACTIVE
    assert response.status_code == 200
    assert response.json()["credentials"]["access_token"] == old["access_token"]
    account = api.get(f"/v1/connected_accounts/{account_id}").json()
    assert account["status"] == "ACTIVE"
    assert account["refresh_failures"] == 1
    assert "HTTP 503" in account["status_reason"]
    # And it backs off: the next read does not call the provider again
    credentials(api, account_id)
    assert len(refreshes_of(oauth_server, old["refresh_token"])) == 1
    retry_at = stored(tenant.id, account_id)["due_at"]
    assert retry_at > time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 30))
    # When the provider recovers and the retry falls due, the scheduled run refreshes it
    oauth_server.token_endpoint_status = None
    make_due(tenant, started)
    counts = sweep(gateway)
    assert counts["TokensRefreshed"] >= 1
    account = api.get(f"/v1/connected_accounts/{account_id}").json()
    assert account["refresh_failures"] == 0
    assert account["status_reason"] is None
    assert len(refreshes_of(oauth_server, old["refresh_token"])) == 2


def test_expired_token_with_a_failing_provider_is_a_retryable_503(
    api: Api, anonymous: Api, oauth_server: OAuthServer, tenant: Tenant
) -> None:
    started = connect(api, anonymous, oauth_server)
    account_id = started.account["id"]
    set_stored(tenant.id, account_id, due_at=PAST, token_expires_at=PAST)
    oauth_server.token_endpoint_status = 500

    response = api.get(f"/v1/connected_accounts/{account_id}/credentials")

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "refresh_failed"
    assert int(response.headers["Retry-After"]) > 0
    assert api.get(f"/v1/connected_accounts/{account_id}").json()["status"] == "ACTIVE"


def test_repeated_failures_past_the_threshold_expire_the_account(
    api: Api, anonymous: Api, oauth_server: OAuthServer, tenant: Tenant
) -> None:
    # Given an account that has failed to refresh seven times in a row (threshold 8)
    started = connect(api, anonymous, oauth_server)
    account_id = started.account["id"]
    set_stored(tenant.id, account_id, refresh_failures=7)
    oauth_server.token_endpoint_status = 502
    # When the eighth refresh fails too
    response = api.post(f"/v1/connected_accounts/{account_id}/refresh")
    # Then the account is EXPIRED with the reason
    assert response.status_code == 409
    account = api.get(f"/v1/connected_accounts/{account_id}").json()
    assert account["status"] == "EXPIRED"
    assert "8 times" in account["status_reason"]


def test_forced_refresh_failing_transiently_is_a_502_and_the_account_stays_active(
    api: Api, anonymous: Api, oauth_server: OAuthServer
) -> None:
    started = connect(api, anonymous, oauth_server)
    oauth_server.token_endpoint_delay = 4.0  # the tests' KEYFOB_HTTP_TIMEOUT is 1.5 s

    response = api.post(f"/v1/connected_accounts/{started.account['id']}/refresh")

    assert response.status_code == 502
    assert "timed out" in response.json()["error"]["message"]
    assert api.get(f"/v1/connected_accounts/{started.account['id']}").json()["status"] == "ACTIVE"


# --- leases ------------------------------------------------------------------------


def test_a_lease_held_too_long_is_a_503_and_not_a_credential_failure(
    api: Api, anonymous: Api, oauth_server: OAuthServer, tenant: Tenant
) -> None:
    # Given another instance holding the lease on a due account (for the next minute)
    started = connect(api, anonymous, oauth_server)
    account_id = started.account["id"]
    set_stored(
        tenant.id,
        account_id,
        due_at=PAST,
        lease_owner="another-instance",
        lease_until=int(time.time() * 1000) + 60_000,
    )
    # When the app asks for credentials and the holder never finishes
    response = api.get(f"/v1/connected_accounts/{account_id}/credentials")
    # Then it is told to retry (the tests wait 2 s), and nothing is held against the account
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "refresh_in_progress"
    assert response.headers["Retry-After"] == "1"
    account = api.get(f"/v1/connected_accounts/{account_id}").json()
    assert (account["status"], account["refresh_failures"]) == ("ACTIVE", 0)
    assert [r["grant_type"] for r in oauth_server.token_requests] == ["authorization_code"]


def test_a_crashed_holders_lease_lapses_and_the_next_caller_refreshes(
    api: Api, anonymous: Api, oauth_server: OAuthServer, tenant: Tenant
) -> None:
    started = connect(api, anonymous, oauth_server)
    account_id = started.account["id"]
    old = credentials(api, account_id)
    set_stored(
        tenant.id,
        account_id,
        due_at=PAST,
        lease_owner="crashed-instance",
        lease_until=int(time.time() * 1000) - 1,
    )

    fresh = credentials(api, account_id)

    assert fresh["access_token"] != old["access_token"]
    item = stored(tenant.id, account_id)
    assert "lease_owner" not in item
    assert "lease_until" not in item


# --- the scheduled run ---------------------------------------------------------------


def test_scheduled_run_refreshes_what_expires_soon_and_nothing_else(
    api: Api, anonymous: Api, oauth_server: OAuthServer, gateway: Gateway
) -> None:
    # Given one account whose token expires in 6 minutes and one in an hour
    oauth_server.expires_in = 360
    soon = connect(api, anonymous, oauth_server).account["id"]
    oauth_server.expires_in = 3600
    later = connect(api, anonymous, oauth_server).account["id"]
    soon_rt = credentials(api, soon)["refresh_token"]
    later_rt = credentials(api, later)["refresh_token"]
    # When the scheduled run runs
    counts = sweep(gateway)
    # Then it refreshed the first ahead of its expiry, not the second
    assert len(refreshes_of(oauth_server, soon_rt)) == 1
    assert refreshes_of(oauth_server, later_rt) == []
    assert counts["TokensRefreshed"] >= 1
    assert counts["DueAccounts"] >= 1
    # And a second run right after has nothing more to do for it
    rotated = credentials(api, soon)["refresh_token"]
    sweep(gateway)
    assert refreshes_of(oauth_server, rotated) == []


def test_disabled_account_is_not_refreshed_and_its_credentials_are_refused(
    api: Api, anonymous: Api, oauth_server: OAuthServer, tenant: Tenant, gateway: Gateway
) -> None:
    started = connect(api, anonymous, oauth_server)
    account_id = started.account["id"]
    assert api.post(f"/v1/connected_accounts/{account_id}/disable").status_code == 200

    assert api.get(f"/v1/connected_accounts/{account_id}/credentials").status_code == 409
    assert api.post(f"/v1/connected_accounts/{account_id}/refresh").status_code == 409
    sweep(gateway)

    assert [r["grant_type"] for r in oauth_server.token_requests] == ["authorization_code"]


def test_a_run_about_to_end_leaves_the_provider_alone_and_the_account_due(
    api: Api, anonymous: Api, oauth_server: OAuthServer, tenant: Tenant
) -> None:
    # Given a due account, and a scheduled run with less time left than a provider call
    # may take (stopped between the answer and the save, it would lose a rotated token)
    from keyfob.services import refresh as refresher

    started = connect(api, anonymous, oauth_server)
    account_id = started.account["id"]
    make_due(tenant, started)
    # When the run gets to it
    result = refresher.refresh_due(tenant.id, account_id, PAST, lambda: 5_000)
    # Then the provider is not called, the lease is let go, and it stays due
    assert result.outcome is refresher.Outcome.DEFERRED
    assert [r["grant_type"] for r in oauth_server.token_requests] == ["authorization_code"]
    item = stored(tenant.id, account_id)
    assert "lease_owner" not in item
    assert item["due_at"] == PAST


# --- a refresh URL apart from the token URL, and extra token and refresh params ------


def test_a_refresh_goes_to_the_refresh_url_with_the_refresh_params(
    api: Api, anonymous: Api, oauth_server: OAuthServer, tenant: Tenant
) -> None:
    # Given an integration whose provider refreshes at its own address, with extra params
    # for each request (as Basecamp's `type`), one of which tries to replace the grant
    oauth = {
        "refresh_url": f"{oauth_server.base_url}/refresh",
        "token_params": {"type": "web_server"},
        "refresh_params": {"type": "refresh", "grant_type": "password"},
    }
    started = connect(api, anonymous, oauth_server, oauth=oauth)
    first = credentials(api, started.account["id"])
    # When the token is due and the app reads its credentials
    make_due(tenant, started)
    fresh = credentials(api, started.account["id"])
    # Then the code went to the token URL with the token params, the refresh to the
    # refresh URL with the refresh params, and the grant stayed a refresh
    exchange, refresh = oauth_server.token_requests
    assert (exchange["path"], exchange["grant_type"]) == ("/token", "authorization_code")
    assert exchange["form"]["type"] == "web_server"
    assert (refresh["path"], refresh["grant_type"]) == ("/refresh", "refresh_token")
    assert refresh["form"]["type"] == "refresh"
    assert refresh["form"]["refresh_token"] == first["refresh_token"]
    assert fresh["access_token"] != first["access_token"]
