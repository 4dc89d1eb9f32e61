"""AWS calls per operation, counted with botocore's event hooks.

Webhooks' calls are bench/webhook_calls.py's (an endpoint made, one event delivered).

Runs the real functions through the local gateway against a moto server, with the
local stack's OAuth 2.0 server (devstack.oauth_provider) as the provider, and counts
every DynamoDB, KMS and EventBridge call each operation makes (a status change
publishes one event, with nothing else on the path that succeeds). Exits non-zero if
any count exceeds its budget, so a change that adds a call to a hot path fails CI.

Then prints what each operation costs per million at AWS list prices (bench/costs.py),
from those calls and its measured duration, the data-key cache's hit rate, and a
credential read on a cold and a warm instance against AgentCore Identity's price.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3

# bench/costs.py: beside this script, on the path when it runs.
import costs
import requests

# Beside this script (make bench runs python bench/aws_calls.py).
from meter import attach, counted, hit_rates, measured
from operation_calls import (
    connect_page_calls,
    credential_reads,
    machine_calls,
    mcp_calls,
    proxy_calls,
    scheduled_run,
)
from webhook_calls import BUDGETS as WEBHOOK_BUDGETS
from webhook_calls import webhook_calls

from devstack.gateway import Gateway
from devstack.moto_server import EmbeddedAWS, use_local_endpoint
from devstack.oauth_provider import OAuthServer
from devstack.resources import provision
from devstack.template import load_template

ROOT = Path(__file__).resolve().parent.parent

# operation -> (max DynamoDB calls, max KMS calls, max EventBridge PutEvents)
BUDGETS: dict[str, tuple[int, int, int]] = {
    "create integration (OAuth)": (1, 1, 0),
    # Every status change but a refresh keeps an entry in the account's history: one
    # PutItem more than the change itself.
    "initiate (OAuth)": (3, 0, 1),
    "initiate (API key)": (3, 1, 1),
    "callback, cold instance": (4, 2, 1),
    "callback, warm instance": (3, 1, 1),
    "list, first page": (1, 0, 0),
    "list, next page": (1, 0, 0),
    "get account": (1, 0, 0),
    # The account's record (its last refresh) and one Query of its history.
    "account events": (2, 0, 0),
    "credentials": (1, 1, 0),
    # A read whose data key this instance does not hold (every read before the cache),
    # then one whose key it holds; then ten in a row on a cold cache: one Decrypt.
    "credentials, key not cached": (1, 1, 0),
    "credentials, key cached": (1, 0, 0),
    "credentials x10, cold cache": (10, 1, 0),
    # GetItem, the lease, the save; one Decrypt: the new tokens reuse the data key.
    "credentials, token due": (3, 1, 1),
    "refresh (forced)": (3, 1, 1),
    # The Query per outbox shard (events to send again) and per due shard, then the
    # lease and the save for the one account due.
    "scheduled run, one due": (14, 1, 1),
    "disable": (2, 0, 1),
    "enable": (4, 0, 1),
    "delete, revoking": (2, 1, 1),
    # The sender's tenant, the idempotency record written and completed, the
    # integration, the new account, its history entry.
    "command: initiate (OAuth)": (6, 0, 1),
    # GetItem of the account and of the integration (its API base URL); one Decrypt.
    "proxy (API key)": (2, 1, 0),
    "proxy (OAuth)": (2, 1, 0),
    # ... and on the app's 401: the lease, the integration's client secret (a cold
    # instance), the save; the token set decrypted again under the lease; Refreshed.
    "proxy, 401: refresh and retry": (5, 3, 1),
    # The integration read (is it the tenant's?), the link written.
    "create connect link": (2, 0, 0),
    # The link and its integration.
    "connect page": (2, 0, 0),
    # The link, the integration, then one transaction: account, count, link used up;
    # Activated and its history entry.
    "connect page submit (API key)": (4, 1, 1),
    # Client credentials: as an API key's (the token bought at the provider is sealed
    # with the client secret in one data key), and its history entry.
    "initiate (client creds)": (3, 1, 1),
    # ... bought again when due: as an OAuth refresh, plus the integration's first read
    # on this instance (it has no secret: no KMS call).
    "credentials, client creds due": (4, 1, 1),
    # The key's two items in one transaction.
    "create agent key": (1, 0, 0),
    # At the MCP endpoint, whose authorizer caches nothing: its GetItem of the key each
    # time; then the entity's index, and the call's AgentActivity event.
    "MCP: list_connections": (2, 0, 1),
    # ... the account (is it the entity's?), then the proxy's reads and Decrypt.
    "MCP: call_api (API key)": (4, 1, 1),
    **WEBHOOK_BUDGETS,
}
COUNTED = {"dynamodb": "DynamoDB", "kms": "KMS", "events": "EventBridge"}


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    template = ROOT / "template.yaml"
    provider = OAuthServer().start()
    try:
        with EmbeddedAWS() as aws:
            use_local_endpoint(aws.endpoint_url, dummy_credentials=True)
            os.environ.update(KEYFOB_ALLOW_HTTP_LOOPBACK="true", POWERTOOLS_METRICS_DISABLED="true")
            env = provision(load_template(template), endpoint_url=aws.endpoint_url).function_env
            # In the functions' environment: the gateway puts it in place when it starts.
            env["POWERTOOLS_LOG_LEVEL"] = "WARNING"
            os.environ.update(env)
            with Gateway(template, env) as gateway:
                os.environ["KEYFOB_PUBLIC_URL"] = gateway.url
                results = run(gateway, provider)
    finally:
        provider.stop()
    return report(results)


def run(gateway: Gateway, provider: OAuthServer) -> dict[str, Counter[tuple[str, str]]]:
    from keyfob.core import aws
    from keyfob.services import integration_secrets
    from keyfob.services.tenants import allow_aws_account, create_tenant

    base = gateway.url
    tenant, key = create_tenant("bench")
    # Time passing, played behind Keyfob's back with a client of its own (not counted).
    clock = boto3.client("dynamodb")

    def make_due(account_id: str) -> None:
        clock.update_item(
            TableName=os.environ["KEYFOB_TABLE"],
            Key={"pk": {"S": f"TENANT#{tenant.id}"}, "sk": {"S": f"ACCOUNT#{account_id}"}},
            UpdateExpression="SET due_at = :past",
            ExpressionAttributeValues={":past": {"S": "2000-01-01T00:00:00.000000Z"}},
        )

    attach(aws.dynamodb(), aws.kms(), aws.events())
    session = requests.Session()
    session.headers["x-api-key"] = key

    def call(method: str, path: str, expect: int, **kwargs: Any) -> Any:
        response = session.request(method, base + path, timeout=30, allow_redirects=False, **kwargs)
        assert response.status_code == expect, (path, response.status_code, response.text)
        return response.json() if "json" in response.headers.get("Content-Type", "") else None

    call("GET", "/v1/apps", 200)  # the authorizer's answer is cached from here on
    results: dict[str, Counter[tuple[str, str]]] = {}
    client_id, client_secret = provider.register_client(redirect_uris=[f"{base}/v1/oauth/callback"])
    with counted(results, "create integration (OAuth)"):
        integration = call(
            "POST",
            "/v1/integrations",
            201,
            json={
                "app": "oauth2",
                "auth_scheme": "OAUTH2",
                "credentials": {"client_id": client_id, "client_secret": client_secret},
                "oauth": {
                    "authorization_url": provider.authorization_url,
                    "token_url": provider.token_url,
                    "revocation_url": provider.revocation_url,
                    "token_endpoint_auth_method": "client_secret_basic",
                },
                "api": {"base_url": provider.api_url},
            },
        )

    def connect(label: str, before_callback: Callable[[], None]) -> str:
        with counted(results, "initiate (OAuth)"):
            account = call(
                "POST",
                "/v1/connected_accounts",
                201,
                json={"integration_id": integration["id"], "entity_id": "bench-user"},
            )
        browser = requests.get(account["redirect_url"], allow_redirects=False, timeout=10)
        parts = urlsplit(browser.headers["Location"])
        before_callback()
        with counted(results, label):
            call("GET", f"{parts.path}?{parts.query}", 200, headers={"Accept": "text/html"})
        return str(account["id"])

    connect("callback, cold instance", integration_secrets._cache.clear)
    account_id = connect("callback, warm instance", lambda: None)

    # The key is verified with the app's identity call: the provider's resource API here.
    api_key_integration = call(
        "POST",
        "/v1/integrations",
        201,
        json={"app": "mistral", "auth_scheme": "API_KEY", "api": {"base_url": provider.api_url}},
    )
    with counted(results, "initiate (API key)"):
        api_key_account = call(
            "POST",
            "/v1/connected_accounts",
            201,
            json={
                "integration_id": api_key_integration["id"],
                "entity_id": "bench-user",
                "params": {"api_key": provider.register_api_key()},
            },
        )
    with counted(results, "list, first page"):
        page = call("GET", "/v1/connected_accounts?entity_id=bench-user&limit=2", 200)
    next_page = {"entity_id": "bench-user", "cursor": page["next_cursor"]}
    with counted(results, "list, next page"):
        call("GET", "/v1/connected_accounts", 200, params=next_page)
    with counted(results, "get account"):
        call("GET", f"/v1/connected_accounts/{account_id}", 200)
    with counted(results, "account events"):
        call("GET", f"/v1/connected_accounts/{account_id}/events", 200)
    with counted(results, "credentials"):
        call("GET", f"/v1/connected_accounts/{account_id}/credentials", 200)
    credential_reads(results, call, account_id)
    make_due(account_id)
    with counted(results, "credentials, token due"):
        call("GET", f"/v1/connected_accounts/{account_id}/credentials", 200)
    with counted(results, "refresh (forced)"):
        call("POST", f"/v1/connected_accounts/{account_id}/refresh", 200)
    make_due(account_id)
    with counted(results, "scheduled run, one due"):
        counts = scheduled_run(gateway)
    assert counts["TokensRefreshed"] == 1, counts
    proxy_calls(results, call, provider, account_id, api_key_account)
    mcp_calls(results, call, base, api_key_account)
    connect_page_calls(results, call, base, provider, api_key_integration["id"])
    machine_calls(results, call, provider, make_due)
    webhook_calls(results, counted, call, gateway, tenant.id)
    with counted(results, "disable"):
        call("POST", f"/v1/connected_accounts/{account_id}/disable", 200)
    with counted(results, "enable"):
        call("POST", f"/v1/connected_accounts/{account_id}/enable", 200)
    with counted(results, "delete, revoking"):
        deleted = call("DELETE", f"/v1/connected_accounts/{account_id}", 200)
    assert deleted["revocation"]["status"] == "revoked", deleted

    allow_aws_account(tenant.id, "111122223333")
    command = {
        "version": "0",
        "id": "bench-command-1",
        "detail-type": "Keyfob.InitiateConnection",
        "source": "bench",
        "account": "111122223333",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [],
        "detail": {"integration_id": integration["id"], "entity_id": "bench-user"},
    }
    gateway.invoke("CommandsFunction", {**command, "id": "bench-warm-up"})
    with counted(results, "command: initiate (OAuth)"):
        outcome = gateway.invoke("CommandsFunction", command)
    assert outcome["outcome"] == "done", outcome
    return results


def report(results: dict[str, Counter[tuple[str, str]]]) -> int:
    print("AWS calls per operation (budget in brackets)")
    print(f"{'operation':<30}" + "".join(f"{label:>13}" for label in COUNTED.values()) + "  calls")
    failures = []
    for name, budgets in BUDGETS.items():
        counter = results[name]
        row = f"{name:<30}"
        for service, budget in zip(COUNTED, budgets, strict=True):
            made = sum(n for (called, _), n in counter.items() if called == service)
            row += f"{f'{made} [{budget}]':>13}"
            if made > budget and name not in failures:
                failures.append(name)
        detail = ", ".join(f"{op}x{n}" for (_, op), n in sorted(counter.items()))
        print(f"{row}  {detail}")
    if failures:
        print(f"FAILED: over budget: {', '.join(failures)}")
        return 1
    print("all operations within budget")
    print_costs()
    return 0


def print_costs() -> None:
    from keyfob.security import data_keys

    print("\nCost per million operations, USD at list prices (bench/costs.py)")
    print(
        f"{'operation':<30}{'ms':>7}{'HTTP API':>10}{'Lambda':>9}{'DynamoDB':>10}"
        f"{'KMS':>7}{'Events':>8}{'total':>8}"
    )
    totals = {}
    for name in BUDGETS:
        consumed, ms = measured[name]
        runs = 10 if name.endswith("x10, cold cache") else 1
        per_run = Counter({unit: n / runs for unit, n in consumed.items()})
        scheduled = name.startswith(("scheduled", "command"))
        one = costs.cost(per_run, ms / runs, 1024 if scheduled else 512, via_api=not scheduled)
        totals[name] = one.total
        print(
            f"{name:<30}{ms / runs:7.1f}"
            + "".join(
                f"{value * 1e6:{width}.2f}"
                for value, width in zip(
                    (one.http_api, one.lambda_, one.dynamodb, one.kms, one.events, one.total),
                    (10, 9, 10, 7, 8, 8),
                    strict=True,
                )
            )
        )
    # The authorizer's answer is cached per key for 5 minutes: not counted per request.
    print(
        f"\ndata-key cache hit rate: {data_keys.stats.hit_rate:.0%} over the whole run; "
        + ", ".join(f"{k}: {v:.0%}" for k, v in hit_rates.items())
    )
    before, after = (totals[f"credentials, key {s}"] * 1e6 for s in ("not cached", "cached"))
    agentcore = costs.AGENTCORE_IDENTITY_REQUEST * 1e6
    print(
        f"credential read per million: ${before:.2f} with a KMS call (every read before"
        f" the cache), ${after:.2f} warm: {after / before:.0%} of it (target 40%)"
    )
    print(
        f"AgentCore Identity: ${agentcore:.2f} per million token requests: Keyfob's warm"
        f" read {after / agentcore:.0%} of it, a read with a KMS call {before / agentcore:.0%}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
