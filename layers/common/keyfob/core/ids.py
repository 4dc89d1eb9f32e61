"""Identifiers and timestamps.

Ids are random (``secrets``), never time-derived: they appear in URLs and must not
be guessable. Timestamps are ISO 8601 UTC with microseconds, so they sort as strings.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import UTC, datetime


def new_id(prefix: str) -> str:
    # 120 random bits, lowercase base32: readable, URL-safe, no padding.
    return f"{prefix}_{base64.b32encode(secrets.token_bytes(15)).decode().lower()}"


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lookup_hash(secret: str) -> str:
    """What a random secret (an API key, an OAuth state, a confirmation code, a connect
    link's token) is stored and found under: its SHA-256. With 256 random bits there is
    nothing to brute-force, so a fast hash is enough, and a lookup by it compares no
    secret in our code."""
    return hashlib.sha256(secret.encode()).hexdigest()


def iso_epoch(epoch: float) -> str:
    return iso(datetime.fromtimestamp(epoch, UTC))
