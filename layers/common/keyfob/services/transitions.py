"""The state machine of a connected account: every change of its status goes through
here, as one conditional write that names the statuses it may start from (so that two
callers racing cannot both win), followed by the event that reports it.

    (new) --create--> INITIATED | ACTIVE
    INITIATED --ACTIVATE--> ACTIVE          --AWAIT_CONFIRMATION--> AWAITING_CONFIRMATION
    INITIATED --FAIL--> FAILED              AWAITING_CONFIRMATION --CONFIRM--> ACTIVE
    AWAITING_CONFIRMATION --REFUSE--> FAILED
    INITIATED | AWAITING_CONFIRMATION, past their time --LAPSE--> EXPIRED
    ACTIVE --REFRESH--> ACTIVE (a new token set)  ACTIVE --EXPIRE--> EXPIRED
    ACTIVE --DISABLE--> INACTIVE            INACTIVE --ENABLE--> ACTIVE
    EXPIRED | FAILED --REINITIATE--> INITIATED    ACTIVE --STEP_UP (more scopes)--> INITIATED
    any --delete--> (gone)

The store writes a status only when this module asks it to.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, NamedTuple

from keyfob.core.errors import Lapsed
from keyfob.core.ids import iso, now
from keyfob.models.types import Change, Status
from keyfob.services import events
from keyfob.services.store_errors import translated
from keyfob.store import accounts
from keyfob.store.conditions import Expect
from keyfob.store.errors import Unusable

if TYPE_CHECKING:
    from keyfob.models.records.accounts import (
        AccountChanges,
        AccountRecord,
        LinkRecord,
        StateRecord,
    )


class Transition(NamedTuple):
    change: Change
    sources: frozenset[Status]
    target: Status
    # From a pending attempt whose time is over, rather than from ``sources``.
    lapsed: bool = False


ACTIVATE = Transition(Change.ACTIVATED, frozenset({Status.INITIATED}), Status.ACTIVE)
AWAIT_CONFIRMATION = Transition(
    Change.AWAITING_CONFIRMATION, frozenset({Status.INITIATED}), Status.AWAITING_CONFIRMATION
)
FAIL = Transition(Change.FAILED, frozenset({Status.INITIATED}), Status.FAILED)
CONFIRM = Transition(Change.ACTIVATED, frozenset({Status.AWAITING_CONFIRMATION}), Status.ACTIVE)
REFUSE = Transition(Change.FAILED, frozenset({Status.AWAITING_CONFIRMATION}), Status.FAILED)
LAPSE = Transition(Change.EXPIRED, frozenset(), Status.EXPIRED, lapsed=True)
REFRESH = Transition(Change.REFRESHED, frozenset({Status.ACTIVE}), Status.ACTIVE)
EXPIRE = Transition(Change.EXPIRED, frozenset({Status.ACTIVE}), Status.EXPIRED)
DISABLE = Transition(Change.DISABLED, frozenset({Status.ACTIVE}), Status.INACTIVE)
ENABLE = Transition(Change.ENABLED, frozenset({Status.INACTIVE}), Status.ACTIVE)
REINITIATE = Transition(
    Change.INITIATED, frozenset({Status.EXPIRED, Status.FAILED}), Status.INITIATED
)
# Incremental authorization: an ACTIVE account asks for more scopes.
STEP_UP = Transition(Change.INITIATED, frozenset({Status.ACTIVE}), Status.INITIATED)


def stamp() -> str:
    return iso(now())


def create(
    account: AccountRecord,
    *,
    state: StateRecord | None = None,
    link: LinkRecord | None = None,
    authorization_url: str | None = None,
) -> None:
    """Store a new account (INITIATED with its OAuth state, or ACTIVE) and report it.
    Made through a connect link, it uses the link up: once."""
    assert account.status in {Status.INITIATED, Status.ACTIVE}
    try:
        with translated():
            accounts.create(account, state, link)
    except Unusable as unusable:
        assert link is not None
        raise Lapsed(
            "connect_link_used",
            "The connect link was used or expired meanwhile",
            {"connect_link_id": link.id},
        ) from unusable
    change = Change.INITIATED if account.status is Status.INITIATED else Change.ACTIVATED
    events.connection_changed(change, account, None, authorization_url=authorization_url)


def move(
    tenant_id: str,
    account_id: str,
    transition: Transition,
    changes: AccountChanges,
    expect: Expect | None = None,
    *,
    previous: Status | None = None,
    known: AccountRecord | None = None,
) -> AccountRecord:
    """Make the transition if the account is in one of its source statuses (and as
    ``expect`` says besides), then report it; returns the account as written. Raises
    StaleAccount (the store's) with the account as it is when it was not, NotFound when
    it is gone. ``previous``: the status it leaves, where the transition has several."""
    if previous is None:
        (previous,) = transition.sources
    condition = (expect or Expect())._replace(statuses=transition.sources, lapsed=transition.lapsed)
    if "updated_at" not in changes.model_fields_set:
        changes = changes.model_copy(update={"updated_at": stamp()})
    with translated():
        moved = accounts.update(
            tenant_id,
            account_id,
            changes,
            condition,
            int(time.time()),
            status=transition.target,
            known=known,
        )
    events.connection_changed(transition.change, moved, previous)
    return moved


def reinitiate(
    account: AccountRecord,
    changes: AccountChanges,
    state: StateRecord,
    authorization_url: str,
    transition: Transition = REINITIATE,
) -> AccountRecord:
    """REINITIATE (or STEP_UP), with the new attempt's OAuth state written in the same
    transaction."""
    changes = changes.model_copy(update={"updated_at": stamp()})
    accounts.restart(
        account.tenant_id,
        account.id,
        changes,
        Expect(statuses=transition.sources),
        int(time.time()),
        state,
        status=transition.target,
    )
    given = {name: getattr(changes, name) for name in changes.model_fields_set}
    restarted = account.model_copy(update={**given, "status": transition.target})
    events.connection_changed(
        transition.change, restarted, account.status, authorization_url=authorization_url
    )
    return restarted


def delete(account: AccountRecord) -> None:
    """Delete the account (and so its secrets) and report it."""
    with translated():
        accounts.delete(account)
    events.connection_changed(Change.DELETED, account, account.status)
