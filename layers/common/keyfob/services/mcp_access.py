"""What a caller of Keyfob's MCP endpoint may reach. An agent key acts for its entities
only, and only for its apps and tools when it names them: anything else reads as
missing (404), exactly as another tenant's records do. A full key must name the entity."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from keyfob.core.errors import Forbidden, Invalid, NotFound
from keyfob.models.types import Status
from keyfob.services import records
from keyfob.services.store_errors import translated
from keyfob.store import accounts, integrations

if TYPE_CHECKING:
    from keyfob.models.mcp_tools import AppChoice
    from keyfob.models.records.accounts import AccountRecord
    from keyfob.models.records.integrations import IntegrationRecord
    from keyfob.services.api_keys import Caller


@dataclass(frozen=True)
class Session:
    """One request to the MCP endpoint: who calls, and where browsers reach Keyfob."""

    caller: Caller
    base_url: str
    callback_url: str
    # The entity a request names outside any tool's arguments (X-Keyfob-Entity-Id): the
    # gateway's tool list needs one for a full key or a key of several entities.
    entity_hint: str | None = None
    # Whether the client takes URL-mode elicitation (it declared it on this request).
    url_elicitation: bool = False


def allowed(session: Session, operation: str) -> None:
    operations = session.caller.operations
    if operations is not None and operation not in operations:
        raise Forbidden(
            "operation_not_allowed",
            f"This key may not use {operation}",
            {"operation": operation},
        )


def entity(session: Session, given: str | None) -> str:
    """The entity acted for: the one named (which an agent key must hold), or an agent
    key's only one."""
    caller = session.caller
    chosen = given or session.entity_hint
    if caller.kind == "tenant":
        if not chosen:
            raise Invalid("entity_id_required", "Name the entity (entity_id) to act for")
        return chosen
    if chosen is None and len(caller.entity_ids) == 1:
        return caller.entity_ids[0]
    if chosen is None:
        raise Invalid(
            "entity_id_required",
            "This key acts for several entities: name one (entity_id)",
            {"entity_ids": list(caller.entity_ids)},
        )
    if chosen not in caller.entity_ids:
        raise NotFound("entity_not_found", f"No entity {chosen!r} for this key")
    return chosen


def app_allowed(session: Session, app: str) -> bool:
    apps = session.caller.apps
    return apps is None or app in apps


def integrations_of(session: Session) -> Iterator[IntegrationRecord]:
    """The tenant's integrations this caller may use (Queries of its partition)."""
    cursor = None
    while True:
        with translated():
            page, cursor = integrations.page(session.caller.tenant_id, 100, cursor)
        yield from (i for i in page if app_allowed(session, i.app))
        if cursor is None:
            return


def integration(session: Session, choice: AppChoice) -> IntegrationRecord:
    """The integration a tool names, by id or by app (the only one for the app)."""
    if choice.integration_id:
        found = records.integration(session.caller.tenant_id, choice.integration_id)
        if app_allowed(session, found.app):
            return found
        raise NotFound("integration_not_found", f"No integration {choice.integration_id!r}")
    if not choice.app:
        raise Invalid("app_required", "Name the app (app) or the integration (integration_id)")
    matching = [i for i in integrations_of(session) if i.app == choice.app]
    if not matching:
        raise NotFound("app_not_connected", f"The tenant has no integration for {choice.app!r}")
    if len(matching) > 1:
        raise Invalid(
            "integration_ambiguous",
            f"The tenant has several integrations for {choice.app!r}: name one",
            {"integration_ids": [i.id for i in matching]},
        )
    return matching[0]


def account(session: Session, account_id: str, entity_id: str) -> AccountRecord:
    """An account of the entity, as the caller may see it; another's reads as missing."""
    found = records.account(session.caller.tenant_id, account_id, consistent=True)
    if found.entity_id != entity_id or not app_allowed(session, found.app):
        raise NotFound(
            "connected_account_not_found",
            f"No connected account {account_id!r}",
            {"connected_account_id": account_id},
        )
    return found.effective(time.time())


def accounts_of(session: Session, entity_id: str) -> list[AccountRecord]:
    """The entity's accounts the caller may see, newest first (a Query of its index)."""
    found: list[AccountRecord] = []
    cursor = None
    while True:
        with translated():
            page, cursor = accounts.page(
                session.caller.tenant_id,
                entity_id=entity_id,
                filters={},
                status=None,
                now_epoch=int(time.time()),
                limit=100,
                cursor=cursor,
            )
        found += [a.effective(time.time()) for a in page if app_allowed(session, a.app)]
        if cursor is None or len(found) >= 500:
            return found


def active(session: Session, entity_id: str, integration_id: str) -> AccountRecord | None:
    for candidate in accounts_of(session, entity_id):
        if candidate.integration_id == integration_id and candidate.status is Status.ACTIVE:
            return candidate
    return None
