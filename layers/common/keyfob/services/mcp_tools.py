"""The tools Keyfob serves to agents over MCP: the apps an agent may connect, the
entity's connections, a connect link for the user (or the URL-mode elicitation that
carries it), a connection's status with a bounded wait, a request to an app's API
through the proxy, and the gateway's tools of the entity's remote MCP connections.

Every tool call is published as a ``Keyfob.AgentActivity`` event (the key, the entity,
the app, the tool, the proxied method and path, the outcome, the time taken), never with
an argument's value, a body or a secret."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from keyfob.core.errors import Invalid, KeyfobError, NotFound, validation_problems
from keyfob.core.ids import iso, new_id, now
from keyfob.core.observability import correlation_id, logger
from keyfob.models import mcp_tools as args
from keyfob.models.types import Status
from keyfob.services import connect_links, events, mcp_access, mcp_gateway, proxy

if TYPE_CHECKING:
    from keyfob.models.records.accounts import AccountRecord
    from keyfob.services.mcp_access import Session

AGENT_ACTIVITY = "Keyfob.AgentActivity"
_POLL_SECONDS = 1.0


class ElicitationRequired(Exception):
    """The user must open a URL (a connect link) before the call can succeed."""

    def __init__(self, elicitation_id: str, url: str, message: str) -> None:
        super().__init__(message)
        self.elicitation_id, self.url, self.message = elicitation_id, url, message


@dataclass
class Activity:
    """What a tool call's audit event says beyond the call itself."""

    entity_id: str | None = None
    app: str | None = None
    account_id: str | None = None
    method: str | None = None
    path: str | None = None
    upstream_status: int | None = None


@dataclass(frozen=True)
class Spec:
    description: str
    arguments: type[BaseModel]
    run: Callable[[Session, Any, Activity], dict[str, Any]]


def _list_apps(session: Session, _: args.ListApps, activity: Activity) -> dict[str, Any]:
    return {
        "apps": [
            {
                "app": i.app,
                "integration_id": i.id,
                "name": i.name,
                "auth_scheme": i.auth_scheme.value,
                "remote_mcp_server": i.mcp is not None,
            }
            for i in mcp_access.integrations_of(session)
        ]
    }


def _shown(account: AccountRecord) -> dict[str, Any]:
    return {
        "connected_account_id": account.id,
        "app": account.app,
        "integration_id": account.integration_id,
        "status": account.status.value,
        "status_reason": account.status_reason,
        "upstream_display_name": account.upstream_display_name,
    }


def _list_connections(
    session: Session, given: args.ListConnections, activity: Activity
) -> dict[str, Any]:
    activity.entity_id = mcp_access.entity(session, given.entity_id)
    found = mcp_access.accounts_of(session, activity.entity_id)
    return {"entity_id": activity.entity_id, "connections": [_shown(a) for a in found]}


def _connect_app(session: Session, given: args.ConnectApp, activity: Activity) -> dict[str, Any]:
    activity.entity_id = entity = mcp_access.entity(session, given.entity_id)
    integration = mcp_access.integration(session, given)
    activity.app = integration.app
    existing = mcp_access.active(session, entity, integration.id)
    if existing is not None:
        activity.account_id = existing.id
        return {**_shown(existing), "message": "Already connected"}
    link = connect_links.issue(integration, entity, given.redirect_url, session.base_url)
    message = f"Connect your {integration.name} account to continue"
    if session.url_elicitation:
        raise ElicitationRequired(link.id, link.url, message)
    return {
        "status": "NOT_CONNECTED",
        "connect_url": link.url,
        "expires_at": link.expires_at,
        "message": f"{message}: send the user to connect_url (it works once, for 10 "
        "minutes), then call connection_status with wait_seconds.",
    }


_SETTLED = {Status.ACTIVE, Status.FAILED, Status.EXPIRED, Status.INACTIVE}


def _connection_status(
    session: Session, given: args.ConnectionStatus, activity: Activity
) -> dict[str, Any]:
    activity.entity_id = entity = mcp_access.entity(session, given.entity_id)
    deadline = time.monotonic() + given.wait_seconds
    while True:
        found = _chosen(session, given, entity)
        if found is not None:
            activity.app, activity.account_id = found.app, found.id
            if found.status in _SETTLED or time.monotonic() >= deadline:
                return _shown(found)
        elif time.monotonic() >= deadline:
            return {"status": "NOT_CONNECTED", "message": "No connection yet"}
        time.sleep(_POLL_SECONDS)


