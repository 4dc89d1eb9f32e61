"""Lambda SnapStart runtime hooks (``snapshot_restore_py``, part of the managed Python
runtime): what one snapshot must not hand to every environment restored from it.

Before the snapshot: no decrypted key or secret goes into it. After each restore:
fresh random state, no AWS client (each holds the credentials and the connection pool
of the environment that made the snapshot), no outbound HTTP session (its pooled
connections), no decrypted data key or client secret, no cached settings. Everything
is made again on first use, as on a cold start. Registered when the handler decorator
is imported, so every function has them; harmless without SnapStart (never called).
The commands function's idempotency store registers its own (keyfob.services.commands).
"""

from __future__ import annotations

import random

from snapshot_restore_py import register_after_restore, register_before_snapshot

from keyfob.core import aws
from keyfob.core.config import settings
from keyfob.security import data_keys, http
from keyfob.services import integration_secrets


def forget_secrets() -> None:
    data_keys.clear()
    integration_secrets.forget()


def after_restore() -> None:
    # `secrets` reads the OS's entropy on each call; the `random` module (and anything
    # a library seeds from it) shares the snapshot's state until reseeded.
    random.seed()
    forget_secrets()
    settings.cache_clear()
    aws.reset()
    http.forget()


register_before_snapshot(forget_secrets)
register_after_restore(after_restore)
