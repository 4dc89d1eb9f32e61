"""What the store reports when a read or a conditional write does not go as asked. These
say what happened to the data, in its own terms; the services decide what that means to
whoever asked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from keyfob.models.records.accounts import AccountRecord


class StoreError(Exception):
    pass


class ItemNotFound(StoreError):
    """No item of this kind under this tenant and id."""

    def __init__(
        self,
        kind: Literal["tenant", "integration", "account", "webhook", "attempt"],
        item_id: str,
    ) -> None:
        super().__init__(f"{kind} {item_id}")
        self.kind = kind
        self.item_id = item_id


class InvalidCursor(StoreError):
    """A page cursor the store never issued (or one for another listing)."""


class StaleAccount(StoreError):
    """A conditional account write found the account other than expected."""

    def __init__(self, current: AccountRecord) -> None:
        super().__init__(current.id)
        self.current = current


class InUse(StoreError):
    """An integration that still has connected accounts cannot go."""

    def __init__(self, account_count: int) -> None:
        super().__init__(str(account_count))
        self.account_count = account_count


class Taken(StoreError):
    """An AWS account already acts for another tenant."""


class Unusable(StoreError):
    """A single-use item (an OAuth state, a connect link) that cannot be used: unknown,
    used already, or expired."""

    def __init__(self, reason: Literal["unknown", "used", "expired"]) -> None:
        super().__init__(reason)
        self.reason = reason
