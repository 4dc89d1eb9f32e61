"""Tenants and their API keys. Keys are shown once and stored only as a SHA-256 hash.

A key carries 256 random bits, so a fast hash is enough: there is nothing to
brute-force, and the authorizer can look the hash up directly (no comparison of
secrets in our code, nothing to time).
"""

from __future__ import annotations

import hashlib
import secrets

from keyfob import store
from keyfob.ids import iso, new_id, now
from keyfob.models import TenantRecord

KEY_PREFIX = "kf_"


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def create_tenant(name: str, api_key: str | None = None) -> tuple[TenantRecord, str]:
    """Create a tenant; returns it with its API key, which is not stored anywhere."""
    key = api_key or new_api_key()
    if len(key) < 20:
        raise ValueError("an API key must be at least 20 characters")
    tenant = TenantRecord(id=new_id("tn"), name=name, api_key_prefix=key[:7], created_at=iso(now()))
    store.put_tenant(tenant, hash_api_key(key))
    return tenant, key


def tenant_for_api_key(api_key: str) -> str | None:
    if not api_key or len(api_key) > 256:
        return None
    return store.tenant_for_api_key(hash_api_key(api_key))
