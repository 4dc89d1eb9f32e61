"""Lambda SnapStart runtime hooks (``snapshot_restore_py``, part of the managed Python
runtime): what one snapshot must not hand to every environment restored from it.

Before the snapshot: no decrypted data key or client secret goes into it; botocore,
which a cold start imports with its first AWS client, is imported (init is free with
SnapStart, a restored function's first request is not). After each restore: fresh
random state, no AWS client (each holds the credentials and the connection pool of the
environment that made the snapshot, as does the commands function's idempotency store),
no outbound HTTP session (its pooled connections), no decrypted key or secret, no cached
settings. Everything is made again on first use, as on a cold start. Registered when
the handler decorator is imported, so every function has them; never called without
SnapStart.

A module that holds such state is reset only if this function loaded it: the hooks
import nothing (an import here would cost every cold start, one at restore the
restore).
"""

from __future__ import annotations

import random
import sys

from snapshot_restore_py import register_after_restore, register_before_snapshot

from keyfob.core.config import settings

# module -> its function that forgets what it holds
_SECRETS = {"keyfob.security.data_keys": "clear", "keyfob.services.integration_secrets": "forget"}
# module -> its function that loads, before the snapshot, what its first use would
_PRELOADS = {"keyfob.core.aws": "preload"}
_CONNECTIONS = {
    "keyfob.core.aws": "reset",
    "keyfob.security.http": "forget",
    "keyfob.services.commands": "forget_clients",
}


def _call(holders: dict[str, str]) -> None:
    for name, function in holders.items():
        module = sys.modules.get(name)
        if module is not None:
            getattr(module, function)()


def before_snapshot() -> None:
    _call(_SECRETS)
    _call(_PRELOADS)


def after_restore() -> None:
    # `secrets` reads the OS's entropy on each call; the `random` module (and anything
    # a library seeds from it) shares the snapshot's state until reseeded.
    random.seed()
    _call(_SECRETS)
    _call(_CONNECTIONS)
    settings.cache_clear()


register_before_snapshot(before_snapshot)
register_after_restore(after_restore)
