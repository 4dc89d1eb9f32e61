"""Settings read from the environment that template.yaml (or the local stack) sets."""

from __future__ import annotations

import os
from functools import cache
from typing import NamedTuple


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


# A NamedTuple, not a frozen dataclass: as immutable, and a quarter of the cost to define,
# which every function pays on a cold start (bench/cold_start.py).
class Settings(NamedTuple):
    table_name: str
    kms_key_id: str
    public_url: str
    # Local development and tests run OAuth servers on http://127.0.0.1; production never may.
    allow_http_loopback: bool
    http_timeout: float
    # The Keyfob bus: status changes are published to it. Empty (a process outside the
    # stack, such as keyfob-admin): nothing is published.
    event_bus: str = ""
    # The commands function's own: it has no request to learn the API's URL from.
    api_url: str = ""
    idempotency_table: str = ""
    commands_dead_letter_queue: str = ""
    # Consecutive failed refreshes after which an account is EXPIRED; with the backoff
    # below that is about two hours of a provider failing, not a blip.
    refresh_max_failures: int = 8
    refresh_backoff_seconds: int = 60
    refresh_backoff_max_seconds: int = 3600
    # Outlasts a refresh's worst case (its KMS call, the token call and the save, all with
    # time-outs), so that a live holder never loses its lease; a crashed one blocks no
    # longer than this.
    lease_seconds: int = 45
    lease_wait_seconds: float = 8.0
    # The scheduled run (every 5 minutes) refreshes what falls due within the next two runs.
    sweep_lookahead_seconds: int = 600
    sweep_concurrency: int = 32
    # The due index's shards (SweepShards in template.yaml), each worked by a worker
    # invocation of its own when the scheduled run hands them out through this queue;
    # without a queue (a process outside the stack), the run works them all itself.
    due_shards: int = 8
    sweep_queue_url: str = ""
    state_ttl_seconds: int = 600
    # A proxied call's whole upstream exchange (connect, send, the full answer), within
    # the function's timeout and API Gateway's 30 s.
    proxy_timeout_seconds: float = 20.0
    connect_link_ttl_seconds: int = 600
    # Webhooks: the delivery queue and its dead-letter queue; the waits between a
    # message's attempts (each with +-20% jitter, longer if the endpoint's Retry-After
    # says so): 8 attempts over about 27 hours. An endpoint failing every delivery for
    # a day is disabled. A rotated-out secret signs for a day beside the new one.
    webhook_queue_url: str = ""
    webhook_dead_letter_queue: str = ""
    webhook_retry_seconds: tuple[int, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
    webhook_disable_after_seconds: int = 86400
    webhook_rotation_overlap_seconds: int = 86400
    webhook_timeout_seconds: float = 10.0


@cache
def settings() -> Settings:
    return Settings(
        table_name=os.environ.get("KEYFOB_TABLE", ""),
        kms_key_id=os.environ.get("KEYFOB_KMS_KEY_ID", ""),
        public_url=os.environ.get("KEYFOB_PUBLIC_URL", "").rstrip("/"),
        allow_http_loopback=_flag("KEYFOB_ALLOW_HTTP_LOOPBACK"),
        http_timeout=float(os.environ.get("KEYFOB_HTTP_TIMEOUT", "10")),
        event_bus=os.environ.get("KEYFOB_EVENT_BUS", ""),
        api_url=os.environ.get("KEYFOB_API_URL", "").rstrip("/"),
        idempotency_table=os.environ.get("KEYFOB_IDEMPOTENCY_TABLE", ""),
        commands_dead_letter_queue=os.environ.get("KEYFOB_COMMANDS_DLQ_URL", ""),
        refresh_max_failures=int(os.environ.get("KEYFOB_REFRESH_MAX_FAILURES", "8")),
        lease_wait_seconds=float(os.environ.get("KEYFOB_LEASE_WAIT_SECONDS", "8")),
        sweep_concurrency=int(os.environ.get("KEYFOB_SWEEP_CONCURRENCY", "32")),
        due_shards=int(os.environ.get("KEYFOB_DUE_SHARDS") or "8"),
        sweep_queue_url=os.environ.get("KEYFOB_SWEEP_QUEUE_URL", ""),
        proxy_timeout_seconds=float(os.environ.get("KEYFOB_PROXY_TIMEOUT", "20")),
        webhook_queue_url=os.environ.get("KEYFOB_WEBHOOK_QUEUE_URL", ""),
        webhook_dead_letter_queue=os.environ.get("KEYFOB_WEBHOOK_DLQ_URL", ""),
        webhook_retry_seconds=tuple(
            int(s) for s in os.environ.get("KEYFOB_WEBHOOK_RETRY_SECONDS", "").split(",") if s
        )
        or Settings._field_defaults["webhook_retry_seconds"],
        webhook_disable_after_seconds=int(
            os.environ.get("KEYFOB_WEBHOOK_DISABLE_AFTER_SECONDS", "86400")
        ),
        webhook_timeout_seconds=float(os.environ.get("KEYFOB_WEBHOOK_TIMEOUT", "10")),
    )
