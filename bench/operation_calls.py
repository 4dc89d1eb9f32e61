"""The operations bench/aws_calls.py measures beside its main path: credential reads
with and without the data-key cache, the proxy, the MCP endpoint, a client-credentials
connection, the connect page and the scheduled run."""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import boto3
import requests

# Beside this script (make bench runs python bench/aws_calls.py).
from meter import counted, hit_rates

from devstack.gateway import Gateway
from devstack.oauth_provider import OAuthServer


def scheduled_run(gateway: Gateway) -> Counter[str]:
    """The scheduled function, then a worker for each shard it handed out (SQS calls are
    not counted: the queue's requests cost $0.40 per million, one per shard per run)."""
    counts = Counter(gateway.invoke("SweepFunction", {"detail-type": "Scheduled Event"}))
    sqs, url = boto3.client("sqs"), os.environ["KEYFOB_SWEEP_QUEUE_URL"]
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            worker = {"Records": [{"messageId": message["MessageId"], "body": message["Body"]}]}
            counts.update(gateway.invoke("SweepWorkerFunction", worker))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return counts


def credential_reads(
    results: dict[str, Counter[tuple[str, str]]], call: Callable[..., Any], account_id: str
) -> None:
    from keyfob.security import data_keys

    path = f"/v1/connected_accounts/{account_id}/credentials"
    data_keys.clear()
    with counted(results, "credentials, key not cached"):
        call("GET", path, 200)
    with counted(results, "credentials, key cached"):
        call("GET", path, 200)
    data_keys.clear()
    with counted(results, "credentials x10, cold cache"):
        for _ in range(10):
            call("GET", path, 200)
    hit_rates["ten reads of one account, cold cache"] = data_keys.stats.hit_rate


def proxy_calls(
    results: dict[str, Counter[tuple[str, str]]],
    call: Callable[..., Any],
    provider: OAuthServer,
    oauth_account_id: str,
    api_key_account: dict[str, Any],
) -> None:
    from keyfob.services import integration_secrets

    request = {"method": "GET", "path": "/me"}
    with counted(results, "proxy (API key)"):
        call("POST", f"/v1/connected_accounts/{api_key_account['id']}/proxy", 200, json=request)
    path = f"/v1/connected_accounts/{oauth_account_id}/proxy"
    with counted(results, "proxy (OAuth)"):
        call("POST", path, 200, json=request)
    token = call("GET", f"/v1/connected_accounts/{oauth_account_id}/credentials", 200)
    provider.revoke_access_token(token["credentials"]["access_token"])
    integration_secrets._cache.clear()
    with counted(results, "proxy, 401: refresh and retry"):
        answer = call("POST", path, 200, json=request)
    assert answer["status"] == 200, answer


def mcp_calls(
    results: dict[str, Counter[tuple[str, str]]],
    call: Callable[..., Any],
    base: str,
    account: dict[str, Any],
) -> None:
    with counted(results, "create agent key"):
        key = call("POST", "/v1/api_keys", 201, json={"entity_ids": [account["entity_id"]]})
    agent = requests.Session()
    agent.headers["Authorization"] = f"Bearer {key['api_key']}"
    agent.headers["Accept"] = "application/json, text/event-stream"

    def tool(name: str, arguments: dict[str, Any]) -> Any:
        params = {"name": name, "arguments": arguments}
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
        headers = {"MCP-Protocol-Version": "2025-11-25"}
        answer = agent.post(f"{base}/v1/mcp", json=body, headers=headers, timeout=30)
        assert answer.status_code == 200, answer.text
        assert not answer.json()["result"]["isError"], answer.text

    with counted(results, "MCP: list_connections"):
        tool("list_connections", {})
    request = {"connected_account_id": account["id"], "method": "GET", "path": "/me"}
    with counted(results, "MCP: call_api (API key)"):
        tool("call_api", request)


def machine_calls(
    results: dict[str, Counter[tuple[str, str]]],
    call: Callable[..., Any],
    provider: OAuthServer,
    make_due: Callable[[str], None],
) -> None:
    """A client credentials connection: the token bought at once, and bought again."""
    client_id, secret = provider.register_client(
        redirect_uris=[], grant_types=("client_credentials",)
    )
    integration = call(
        "POST",
        "/v1/integrations",
        201,
        json={
            "app": "oauth2",
            "auth_scheme": "OAUTH2_CLIENT_CREDENTIALS",
            "oauth": {"token_url": provider.token_url},
            "api": {"base_url": provider.api_url},
        },
    )
    body = {
        "integration_id": integration["id"],
        "entity_id": "bench-machine",
        "params": {"client_id": client_id, "client_secret": secret},
    }
    with counted(results, "initiate (client creds)"):
        account = call("POST", "/v1/connected_accounts", 201, json=body)
    make_due(account["id"])
    with counted(results, "credentials, client creds due"):
        call("GET", f"/v1/connected_accounts/{account['id']}/credentials", 200)


def connect_page_calls(
    results: dict[str, Counter[tuple[str, str]]],
    call: Callable[..., Any],
    base: str,
    provider: OAuthServer,
    integration_id: str,
) -> None:
    body = {
        "integration_id": integration_id,
        "entity_id": "bench-user",
        "redirect_url": "https://app.example.com/connected",
    }
    with counted(results, "create connect link"):
        link = call("POST", "/v1/connect_links", 201, json=body)
    browser = requests.Session()
    with counted(results, "connect page"):
        page = browser.get(link["url"], timeout=30)
    assert page.status_code == 200, page.text
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert csrf is not None
    form = {"csrf_token": csrf.group(1), "api_key": provider.register_api_key()}
    with counted(results, "connect page submit (API key)"):
        submitted = browser.post(
            link["url"],
            data=form,
            headers={"Sec-Fetch-Site": "same-origin"},
            allow_redirects=False,
            timeout=30,
        )
    assert submitted.status_code == 303, submitted.text
