"""The store's errors in the API's words. Every service reads through ``records`` or
wraps its own store call in ``translated``, so that a missing account reads the same
wherever it is missed. Apart from the readers: a function that stores no account does
not load the accounts' store to say that something is missing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from keyfob.core.errors import Malformed, NotFound
from keyfob.store.errors import InvalidCursor, ItemNotFound

_MISSING = {
    "tenant": ("tenant_not_found", "No tenant {id!r}", "tenant_id"),
    "integration": ("integration_not_found", "No integration {id!r}", "integration_id"),
    "account": (
        "connected_account_not_found",
        "No connected account {id!r}",
        "connected_account_id",
    ),
    "webhook": ("webhook_not_found", "No webhook endpoint {id!r}", "webhook_id"),
    "attempt": ("attempt_not_found", "No delivery attempt {id!r}", "attempt_id"),
}


def not_found(missing: ItemNotFound) -> NotFound:
    code, message, field = _MISSING[missing.kind]
    return NotFound(code, message.format(id=missing.item_id), {field: missing.item_id})


@contextmanager
def translated() -> Iterator[None]:
    """The store's not-found and cursor errors as the API's."""
    try:
        yield
    except ItemNotFound as missing:
        raise not_found(missing) from missing
    except InvalidCursor as invalid:
        raise Malformed("invalid_cursor", "cursor is not one this API returned") from invalid
