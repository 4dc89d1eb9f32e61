"""The scheduled refresh's throughput, fanned out: accounts per second against the
number of shards of the due index, each worked by a worker of its own.

For each shard count in BENCH_SHARDS (default "1,4"), seeds BENCH_ACCOUNTS (default
1,000) ACTIVE OAuth accounts whose tokens are due, spread over that many shards, then
starts one worker process per shard at once, as the sweep queue's messages would start
Lambda invocations, each running ``keyfob.services.sweep.run`` on its shard with a
run's 300 s budget. The AWS side is moto (DynamoDB and the rest in a process each),
behind a layer that adds BENCH_AWS_LATENCY_MS (default 8) to every call, as AWS's
network and service time would; the provider is a minimal token endpoint that answers
at once (what is measured is Keyfob, not the provider), in a process of its own.

Prints per shard count: accounts per second, AWS calls per account, and the provider's
token calls. Rates are information, never a gate: on a shared 2-core machine the
emulators and the workers share the cores, and more workers than cores stop scaling
here as they would not on AWS. What fails the bench are counts: a provider call other
than exactly one per due account, or more AWS calls per account than budgeted.
``make bench-scale`` runs 100,000 accounts (by hand: it takes long); ``make bench``
a small run.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "1000"))
SHARD_COUNTS = [int(n) for n in os.environ.get("BENCH_SHARDS", "1,4").split(",")]
LATENCY_MS = float(os.environ.get("BENCH_AWS_LATENCY_MS", "8"))
# Threads per worker (KEYFOB_SWEEP_CONCURRENCY; 32 on AWS). Here every worker shares two
# cores and one moto, whose Query of the due index reads the whole table: with many
# workers of 32 threads it answers past the SDK's 5 s timeout, which AWS would not.
WORKER_THREADS = os.environ.get("BENCH_WORKER_THREADS", "8")
RUN_BUDGET_MS = 300_000
# Per account: the lease and the save; one Decrypt (the new token set reuses the data
# key); the Refreshed event, which a worker puts ten to a PutEvents. Plus, per worker,
# the integration's own read, a few Query pages of its shard, a last short PutEvents.
BUDGET_DYNAMODB, BUDGET_KMS, BUDGET_EVENTS = 2, 1, 0.1
PER_WORKER = 8

# moto's server, every request held BENCH_AWS_LATENCY_MS first (threaded: calls overlap).
LATENT_MOTO = """
import logging, sys, time
from moto.moto_server import werkzeug_app as moto
from werkzeug.serving import run_simple

logging.getLogger("werkzeug").setLevel(logging.ERROR)
app = moto.DomainDispatcherApplication(moto.create_backend_app)
delay = float(sys.argv[2]) / 1000

def latent(environ, start_response):
    time.sleep(delay)
    return app(environ, start_response)

run_simple("127.0.0.1", int(sys.argv[1]), latent, threaded=True,
           request_handler=moto.MotoRequestHandler)
"""

# One sweep worker: one shard, as SweepWorkerFunction runs it; prints what it did.
WORKER = """
import json, sys, time
from collections import Counter
sys.path.insert(0, sys.argv[2])
from keyfob.core import aws
from keyfob.services import sweep

calls = Counter()
def count(model, **_):
    calls[model.service_model.service_name] += 1
for client in (aws.dynamodb(), aws.kms(), aws.events()):
    client.meta.events.register("before-call", count)
