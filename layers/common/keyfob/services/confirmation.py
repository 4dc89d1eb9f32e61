"""Session binding: an integration with ``require_confirmation`` leaves each OAuth
connection AWAITING_CONFIRMATION until the app confirms it for the entity whose session
received the one-time code.

A code for another entity means the connect link reached someone else (a link sent to
a victim): the account fails for good and its grant is revoked, so the tokens of
whoever followed the link never serve the entity that started it.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING

from keyfob.core.errors import Conflict, Forbidden, Lapsed
from keyfob.core.ids import lookup_hash
from keyfob.core.observability import logger
from keyfob.models.records.accounts import AccountChanges, AccountRecord
from keyfob.models.types import Status
from keyfob.services import transitions
from keyfob.services.grants import revoke_grant, unconfirmed_dropped
from keyfob.services.lifecycle import current, resumed
from keyfob.store.conditions import Expect
from keyfob.store.errors import StaleAccount

if TYPE_CHECKING:
    from keyfob.models.account_view import AccountView
    from keyfob.models.connections import Confirmation


def confirm(tenant_id: str, account_id: str, request: Confirmation) -> AccountView:
    """AWAITING_CONFIRMATION -> ACTIVE, for the code the callback handed the app's
    redirect_url and the entity the app saw arrive there with it."""
    account = current(tenant_id, account_id)
    if account.status is Status.EXPIRED and account.confirmation_hash:
        raise Lapsed(
            "confirmation_expired",
            "The connection was not confirmed in time; reinitiate it",
            {"connected_account_id": account.id},
        )
    if account.status is not Status.AWAITING_CONFIRMATION or not account.confirmation_hash:
        raise Conflict(
            "not_awaiting_confirmation",
            f"Connected account is {account.status.value}, not AWAITING_CONFIRMATION",
            {"connected_account_id": account.id, "status": account.status.value},
        )
    presented = lookup_hash(request.code)
    if not secrets.compare_digest(presented, account.confirmation_hash):
        raise Forbidden(
            "invalid_confirmation_code",
            "The confirmation code is not this account's",
            {"connected_account_id": account.id},
        )
    expect = Expect(confirmation_hash=presented, pending_after=int(time.time()))
    settled = AccountChanges(confirmation_hash=None, pending_until=None)
    if request.entity_id != account.entity_id:
        _refuse(account, expect, settled)
    try:
        confirmed = transitions.move(
            tenant_id,
            account_id,
            transitions.CONFIRM,
            settled.model_copy(update={"due_at": resumed(account)}),
            expect,
        )
    except StaleAccount as stale:
        raise _already_settled(stale.current) from stale
    logger.info("connection confirmed", extra={"connected_account_id": account.id})
    return confirmed.view()


def _refuse(account: AccountRecord, expect: Expect, settled: AccountChanges) -> None:
    reason = "confirmed by another entity than the one that started it"
    changes = settled.merged(unconfirmed_dropped()).model_copy(
        update={"status_reason": reason, "due_at": None}
    )
    try:
        transitions.move(account.tenant_id, account.id, transitions.REFUSE, changes, expect)
    except StaleAccount as stale:
        raise _already_settled(stale.current) from stale
    revocation = revoke_grant(account)
    logger.warning(
        "connection confirmation refused",
        extra={"connected_account_id": account.id, "revocation": revocation.status},
    )
    raise Forbidden(
        "entity_mismatch",
        "The code was confirmed for another entity than the one that started the "
        "connection; the connection is refused and its grant revoked",
        {"connected_account_id": account.id, "revocation": revocation.status},
    )


def _already_settled(account: AccountRecord) -> Conflict:
    return Conflict(
        "not_awaiting_confirmation",
        "The confirmation code was used already, or its time is over",
        {"connected_account_id": account.id, "status": account.status.value},
    )
