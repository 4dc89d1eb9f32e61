"""The gateway over an entity's remote MCP connections: each ACTIVE connection to a
remote MCP server lends its tools to Keyfob's MCP endpoint, named ``<alias>__<tool>``
(the integration's ``mcp.alias``, by default the app's slug), and a call is forwarded
with the entity's token, refreshed once when the server answers 401. A 403
``insufficient_scope`` steps up: the connection is authorized again with the scopes it
had and those asked for, and the user is sent to approve them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from keyfob.core.errors import Conflict, Invalid, KeyfobError, NotFound
from keyfob.core.observability import logger
from keyfob.models.records.accounts import AccountChanges, AccountRecord
from keyfob.models.types import Status
from keyfob.services import connections, mcp_access, records, transitions, usable
from keyfob.services.mcp_remote import Refused, Remote
from keyfob.services.proxy import renewed

if TYPE_CHECKING:
    from keyfob.models.records.integrations import IntegrationRecord
    from keyfob.services.mcp_access import Session
    from keyfob.services.mcp_tools import Activity

SEPARATOR = "__"


def _connections(session: Session, entity_id: str) -> dict[str, tuple[AccountRecord, str]]:
    """The entity's ACTIVE remote MCP connections by alias (a repeated alias gets the
    account id's end)."""
    found: dict[str, tuple[AccountRecord, str]] = {}
    integrations: dict[str, IntegrationRecord] = {}
    for account in mcp_access.accounts_of(session, entity_id):
        if account.status is not Status.ACTIVE:
            continue
        if account.integration_id not in integrations:
            integrations[account.integration_id] = records.integration(
                account.tenant_id, account.integration_id
            )
        integration = integrations[account.integration_id]
        if integration.mcp is None or not integration.mcp.server_url:
            continue
        alias = integration.mcp.alias or integration.app
        if alias in found:
            alias = f"{alias}_{account.id[-6:]}"
        found[alias] = (account, integration.mcp.server_url)
    return found


def _exchange(
    session: Session, account: AccountRecord, server_url: str, method: str, params: Any
) -> dict[str, Any]:
    """One request as the entity; a 401 refreshes the token once and retries. A tool
    call answered 403 insufficient_scope steps up (a listing does not)."""
    held = usable.usable(account.tenant_id, account.id)
    try:
        token = str(held.values["access_token"])
        return _redacted(Remote(server_url, token).request(method, params), token)
    except Refused as refused:
        if refused.status == 403:
            raise _forbidden(session, held.account, refused.challenge, method) from None
        fresh = None if held.refreshed else renewed(held.account)
        if fresh is None:
            raise Conflict(
                "remote_token_refused",
                "The remote MCP server refused the connection's token; reconnect it",
                {"connected_account_id": account.id},
            ) from None
    try:
        token = str(fresh["access_token"])
        return _redacted(Remote(server_url, token).request(method, params), token)
    except Refused as refused:
        if refused.status == 403:
            raise _forbidden(session, held.account, refused.challenge, method) from None
        raise Conflict(
            "remote_token_refused",
            "The remote MCP server refused a fresh token; reconnect it",
            {"connected_account_id": account.id},
        ) from None


def _redacted(result: dict[str, Any], token: str) -> dict[str, Any]:
    """The server's answer, without the entity's token should the server echo it."""
    text = json.dumps(result)
    if token not in text:
        return result
    redacted: dict[str, Any] = json.loads(text.replace(json.dumps(token)[1:-1], "[REDACTED]"))
    return redacted


def listed(session: Session) -> list[dict[str, Any]]:
    """The remote tools of the entity the request is for; none when it names no single
    entity. A server that cannot be listed now is left out, not an error."""
    try:
        entity_id = mcp_access.entity(session, None)
    except KeyfobError:
        return []
    tools: list[dict[str, Any]] = []
    for alias, (account, server_url) in _connections(session, entity_id).items():
        try:
            result = _exchange(session, account, server_url, "tools/list", None)
        except KeyfobError as exc:
            extra = {"connected_account_id": account.id, "reason": exc.code}
            logger.info("remote tools not listed", extra=extra)
            continue
        for tool in result.get("tools") or []:
            if isinstance(tool, dict) and isinstance(tool.get("name"), str):
                description = str(tool.get("description") or "")
                tools.append(
                    {
                        **tool,
                        "name": f"{alias}{SEPARATOR}{tool['name']}",
                        "description": f"[{alias}] {description}".strip(),
                    }
                )
    return tools


def call(
    session: Session, name: str, arguments: dict[str, Any], activity: Activity
) -> dict[str, Any]:
    """Forward a namespaced tool call to its remote MCP server, as the entity."""
    alias, separator, tool = name.partition(SEPARATOR)
    if not separator or not tool:
        raise NotFound("tool_not_found", f"No tool {name!r}", {"tool": name})
    # The arguments are the remote tool's own: the entity is the key's, or the header's.
    activity.entity_id = entity_id = mcp_access.entity(session, None)
    found = _connections(session, entity_id).get(alias)
    if found is None:
        raise NotFound("tool_not_found", f"No tool {name!r} for this entity", {"tool": name})
    account, server_url = found
    activity.app, activity.account_id = account.app, account.id
    params = {"name": tool, "arguments": arguments}
    return _exchange(session, account, server_url, "tools/call", params)


def _forbidden(session: Session, account: AccountRecord, challenge: str, method: str) -> Exception:
    """A 403 to a tool call asking for more scope (insufficient_scope) steps up: the
    connection is authorized again with the union of the scopes it asked for and those
    the server asks for now, and the user approves at the authorization URL. Any other
    403, or one to a listing, is the server's refusal."""
    from keyfob.auth.mcp_discovery import challenge as parse
    from keyfob.security import crypto
    from keyfob.services.mcp_tools import ElicitationRequired

    asked = parse(challenge)
    if asked.error != "insufficient_scope" or method != "tools/call":
        return Conflict("remote_forbidden", "The remote MCP server refused this call")
    grant = crypto.open_account(account).get("authorization_server") or {}
    held = str(grant.get("scope") or "").split()
    scopes = " ".join(dict.fromkeys([*held, *(asked.scope or "").split()]))
    integration = records.integration(account.tenant_id, account.integration_id)
    reason = f"insufficient_scope: the server asks for {asked.scope or 'more scope'}"
    expired = transitions.move(
        account.tenant_id,
        account.id,
        transitions.EXPIRE,
        AccountChanges(status_reason=reason, due_at=None),
    )
    url, state = connections.authorization(
        integration,
        account.id,
        {**account.params, "scope": scopes},
        expired.return_url,
        session.callback_url,
    )
    changes = connections.pending_changes(state).model_copy(update={"status_reason": None})
    transitions.reinitiate(expired, changes, state, url)
    logger.info("remote mcp connection stepped up", extra={"connected_account_id": account.id})
    message = "The remote MCP server asks for more permissions: approve them to continue"
    if session.url_elicitation:
        return ElicitationRequired(account.id, url, message)
    return Invalid("insufficient_scope", message, {"authorization_url": url, "scope": scopes})