started = time.time()
deadline = time.monotonic() * 1000 + float(sys.argv[3])
counts = sweep.run(lambda: int(deadline - time.monotonic() * 1000), [int(sys.argv[1])])
print(json.dumps({"counts": counts, "calls": calls, "start": started, "end": time.time()}))
"""

PROVIDER = """
import json, secrets, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Token(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    calls = 0

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Token.calls += 1
        body = json.dumps({
            "access_token": secrets.token_urlsafe(24),
            "refresh_token": secrets.token_urlsafe(24),
            "token_type": "Bearer",
            "expires_in": 3600,
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        body = str(Token.calls).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Token)
server.daemon_threads = True
server.serve_forever()
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as attempt:
            if attempt.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def start(*argv: str, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(port)
    return process


def seed(token_url: str) -> tuple[str, str]:
    """A tenant, an integration with the fast provider, and ACCOUNTS due accounts."""
    from keyfob.core import aws
    from keyfob.core.ids import iso, new_id, now
    from keyfob.models.integrations import IntegrationCreate
    from keyfob.models.records.accounts import AccountRecord
    from keyfob.models.types import Status
    from keyfob.security import crypto
    from keyfob.services import integrations
    from keyfob.services.tenants import create_tenant
    from keyfob.store import accounts
    from keyfob.store.table import dump

    tenant, _ = create_tenant("bench")
    integration = integrations.create(
        tenant.id,
        IntegrationCreate.model_validate(
            {
                "app": "oauth2",
                "auth_scheme": "OAUTH2",
                "credentials": {"client_id": "bench", "client_secret": "bench-secret"},
                "oauth": {"authorization_url": token_url, "token_url": token_url},
            }
        ),
    )
    stamp = iso(now())

    def item(index: int) -> dict[str, Any]:
        account_id = new_id("ca")
        tokens = {
            "access_token": secrets.token_urlsafe(24),
            "refresh_token": secrets.token_urlsafe(24),
            "expires_at": stamp,
            "obtained_at": stamp,
        }
        record = AccountRecord(
            tenant_id=tenant.id,
            id=account_id,
            integration_id=integration.id,
            app="oauth2",
            auth_scheme="OAUTH2",
            entity_id=f"user-{index}",
            status=Status.ACTIVE,
            secret=crypto.seal_account(tokens, tenant_id=tenant.id, account_id=account_id),
            token_expires_at=stamp,
            refreshable=True,
            token_version=1,
            due_at=stamp,
            created_at=stamp,
            updated_at=stamp,
        )
        # The store's own item layout, written in batches: seeding 10,000 accounts one
        # transaction at a time would take longer than the run it prepares.
        return {"PutRequest": {"Item": dump(accounts._item(record))}}

    def write(start: int) -> None:
        batch = [item(i) for i in range(start, min(start + 25, ACCOUNTS))]
        while batch:
            response = aws.dynamodb().batch_write_item(RequestItems={table: batch})
            batch = response.get("UnprocessedItems", {}).get(table, [])

    table = os.environ["KEYFOB_TABLE"]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(write, range(0, ACCOUNTS, 25)))
    return tenant.id, integration.id


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    dynamodb_port, others_port, provider_port = free_port(), free_port(), free_port()
    latency = str(LATENCY_MS)
    processes = [
        start(sys.executable, "-c", LATENT_MOTO, str(dynamodb_port), latency, port=dynamodb_port),
        start(sys.executable, "-c", LATENT_MOTO, str(others_port), latency, port=others_port),
        start(sys.executable, "-c", PROVIDER, str(provider_port), port=provider_port),
    ]
    endpoints = [f"http://127.0.0.1:{port}" for port in (dynamodb_port, others_port)]
    try:
        print(
            f"scheduled refresh fanned out: {ACCOUNTS} due accounts, AWS calls +{LATENCY_MS:g} ms"
            f" (moto), a provider that answers at once, {WORKER_THREADS} threads a worker"
        )
        failures = [
            failure
            for shards in SHARD_COUNTS
            for failure in run(shards, *endpoints, f"http://127.0.0.1:{provider_port}")
        ]
    finally:
        for process in processes:
            stop(process)
    if failures:
        print("FAILED: " + "; ".join(failures))
        return 1
    return 0


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ask a helper process to end; one that does not within 10 s is killed."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run(shards: int, dynamodb: str, others: str, provider: str) -> list[str]:
    """Seed ACCOUNTS due accounts over ``shards`` shards, work every shard at once; the
    count failures."""
    import requests

    from devstack.moto_server import use_local_endpoint
    from devstack.resources import provision
    from devstack.template import ACCOUNT_ID, load_template

    for endpoint in (dynamodb, others):
        requests.post(f"{endpoint}/moto-api/reset", timeout=30)
    use_local_endpoint(others, dummy_credentials=True)
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = dynamodb  # boto3's per-service endpoint
    env = provision(load_template(ROOT / "template.yaml"), account_id=ACCOUNT_ID).function_env
    os.environ.update(
        env,
        KEYFOB_DUE_SHARDS=str(shards),
        KEYFOB_SWEEP_CONCURRENCY=WORKER_THREADS,
        KEYFOB_ALLOW_HTTP_LOOPBACK="true",
        POWERTOOLS_METRICS_DISABLED="true",
        POWERTOOLS_LOG_LEVEL="WARNING",
    )
    layer = str(ROOT / "layers" / "common")
    if layer not in sys.path:
        sys.path.insert(0, layer)
    from keyfob.core import aws
    from keyfob.core.config import settings

    settings.cache_clear()
    aws.reset()
    before = int(requests.get(provider, timeout=10).text)
    started = time.monotonic()
    seed(f"{provider}/token")
    seeded = time.monotonic() - started

    def worker(shard: int) -> dict[str, Any]:
        argv = [sys.executable, "-c", WORKER, str(shard), layer, str(RUN_BUDGET_MS)]
        out = subprocess.run(argv, capture_output=True, text=True, check=False)
        if out.returncode:
            raise RuntimeError(f"the worker of shard {shard} failed:\n{out.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        return result

    with ThreadPoolExecutor(shards) as pool:
        results = list(pool.map(worker, range(shards)))
    elapsed = max(r["end"] for r in results) - min(r["start"] for r in results)
    counts = sum((Counter(r["counts"]) for r in results), Counter())
    made = sum((Counter(r["calls"]) for r in results), Counter())
    provider_calls = int(requests.get(provider, timeout=10).text) - before
    refreshed, due = counts["TokensRefreshed"], counts["DueAccounts"]
    per = {service: made[service] / ACCOUNTS for service in ("dynamodb", "kms", "events")}
    print(
        f"  {shards:>3} shard(s): {refreshed} of {ACCOUNTS} refreshed in {elapsed:.1f} s,"
        f" {refreshed / elapsed:.0f} accounts/s (seeded in {seeded:.0f} s);"
        f" AWS calls per account: DynamoDB {per['dynamodb']:.2f}, KMS {per['kms']:.2f},"
        f" EventBridge {per['events']:.2f}; provider token calls {provider_calls}"
        f" ({json.dumps(dict(counts))})"
    )
    failures = []
    # Never more than one call per due account, and one for every refresh (a refresh that
    # failed before reaching the provider, a timeout under load, is retried next run).
    if not refreshed <= provider_calls <= due or due != ACCOUNTS:
        failures.append(
            f"{shards} shards: {provider_calls} provider calls for {due} due accounts"
            f" ({refreshed} refreshed)"
        )
    if (
        made["dynamodb"] > BUDGET_DYNAMODB * ACCOUNTS + PER_WORKER * shards
        or made["kms"] > BUDGET_KMS * ACCOUNTS + shards
        or made["events"] > BUDGET_EVENTS * ACCOUNTS + shards
    ):
        failures.append(f"{shards} shards: more AWS calls per account than budgeted")
    return failures


if __name__ == "__main__":
    raise SystemExit(main())
