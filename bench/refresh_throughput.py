"""The scheduled refresh's throughput, fanned out: accounts per second against the
number of shards of the due index, each worked by a worker of its own.

For each shard count in BENCH_SHARDS (default "1,4"), seeds BENCH_ACCOUNTS (default
1,000) ACTIVE OAuth accounts whose tokens are due, spread over that many shards, then
starts one worker process per shard at once, as the sweep queue's messages would start
Lambda invocations, each running ``keyfob.services.sweep.run`` on its shard with a run's
budget (BENCH_RUN_SECONDS, default 300), and runs again until none is due. With
BENCH_BACKLOG=1 (``make bench-scale``: 100,000 accounts) the accounts are seeded once,
over the largest shard count, and each shard count gets one run on what is still due,
its workers splitting the seeded shards between them: a run on a backlog far larger than
it can finish, as a deployment that fell behind would see.

The AWS side is moto (DynamoDB and the rest in a process each, as the local stack runs
them), behind a layer that adds BENCH_AWS_LATENCY_MS (default 8) to every call, as AWS's
network and service time would; the provider is a minimal token endpoint that answers at
once (what is measured is Keyfob, not the provider), in a process of its own, and counts
a refresh token presented twice.

Prints per shard count: accounts per second, what was left due, AWS calls per account
and the provider's token calls. Rates are information, never a gate: on a shared 2-core
machine the emulators and the workers share the cores (moto spends about 7 ms of CPU on
an UpdateItem and 4 ms on a Decrypt), so more workers than cores stop scaling here as
they would not on AWS. What fails the bench are counts: a provider call other than
exactly one per account taken, a refresh token presented twice, more AWS calls per
account than budgeted, or (without a backlog) accounts still due after the runs.
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
# A run's budget (the worker's Lambda timeout), and how many runs at most before the
# bench gives up on a backlog.
RUN_BUDGET_MS = float(os.environ.get("BENCH_RUN_SECONDS", "300")) * 1000
MAX_RUNS = int(os.environ.get("BENCH_MAX_RUNS", "50"))
# One backlog for every shard count, one run each (make bench-scale: seeding 100,000
# accounts takes longer than a run); otherwise a fresh seed per shard count, drained.
BACKLOG = os.environ.get("BENCH_BACKLOG") == "1"
# Per account: the lease and the save; one Decrypt (the new token set reuses the data
# key); the Refreshed event, which a worker puts ten to a PutEvents. Plus, per worker,
# the integration's own read, a few Query pages of its shard, a last short PutEvents.
BUDGET_DYNAMODB, BUDGET_KMS, BUDGET_EVENTS = 2, 1, 0.1
PER_WORKER = 8

PARTS = ROOT / "bench" / "sweep_parts"
LAYER = ROOT / "layers" / "common"


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
    moto = [sys.executable, str(PARTS / "latent_moto.py")]
    processes = [
        start(*moto, str(dynamodb_port), str(LATENCY_MS), port=dynamodb_port),
        start(*moto, str(others_port), str(LATENCY_MS), port=others_port),
        start(
            sys.executable, str(PARTS / "token_provider.py"), str(provider_port), port=provider_port
        ),
    ]
    dynamodb, others = (f"http://127.0.0.1:{port}" for port in (dynamodb_port, others_port))
    provider = f"http://127.0.0.1:{provider_port}"
    try:
        print(
            f"scheduled refresh fanned out: {ACCOUNTS} due accounts, AWS calls +{LATENCY_MS:g} ms"
            f" (moto), a provider that answers at once, {WORKER_THREADS} threads a worker,"
            f" runs of {RUN_BUDGET_MS / 1000:g} s"
            + (", one run per shard count on one backlog" if BACKLOG else ", until none is due")
        )
        if BACKLOG:
            prepare(max(SHARD_COUNTS), dynamodb, others)
            seeded = timed_seed(provider)
            failures, due = [], ACCOUNTS
            for shards in SHARD_COUNTS:
                found, refreshed = measure(shards, provider, seeded, due, drain=False)
                failures, due = failures + found, due - refreshed
        else:
            failures = []
            for shards in SHARD_COUNTS:
                prepare(shards, dynamodb, others)
                failures += measure(shards, provider, timed_seed(provider), ACCOUNTS, drain=True)[0]
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


def prepare(shards: int, dynamodb: str, others: str) -> None:
    """Empty emulators, and this process's environment as the functions' with ``shards``."""
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
    if str(LAYER) not in sys.path:
        sys.path.insert(0, str(LAYER))
    from keyfob.core import aws
    from keyfob.core.config import settings

    settings.cache_clear()
    aws.reset()


def timed_seed(provider: str) -> float:
    started = time.monotonic()
    seed(f"{provider}/token")
    return time.monotonic() - started


def scheduled_run(workers: int, physical: int) -> dict[str, Any]:
    """One scheduled run: ``workers`` worker processes at once, as the sweep queue's
    messages start Lambda invocations, splitting the ``physical`` shards of the due index
    between them (as many as there are workers, but on one backlog seeded at the largest
    shard count); what they did, summed."""

    def worker(number: int) -> dict[str, Any]:
        shards = ",".join(str(s) for s in range(number, physical, workers))
        script = str(PARTS / "sweep_worker.py")
        argv = [sys.executable, script, shards, str(LAYER), str(RUN_BUDGET_MS)]
        out = subprocess.run(argv, capture_output=True, text=True, check=False)
        if out.returncode:
            raise RuntimeError(f"the worker of shards {shards} failed:\n{out.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        return result

    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(worker, range(workers)))
    return {
        "elapsed": max(r["end"] for r in results) - min(r["start"] for r in results),
        "counts": sum((Counter(r["counts"]) for r in results), Counter()),
        "calls": sum((Counter(r["calls"]) for r in results), Counter()),
    }


def measure(
    shards: int, provider: str, seeded: float, due: int, *, drain: bool
) -> tuple[list[str], int]:
    """Work the ``due`` accounts with ``shards`` workers: until none is due (``drain``), or
    one run; print what it did; the count failures, and how many it refreshed."""
    import requests

    physical = int(os.environ["KEYFOB_DUE_SHARDS"])
    before = requests.get(provider, timeout=10).json()
    runs = [scheduled_run(shards, physical)]
    while drain and runs[-1]["counts"]["DueLeftForNextRun"] and len(runs) < MAX_RUNS:
        runs.append(scheduled_run(shards, physical))
    after = requests.get(provider, timeout=10).json()
    provider_calls, reused = after["calls"] - before["calls"], after["reused"] - before["reused"]
    counts = sum((r["counts"] for r in runs), Counter())
    made = sum((r["calls"] for r in runs), Counter())
    elapsed = sum(r["elapsed"] for r in runs)
    refreshed, taken = counts["TokensRefreshed"], counts["DueAccounts"]
    # A run out of time stops reading its shard (DueLeftForNextRun counts only what it
    # took and put off, and 1 for the rest), and a refresh that failed backs off: what
    # is still due is counted from the seed.
    stopped, left = runs[-1]["counts"]["DueLeftForNextRun"], due - refreshed
    per = {service: made[service] / max(taken, 1) for service in ("dynamodb", "kms", "events")}
    print(
        f"  {shards:>3} shard(s): {refreshed} refreshed in {len(runs)} run(s), {elapsed:.0f} s"
        f" of work, {refreshed / elapsed:.1f} accounts/s, {left} still due"
        f" (seeded in {seeded:.0f} s); AWS calls per account taken: DynamoDB"
        f" {per['dynamodb']:.2f}, KMS {per['kms']:.2f}, EventBridge {per['events']:.2f};"
        f" provider token calls {provider_calls}, refresh tokens presented twice {reused}"
        f" ({json.dumps(counts)})"
    )
    failures = []
    # Never more than one call per account taken, and one for every refresh (a refresh that
    # failed before reaching the provider, a timeout under load, backs off and is retried
    # by a later run); never an account refreshed twice.
    if not refreshed <= provider_calls <= taken or reused or counts["SweepErrors"]:
        failures.append(
            f"{shards} shards: {provider_calls} provider calls ({reused} with a refresh"
            f" token presented before) for {taken} accounts taken ({refreshed} refreshed)"
        )
    if drain and (stopped or taken < ACCOUNTS):
        failures.append(f"{shards} shards: accounts still due after {len(runs)} runs")
    # Query pages: about a thousand due-index items fit DynamoDB's 1 MB page.
    listed = taken + sum(r["counts"]["DueLeftForNextRun"] for r in runs)
    started = len(runs) * shards
    if (
        made["dynamodb"] > BUDGET_DYNAMODB * taken + listed / 1000 + PER_WORKER * started
        or made["kms"] > BUDGET_KMS * taken + started
        or made["events"] > BUDGET_EVENTS * taken + started
    ):
        failures.append(f"{shards} shards: more AWS calls per account than budgeted")
    return failures, refreshed


if __name__ == "__main__":
    raise SystemExit(main())
