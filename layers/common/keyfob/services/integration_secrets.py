"""An integration with its decrypted client secret, for the calls that authenticate as
the developer's client (the callback's exchange, refreshes, revocations)."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from keyfob.services import records

if TYPE_CHECKING:
    from keyfob.auth.base import Context
    from keyfob.models.mcp import Grant
    from keyfob.models.records.integrations import IntegrationRecord

_CACHE_SECONDS = 300


class WithSecret(NamedTuple):
    record: IntegrationRecord
    client_secret: str
    oauth_client_secret: str
    until: float

    def context(self, params: Mapping[str, str], grant: Grant | None = None) -> Context:
        """What an auth family needs to act for one of its connections (a remote MCP
        server's: with the authorization server its attempt went to)."""
        from keyfob.auth.base import Context

        return Context(
            self.record,
            params,
            self.client_secret,
            grant,
            oauth_client_secret=self.oauth_client_secret,
        )


_cache: dict[tuple[str, str], WithSecret] = {}
# The scheduled run's threads all want the same few integrations at once: one fetches.
_cache_lock = threading.Lock()


def with_secret(tenant_id: str, integration_id: str) -> WithSecret:
    """The integration and its decrypted client secret. Integrations are immutable and
    cannot be deleted while they have accounts, so a warm instance may keep both for a
    few minutes: callbacks, refreshes and revocations then cost no KMS call for it."""
    key = (tenant_id, integration_id)
    cached = _cache.get(key)
    if cached and cached.until > time.monotonic():
        return cached
    with _cache_lock:
        cached = _cache.get(key)
        if cached and cached.until > time.monotonic():
            return cached
        from keyfob.security import crypto

        record = records.integration(tenant_id, integration_id)
        held = {}
        if record.secret is not None:
            held = crypto.decrypt(
                record.secret, tenant_id=tenant_id, record=f"INTEGRATION#{record.id}"
            )
        cached = WithSecret(
            record,
            str(held.get("client_secret", "")),
            str(held.get("oauth_client_secret", "")),
            time.monotonic() + _CACHE_SECONDS,
        )
        _cache[key] = cached
        return cached


def forget() -> None:
    """Drop every cached secret (a SnapStart restore)."""
    with _cache_lock:
        _cache.clear()
