"""Outbound HTTP to providers and apps: one pooled ``requests`` session per thread, every
connection of which reaches public addresses only (keyfob.security.egress).

The scheduled run refreshes many accounts in parallel threads; a session each keeps
their connections alive without sharing one session's state across threads.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from keyfob.core.config import settings

if TYPE_CHECKING:
    import requests

_local = threading.local()


class _PathWithheld(logging.Filter):
    """urllib3 logs each request's line at DEBUG, its path and query included: either may
    carry a credential (Telegram's /bot<token>, an API key parameter). Withheld."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                "/[withheld]" if isinstance(arg, str) and arg.startswith("/") else arg
                for arg in record.args
            )
        return True


_WITHHELD = _PathWithheld()
# Where urllib3 names a request's URL: its request lines, and its retries'.
_REQUEST_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry")


def session() -> requests.Session:
    current: requests.Session | None = getattr(_local, "session", None)
    if current is None:
        import requests

        from keyfob.security import egress

        for name in _REQUEST_LOGGERS:
            logging.getLogger(name).addFilter(_WITHHELD)

        current = egress.guard(requests.Session())
        _local.session = current
    return current


def forget() -> None:
    """Drop this thread's session and its pooled connections (a SnapStart restore: the
    scheduled run's pool threads are gone with the snapshot's environment anyway)."""
    current: requests.Session | None = getattr(_local, "session", None)
    if current is not None:
        current.close()
        _local.session = None


def timeout() -> tuple[float, float]:
    """(connect, read) seconds for every provider call."""
    return 3.05, settings().http_timeout
