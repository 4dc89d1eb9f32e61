"""The keyfob command line against the real local stack: the README's walkthrough, JSON
output that is exactly the API's, exit codes, and the installed console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from devstack.gateway import Gateway
from devstack.oauth_provider import OAuthServer
from keyfob_client import Client
from tests.cli_run import Run
from tests.conftest import Api, Tenant
from tests.integration.client_flows import (
    APP_RETURN_URL,
    approve,
    approve_soon,
    oauth_integration,
)


@pytest.fixture
def keyfob(gateway: Gateway, tenant: Tenant) -> Callable[..., Run]:
    """Run the installed ``keyfob`` script, configured by the environment as a user would.

    A separate process: in this one the gateway's functions log to the same stdout."""
    script = Path(sys.executable).with_name("keyfob")
    env = {**os.environ, "KEYFOB_URL": gateway.url, "KEYFOB_API_KEY": tenant.api_key}

    def run(*argv: str, stdin: str = "") -> Run:
        result = subprocess.run(
            [str(script), *argv],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        return Run(result.returncode, result.stdout, result.stderr)

    return run


@pytest.fixture
def client(gateway: Gateway, tenant: Tenant) -> Client:
    """Sets the scene in-process, where the command under test needs no part of it."""
    return Client(gateway.url, tenant.api_key)


def _connected(client: Client, entity_id: str, count: int = 1) -> list[str]:
    integration = client.create_integration("openai", "API_KEY")
    return [
        client.initiate_connection(integration.id, entity_id, params={"api_key": f"k{i}"}).id
        for i in range(count)
    ]


def test_the_readme_walkthrough_connects_an_api_key_and_reads_it_back(
    keyfob: Callable[..., Run], api: Api
) -> None:
    # 1. What does Stripe need? Exactly what the API says.
    params = keyfob("apps", "params", "stripe", "--auth-scheme", "API_KEY", "-o", "json")
    assert params.json == api.get("/v1/apps/stripe/params?auth_scheme=API_KEY").json()
    # 2. An integration
    created = keyfob("integrations", "create", "--app", "stripe", "--auth-scheme", "API_KEY")
    assert created.code == 0
    integration_id = created.out.split("id: ", 1)[1].split()[0]
    # 3. The end user's key, from standard input: ACTIVE at once, the key printed nowhere
    #    (made up, so Stripe is not asked whether it is good)
    connected = keyfob(
        "accounts",
        "connect",
        integration_id,
        "cli-user-42",
        "--no-validate",
        "--param",
        "api_key=-",
        "-o",
        "json",
        stdin="sk_test_cli_123\n",
    )
    assert connected.code == 0, connected.err
    account = connected.json
    assert account["status"] == "ACTIVE"
    assert "sk_test_cli_123" not in connected.out + connected.err
    # 4. The entity's accounts as a table, then the credentials exactly as the API gives them
    listed = keyfob("accounts", "list", "--entity-id", "cli-user-42")
    assert listed.out.splitlines()[0].split()[:3] == ["ID", "ENTITY", "APP"]
    assert account["id"] in listed.out
    assert "sk_test_cli_123" not in listed.out
    credentials = keyfob("accounts", "credentials", account["id"], "-o", "json")
    assert credentials.json == api.get(f"/v1/connected_accounts/{account['id']}/credentials").json()
    assert credentials.json["credentials"] == {"api_key": "sk_test_cli_123"}
    events = keyfob("accounts", "events", account["id"])
    assert "type=Keyfob.ConnectionActivated" in events.out, events.out


def test_json_output_of_every_read_is_the_apis_json(
    keyfob: Callable[..., Run], api: Api, client: Client
) -> None:
    entity = "cli-json"
    (account_id,) = _connected(client, entity)
    integration_id = client.get_account(account_id).integration_id

    for argv, path in [
        (["apps", "get", "github"], "/v1/apps/github"),
        (["integrations", "get", integration_id], f"/v1/integrations/{integration_id}"),
        (["accounts", "get", account_id], f"/v1/connected_accounts/{account_id}"),
        (["accounts", "events", account_id], f"/v1/connected_accounts/{account_id}/events"),
        (["accounts", "list", "--entity-id", entity], f"/v1/connected_accounts?entity_id={entity}"),
    ]:
        assert keyfob(*argv, "-o", "json").json == api.get(path).json(), argv


def test_list_shows_a_page_and_all_follows_the_cursor(
    keyfob: Callable[..., Run], client: Client
) -> None:
    _connected(client, "cli-pages", count=3)

    one_page = keyfob("accounts", "list", "--entity-id", "cli-pages", "--limit", "2")
    everything = keyfob(
        "accounts", "list", "--entity-id", "cli-pages", "--limit", "2", "--all", "-o", "json"
    )

    assert len(one_page.out.splitlines()) == 3  # a header and two rows
    assert "--cursor" in one_page.err
    assert len(everything.json["items"]) == 3
    assert everything.json["next_cursor"] is None


def test_an_oauth_connection_with_wait_ends_active_once_the_user_approves(
    keyfob: Callable[..., Run], client: Client, oauth_server: OAuthServer
) -> None:
    oauth_server.reset()
    integration_id = oauth_integration(client, oauth_server)
    initiated = keyfob(
        "accounts", "connect", integration_id, "cli-alice", "--redirect-url", APP_RETURN_URL
    )
    assert "status: INITIATED" in initiated.out
    assert "open redirect_url" in initiated.err
    authorization_url = initiated.out.split("redirect_url: ", 1)[1].split()[0]
    account_id = initiated.out.split("id: ", 1)[1].split()[0]

    browser = approve_soon(authorization_url)
    waited = keyfob("accounts", "wait", account_id, "--interval", "0.1", "-o", "json")
    browser.join()

    assert waited.code == 0, waited.err
    assert waited.json["status"] == "ACTIVE"


def test_api_errors_exit_1_with_the_code_and_message(keyfob: Callable[..., Run]) -> None:
    missing = keyfob("accounts", "get", "ca_aaaaaaaaaaaaaaaaaaaaaaaa")
    refused = keyfob("--api-key", "kf_not_a_key_we_issued", "apps", "list")

    assert (missing.code, missing.out) == (1, "")
    assert missing.err.startswith(
        "connected_account_not_found: No connected account 'ca_aaaaaaaaaaaaaaaaaaaaaaaa'\n"
    )
    assert (refused.code, refused.err) == (1, "forbidden: Forbidden\n")


# --- after the core: the lifecycle, the proxy, connect links --------------------------


def _approved(client: Client, provider: OAuthServer, entity_id: str) -> str:
    started = client.initiate_connection(
        oauth_integration(client, provider), entity_id, redirect_url=APP_RETURN_URL
    )
    assert started.redirect_url is not None
    approve(started.redirect_url)
    return started.id


def test_refresh_disable_enable_and_delete_with_revocation(
    keyfob: Callable[..., Run], client: Client, oauth_server: OAuthServer
) -> None:
    oauth_server.reset()
    account_id = _approved(client, oauth_server, "cli-life")
    old = client.get_credentials(account_id).credentials["access_token"]

    refreshed = keyfob("accounts", "refresh", account_id, "-o", "json")
    assert refreshed.json["last_refreshed_at"]
    assert client.get_credentials(account_id).credentials["access_token"] != old

    assert keyfob("accounts", "disable", account_id, "-o", "json").json["status"] == "INACTIVE"
    refused = keyfob("accounts", "credentials", account_id)
    assert (refused.code, refused.err.split(":")[0]) == (1, "account_disabled")
    assert "status: ACTIVE" in keyfob("accounts", "enable", account_id).out

    deleted = keyfob("accounts", "delete", account_id, "-o", "json")
    assert deleted.json["revocation"] == {"status": "revoked", "message": None}
    assert len(oauth_server.revocations) == 1


def test_delete_no_revoke_skips_the_provider(
    keyfob: Callable[..., Run], client: Client, oauth_server: OAuthServer
) -> None:
    oauth_server.reset()
    account_id = _approved(client, oauth_server, "cli-keep")
    deleted = keyfob("accounts", "delete", account_id, "--no-revoke", "-o", "json")
    assert deleted.json["revocation"]["status"] == "skipped"
    assert oauth_server.revocations == []


def test_a_session_bound_integration_from_the_cli_then_reinitiate_and_confirm(
    keyfob: Callable[..., Run], client: Client, oauth_server: OAuthServer
) -> None:
    oauth_server.reset()
    client_id, client_secret = oauth_server.register_client(
        redirect_uris=[f"{client.base_url}/v1/oauth/callback"]
    )
    endpoints = {
        "authorization_url": oauth_server.authorization_url,
        "token_url": oauth_server.token_url,
        "token_endpoint_auth_method": "client_secret_basic",
    }
    created = keyfob(
        "integrations",
        "create",
        "--app",
        "oauth2",
        "--auth-scheme",
        "OAUTH2",
        "--credential",
        f"client_id={client_id}",
        "--credential",
        "client_secret=-",
        "--oauth",
        json.dumps(endpoints),
        "--api",
        json.dumps({"base_url": oauth_server.api_url}),
        "--require-confirmation",
        "-o",
        "json",
        stdin=client_secret + "\n",
    )
    assert created.code == 0, created.err
    assert created.json["require_confirmation"] is True
    assert created.json["api"]["base_url"] == oauth_server.api_url
    # The user denies at first: FAILED; reinitiated, the same account goes round again
    started = keyfob(
        "accounts",
        "connect",
        created.json["id"],
        "cli-bob",
        "--redirect-url",
        APP_RETURN_URL,
        "-o",
        "json",
    ).json
    oauth_server.deny_next_authorization = True
    assert approve(started["redirect_url"])["status"] == ["FAILED"]
    again = keyfob("accounts", "reinitiate", started["id"], "-o", "json").json
    assert (again["id"], again["status"]) == (started["id"], "INITIATED")
    code = approve(again["redirect_url"])["confirmation_code"][0]

    waited = keyfob("accounts", "wait", started["id"], "--wait-timeout", "1")
    confirmed = keyfob(
        "accounts", "confirm", started["id"], "--code", code, "--entity-id", "cli-bob", "-o", "json"
    )

    assert waited.code == 1
    assert "waiting for confirmation" in waited.err
    assert confirmed.json["status"] == "ACTIVE"


def test_proxy_prints_the_apps_answer(
    keyfob: Callable[..., Run], client: Client, oauth_server: OAuthServer
) -> None:
    oauth_server.reset()
    account_id = _approved(client, oauth_server, "cli-proxy")

    as_json = keyfob(
        "proxy",
        account_id,
        "post",
        "/v1/things",
        "--query",
        "tag=a",
        "--query",
        "tag=b",
        "--header",
        "X-Request-Id=r-1",
        "--data",
        '{"name": "thing"}',
        "-o",
        "json",
    )
    as_text = keyfob("proxy", account_id, "GET", "/user")

    assert as_json.code == 0, as_json.err
    assert (as_json.json["status"], as_json.json["body"]["path"]) == (200, "/v1/things")
    seen = oauth_server.api_requests[0]
    assert (seen["method"], seen["query"]) == ("POST", {"tag": ["a", "b"]})
    assert seen["headers"]["X-Request-Id"] == "r-1"
    assert seen["body"] == '{"name":"thing"}'
    assert json.loads(as_text.out)["login"] == "keyfob-tester"
    assert as_text.err == "upstream HTTP 200\n"


def test_connect_links_create_prints_the_link(keyfob: Callable[..., Run], client: Client) -> None:
    integration = client.create_integration("openai", "API_KEY")
    argv = ["connect-links", "create", integration.id, "cli-link", "--redirect-url", APP_RETURN_URL]

    as_json = keyfob(*argv, "--label", "via=cli", "-o", "json")
    as_text = keyfob(*argv)

    assert as_json.code == 0, as_json.err
    assert as_json.json["url"].startswith(f"{client.base_url}/v1/connect/")
    assert set(as_json.json) == {"id", "url", "expires_at"}
    assert "url: " in as_text.out
    assert "works once" in as_text.err
