"""Decrypted data keys held per warm instance, so that reading one account's secret
again within a few minutes makes no KMS call.

A bounded LRU with a short TTL (cachetools' TTLCache), keyed by the encrypted data key
and its KMS encryption context: an entry can only be found by a caller presenting the
very ciphertext KMS already decrypted under that very context, so the binding KMS
checked still holds. Keys are held in a wrapper whose repr hides them (never logged,
never in an error), and the whole cache is wiped on a SnapStart restore
(keyfob.core.restore): a snapshot's keys must not live on in every copy of it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from cachetools import TTLCache

# Short enough that a key disabled in KMS stops working here within minutes.
TTL_SECONDS = 300
MAX_KEYS = 1024

CacheKey = tuple[bytes, tuple[tuple[str, str], ...]]


@dataclass(frozen=True, slots=True)
class DataKey:
    """A plaintext data key that never shows itself in a repr, a log line or a traceback."""

    material: bytes = field(repr=False)

    def __repr__(self) -> str:
        return "DataKey(<hidden>)"


@dataclass
class Stats:
    hits: int = 0
    misses: int = 0

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


_cache: TTLCache[CacheKey, DataKey] = TTLCache(maxsize=MAX_KEYS, ttl=TTL_SECONDS)
# The scheduled run reads from a pool of threads; cachetools' caches are not thread-safe.
_lock = threading.Lock()
stats = Stats()


def _key(edk: bytes, context: Mapping[str, str]) -> CacheKey:
    return edk, tuple(sorted(context.items()))


def get(edk: bytes, context: Mapping[str, str]) -> bytes | None:
    with _lock:
        found = _cache.get(_key(edk, context))
        if found is None:
            stats.misses += 1
            return None
        stats.hits += 1
        return found.material


def put(edk: bytes, context: Mapping[str, str], key: bytes) -> None:
    with _lock:
        _cache[_key(edk, context)] = DataKey(key)


def clear() -> None:
    """Forget every key (after a SnapStart restore; tests)."""
    with _lock:
        _cache.clear()
        stats.hits = stats.misses = 0
