"""The scheduled run: send again the events EventBridge refused, refresh OAuth tokens
ahead of their expiry, and record abandoned attempts as EXPIRED.

What is due comes from one Query per shard of the sparse ``due`` index (never a
Scan), soonest first. Accounts are worked on in bounded parallel: a pool of
``sweep_concurrency`` threads, with at most twice that many accounts in flight, so
memory stays flat however many are due. Each refresh takes the account's lease like
any other caller, so the run and API calls never refresh one account twice. The run
stops taking new work when its Lambda is close to its timeout; what it leaves is
still due, and the next run takes it first.
"""

from __future__ import annotations

import contextvars
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import timedelta

from keyfob import events, lifecycle, store, tokens
from keyfob.config import settings
from keyfob.errors import NotFound
from keyfob.ids import iso, now
from keyfob.models import PENDING
from keyfob.observability import logger

# Stop taking work this close to the Lambda's timeout. Each refresh checks again before
# it calls the provider (tokens.PROVIDER_CALL_MS), so the margin need only cover the
# accounts already queued for the threads.
STOP_MARGIN_MS = tokens.PROVIDER_CALL_MS + 5_000
# Re-sending recorded events (one KMS call each) stops once this little of the run is
# left, so that a backlog after an EventBridge outage never starves the refreshes.
RESEND_STOP_MS = 150_000

_OUTCOME_METRIC = {
    tokens.Outcome.REFRESHED: "TokensRefreshed",
    tokens.Outcome.CURRENT: "RefreshNotNeeded",
    tokens.Outcome.BUSY: "RefreshBusy",
    tokens.Outcome.FAILED: "RefreshFailed",
    tokens.Outcome.EXPIRED: "AccountsExpired",
    tokens.Outcome.DEFERRED: "DueLeftForNextRun",
}


def run(remaining_ms: Callable[[], int]) -> Counter[str]:
    """One scheduled run; returns how many accounts ended how (metric name -> count)."""
    config = settings()
    moment = now()
    horizon = iso(moment + timedelta(seconds=config.sweep_lookahead_seconds))
    counts = _resend(remaining_ms)
    seen: set[tuple[str, str]] = set()
    in_flight: set[Future[str]] = set()
    with (
        events.batched(),
        ThreadPoolExecutor(
            max_workers=config.sweep_concurrency, thread_name_prefix="sweep"
        ) as pool,
    ):
        for due in store.due_accounts(horizon):
            key = (due.tenant_id, due.account_id)
            # Refreshes are taken ahead of time; expiries only once they are due.
            early = due.status in PENDING or not due.refreshable
            # A refreshed account can reappear further down its shard: once a run.
            if key in seen or (early and due.due_at > iso(now())):
                continue
            if remaining_ms() < STOP_MARGIN_MS:
                counts["DueLeftForNextRun"] += 1
                continue
            seen.add(key)
            if len(in_flight) >= 2 * config.sweep_concurrency:
                done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                counts.update(f.result() for f in done)
            # Each in a copy of this context: the events it publishes join the batch.
            in_flight.add(
                pool.submit(contextvars.copy_context().run, _work, due, horizon, remaining_ms)
            )
        counts.update(f.result() for f in wait(in_flight).done)
    counts["DueAccounts"] = len(seen)
    return counts


def _resend(remaining_ms: Callable[[], int]) -> Counter[str]:
    """Send recorded events again; never raises, so that the refreshes still run."""
    try:
        return events.resend_recorded(lambda: remaining_ms() < RESEND_STOP_MS)
    except Exception as exc:
        logger.error("re-sending recorded events failed", extra={"error_type": type(exc).__name__})
        return Counter({"SweepErrors": 1})


def _work(due: store.Due, horizon: str, remaining_ms: Callable[[], int]) -> str:
    """One account's work; never raises, so that one bad account cannot stop the run."""
    try:
        if due.status in PENDING:
            account = store.get_account(due.tenant_id, due.account_id, consistent=True)
            return "PendingExpired" if lifecycle.expire_pending(account) else "RefreshNotNeeded"
        # Without a refresh token there is nothing to do before the token expires.
        due_by = horizon if due.refreshable else iso(now())
        result = tokens.refresh_due(due.tenant_id, due.account_id, due_by, remaining_ms)
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