def _chosen(session: Session, given: args.AppChoice, entity: str) -> AccountRecord | None:
    """The account a tool names, or the entity's newest (ACTIVE first) for the app."""
    account_id = getattr(given, "connected_account_id", None)
    if account_id:
        return mcp_access.account(session, account_id, entity)
    integration = mcp_access.integration(session, given)
    candidates = [
        a for a in mcp_access.accounts_of(session, entity) if a.integration_id == integration.id
    ]
    candidates.sort(key=lambda a: a.status is not Status.ACTIVE)
    return candidates[0] if candidates else None


def _call_api(session: Session, given: args.CallApi, activity: Activity) -> dict[str, Any]:
    from keyfob.models.proxy import ProxyRequest

    activity.entity_id = entity = mcp_access.entity(session, given.entity_id)
    activity.method, activity.path = given.method, given.path
    account = _chosen(session, given, entity)
    if account is None:
        raise NotFound("connected_account_not_found", "The entity has no connection for this app")
    activity.app, activity.account_id = account.app, account.id
    request = ProxyRequest.model_validate(
        given.model_dump(include={"method", "path", "query", "headers", "body"})
    )
    answer = proxy.send(session.caller.tenant_id, account.id, request)
    activity.upstream_status = answer.status
    return answer.model_dump(mode="json")


TOOLS: dict[str, Spec] = {
    "list_apps": Spec(
        "The apps this agent can connect its user to (the tenant's integrations).",
        args.ListApps,
        _list_apps,
    ),
    "list_connections": Spec(
        "The user's connected accounts and their status (never a credential).",
        args.ListConnections,
        _list_connections,
    ),
    "connect_app": Spec(
        "Connect the user's account at an app: a single-use link for the user to open "
        "(with clients that take URL elicitation, the elicitation itself). Already connected: "
        "the ACTIVE connection.",
        args.ConnectApp,
        _connect_app,
    ),
    "connection_status": Spec(
        "A connection's status, waiting up to wait_seconds for it to become ACTIVE.",
        args.ConnectionStatus,
        _connection_status,
    ),
    "call_api": Spec(
        "Send a request to the app's API as the user: Keyfob applies the credential, which "
        "the agent never sees, and answers with the app's status, headers and body.",
        args.CallApi,
        _call_api,
    ),
}


def listed(session: Session) -> list[dict[str, Any]]:
    """The tools this caller may use: Keyfob's own, then its remote MCP servers'."""
    operations = session.caller.operations
    own = [
        {"name": name, "description": spec.description, "inputSchema": _schema(spec.arguments)}
        for name, spec in TOOLS.items()
        if operations is None or name in operations
    ]
    if operations is not None and "remote_tools" not in operations:
        return own
    return own + mcp_gateway.listed(session)


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema.pop("title", None)
    return schema


def call(session: Session, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Run a tool; raises KeyfobError (the tool's failure) or ElicitationRequired. Each
    call, whatever its outcome, is an audit event."""
    started, activity, outcome = time.monotonic(), Activity(), "ok"
    try:
        spec = TOOLS.get(name)
        if spec is None:
            mcp_access.allowed(session, "remote_tools")
            return mcp_gateway.call(session, name, arguments, activity)
        mcp_access.allowed(session, name)
        try:
            given = spec.arguments.model_validate(arguments)
        except ValidationError as exc:
            problems = validation_problems(exc.errors())
            where = ", ".join(p["location"] or "arguments" for p in problems)
            raise Invalid("invalid_arguments", f"Invalid arguments: {where}", problems) from None
        return spec.run(session, given, activity)
    except KeyfobError as exc:
        outcome = exc.code
        raise
    except ElicitationRequired:
        outcome = "elicitation_required"
        raise
    finally:
        _audit(session, name, activity, outcome, started)


def _audit(session: Session, tool: str, activity: Activity, outcome: str, started: float) -> None:
    from keyfob.models.mcp_tools import AgentActivity

    elapsed = round((time.monotonic() - started) * 1000)
    detail = AgentActivity(
        event_id=new_id("evt"),
        occurred_at=iso(now()),
        tenant_id=session.caller.tenant_id,
        api_key_id=session.caller.key_id,
        entity_id=activity.entity_id,
        app=activity.app,
        connected_account_id=activity.account_id,
        tool=tool,
        method=activity.method,
        path=activity.path,
        status=outcome,
        upstream_status=activity.upstream_status,
        duration_ms=elapsed,
        correlation_id=correlation_id(),
    )
    logger.info(
        "agent tool called",
        extra={"tool": tool, "status": outcome, "api_key_id": session.caller.key_id},
    )
    events.publish(AGENT_ACTIVITY, detail)
