"""The scheduled run: send again the events EventBridge refused, refresh OAuth tokens
ahead of their expiry, and record abandoned attempts as EXPIRED.

The run fans out: the scheduled invocation hands each shard of the sparse ``due``
index to a worker invocation of its own, one SQS message per shard (the sweep queue),
so that throughput grows with the shard count and one slow provider holds back one
shard, not the rest. Without a queue (a process outside the stack) it works every
shard itself. A worker takes what is due from one Query of its shard (never a Scan),
soonest first. Accounts are worked on in bounded parallel: a pool of
``sweep_concurrency`` threads, with at most twice that many accounts in flight, so
memory stays flat however many are due. Each refresh takes the account's lease like
any other caller, so the run and API calls never refresh one account twice. The run
stops taking new work, and reading its shard, when its Lambda is close to its timeout;
what it leaves is still due, and the next run takes it first (``DueLeftForNextRun``
counts the refreshes put off for lack of time, and 1 for a shard left unread).
"""

from __future__ import annotations

import contextvars
import json
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from typing import Any

from keyfob.core import aws
from keyfob.core.config import settings
from keyfob.core.errors import NotFound
from keyfob.core.ids import iso, now
from keyfob.core.observability import logger, metrics
from keyfob.models.types import PENDING
from keyfob.services import events, grants, records, refresh
from keyfob.store import accounts

# Stop taking work this close to the Lambda's timeout. Each refresh checks again before
# it calls the provider (refresh.PROVIDER_CALL_MS), so the margin need only cover the
# accounts already queued for the threads.
STOP_MARGIN_MS = refresh.PROVIDER_CALL_MS + 5_000
# Re-sending recorded events (one KMS call each) stops once this little of the run is
# left, so that a backlog after an EventBridge outage never starves the refreshes.
RESEND_STOP_MS = 150_000

_OUTCOME_METRIC = {
    refresh.Outcome.REFRESHED: "TokensRefreshed",
    refresh.Outcome.CURRENT: "RefreshNotNeeded",
    refresh.Outcome.BUSY: "RefreshBusy",
    refresh.Outcome.FAILED: "RefreshFailed",
    refresh.Outcome.EXPIRED: "AccountsExpired",
    refresh.Outcome.DEFERRED: "DueLeftForNextRun",
}


def scheduled(remaining_ms: Callable[[], int]) -> dict[str, int]:
    """The scheduled invocation: events sent again, then every shard handed to a worker
    (or, without a sweep queue, worked here); its counts reported as metrics, logged."""
    counts = _resend(remaining_ms)
    shards = range(settings().due_shards)
    if settings().sweep_queue_url:
        counts["ShardsDispatched"] = _hand_out(shards)
    else:
        counts.update(run(remaining_ms, shards))
    return _report("scheduled run done", counts)


def worker(event: dict[str, Any], remaining_ms: Callable[[], int]) -> dict[str, int]:
    """A worker invocation (Lambda's SQS event): the shards its messages name, worked one
    after the other. It raises only if a shard's Query does: SQS delivers the message
    again, and the dead-letter queue takes it after a few tries."""
    counts: Counter[str] = Counter()
    for record in event["Records"]:
        counts.update(run(remaining_ms, [int(json.loads(record["body"])["shard"])]))
    return _report("sweep worker done", counts)


def _report(message: str, counts: Counter[str]) -> dict[str, int]:
    for name, value in counts.items():
        metrics.add_metric(name=name, unit="Count", value=value)
    logger.info(message, extra=dict(counts))
    return dict(counts)


def _hand_out(shards: range) -> int:
    """One message per shard on the sweep queue, ten to a SendMessageBatch. A shard
    handed out twice (a retried batch, overlapping runs) refreshes nothing twice: each
    refresh takes the account's lease, conditional on the account still being due."""
    queue = settings().sweep_queue_url
    for start in range(0, len(shards), 10):
        sent = aws.sqs().send_message_batch(
            QueueUrl=queue,
            Entries=[
                {"Id": str(n), "MessageBody": json.dumps({"shard": n})}
                for n in shards[start : start + 10]
            ],
        )
        if sent.get("Failed"):
            raise RuntimeError(f"{len(sent['Failed'])} shard(s) not handed out")
    return len(shards)


def run(remaining_ms: Callable[[], int], shards: Iterable[int]) -> Counter[str]:
    """The due work of these shards; returns how many accounts ended how (metric name ->
    count)."""
    config = settings()
    moment = now()
    horizon = iso(moment + timedelta(seconds=config.sweep_lookahead_seconds))
    counts: Counter[str] = Counter()
    seen: set[tuple[str, str]] = set()
    oldest = iso(moment)  # the earliest due time found: how far behind the sweep runs
    in_flight: set[Future[str]] = set()
    with (
        events.batched(),
        ThreadPoolExecutor(
            max_workers=config.sweep_concurrency, thread_name_prefix="sweep"
        ) as pool,
    ):
        for due in accounts.due(horizon, shards):
            key = (due.tenant_id, due.account_id)
            # Refreshes are taken ahead of time; expiries only once they are due.
            early = due.status in PENDING or not due.refreshable
            # A refreshed account can reappear further down its shard: once a run.
            if key in seen or (early and due.due_at > iso(now())):
                continue
            if remaining_ms() < STOP_MARGIN_MS:
                # Out of time: the rest stays due, and the next run takes it first. Not
                # read on to count it: on a backlog that would be a Query page per
                # thousand accounts left, past the Lambda's timeout on a large one.
                counts["DueLeftForNextRun"] += 1
                break
            seen.add(key)
            oldest = min(oldest, due.due_at)
            if len(in_flight) >= 2 * config.sweep_concurrency:
                done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                counts.update(f.result() for f in done)
            # Each in a copy of this context: the events it publishes join the batch.
            in_flight.add(
                pool.submit(contextvars.copy_context().run, _work, due, horizon, remaining_ms)
            )
        counts.update(f.result() for f in wait(in_flight).done)
    counts["DueAccounts"] = len(seen)
    lag = moment - datetime.fromisoformat(oldest)
    metrics.add_metric(name="SweepLagSeconds", unit="Seconds", value=lag.total_seconds())
    return counts


def _resend(remaining_ms: Callable[[], int]) -> Counter[str]:
    """Send recorded events again; never raises, so that the refreshes still run."""
    try:
        return events.resend_recorded(lambda: remaining_ms() < RESEND_STOP_MS)
    except Exception as exc:
        logger.error("re-sending recorded events failed", extra={"error_type": type(exc).__name__})
        return Counter({"SweepErrors": 1})


def _work(due: accounts.Due, horizon: str, remaining_ms: Callable[[], int]) -> str:
    """One account's work; never raises, so that one bad account cannot stop the run."""
    try:
        if due.status in PENDING:
            account = records.account(due.tenant_id, due.account_id, consistent=True)
            return "PendingExpired" if grants.expire_pending(account) else "RefreshNotNeeded"
        # Without a refresh token there is nothing to do before the token expires.
        due_by = horizon if due.refreshable else iso(now())
        result = refresh.refresh_due(due.tenant_id, due.account_id, due_by, remaining_ms)
        return _OUTCOME_METRIC[result.outcome]
    except NotFound:
        return "RefreshNotNeeded"  # deleted since the index listed it
    except Exception as exc:
        # The type only: a message could quote a provider's answer.
        logger.error(
            "scheduled work failed",
            extra={"connected_account_id": due.account_id, "error_type": type(exc).__name__},
        )
        return "SweepErrors"
