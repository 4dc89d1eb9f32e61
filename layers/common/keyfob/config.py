"""Settings read from the environment that template.yaml (or the local stack) sets."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    table_name: str
    kms_key_id: str
    public_url: str
    # Local development and tests run OAuth servers on http://127.0.0.1; production never may.
    allow_http_loopback: bool
    http_timeout: float
    state_ttl_seconds: int = 600


@cache
def settings() -> Settings:
    return Settings(
        table_name=os.environ.get("KEYFOB_TABLE", ""),
        kms_key_id=os.environ.get("KEYFOB_KMS_KEY_ID", ""),
        public_url=os.environ.get("KEYFOB_PUBLIC_URL", "").rstrip("/"),
        allow_http_loopback=_flag("KEYFOB_ALLOW_HTTP_LOOPBACK"),
        http_timeout=float(os.environ.get("KEYFOB_HTTP_TIMEOUT", "10")),
    )
