"""Keyfob's MCP endpoint (``POST /v1/mcp``): Streamable HTTP on the official MCP SDK,
stateless, with plain JSON answers, run from a Lambda event.

Each invocation hands the request to the SDK's session manager as an ASGI request and
returns its answer as the Lambda response: the SDK speaks the protocol (JSON-RPC, the
``initialize`` handshake of 2025-11-25 and earlier, 2026-07-28's ``server/discover`` and
per-request envelope, validation, errors), and Keyfob's tools do the rest
(``keyfob.services.mcp_tools``). API Gateway's authorizer has already established the
caller; the SDK's DNS-rebinding check (for servers on localhost) does not apply behind
it. The SDK is imported on the first request: it weighs on cold start, and the function
has nothing else to do."""

from __future__ import annotations

import base64
import json
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any

from keyfob.core.errors import KeyfobError, TooLarge
from keyfob.services.mcp_access import Session
from keyfob.web import authorizer, errors

MAX_BODY_BYTES = 6 * 1024 * 1024
_session: ContextVar[Session] = ContextVar("keyfob_mcp_session")
ENTITY_HEADER = "x-keyfob-entity-id"


def _session_of(event: dict[str, Any]) -> Session:
    context = event["requestContext"]
    caller = authorizer.caller_of(context["authorizer"]["lambda"])
    from keyfob.core.config import settings

    base = settings().public_url or f"https://{context['domainName']}"
    headers = event.get("headers") or {}
    return Session(
        caller=caller,
        base_url=base,
        callback_url=f"{base}/v1/oauth/callback",
        entity_hint=headers.get(ENTITY_HEADER) or None,
    )


def serve(event: dict[str, Any]) -> dict[str, Any]:
    """The Lambda response to one Streamable HTTP request."""
    import anyio

    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    if len(raw) > MAX_BODY_BYTES:
        limit = {"limit": MAX_BODY_BYTES}
        return errors.refused_event(TooLarge("payload_too_large", "Request body too large", limit))
    token = _session.set(_session_of(event))
    try:
        status, headers, answer = anyio.run(_exchange, event, raw)
    finally:
        _session.reset(token)
    return {"statusCode": status, "headers": headers, "body": answer.decode()}


async def _exchange(event: dict[str, Any], raw: bytes) -> tuple[int, dict[str, str], bytes]:
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
    from mcp.server.transport_security import TransportSecuritySettings

    manager = StreamableHTTPSessionManager(
        _server(),
        stateless=True,
        json_response=True,
        security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        max_request_body_size=MAX_BODY_BYTES,
    )
    http = event["requestContext"]["http"]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": http["method"],
        "scheme": "https",
        "path": http["path"],
        "raw_path": http["path"].encode(),
        "query_string": (event.get("rawQueryString") or "").encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), str(v).encode()) for k, v in event["headers"].items()],
        "client": (http.get("sourceIp", ""), 0),
        "server": (event["requestContext"].get("domainName", ""), 443),
    }
    sent = False
    status, headers, chunks = 500, {}, []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:  # the request is whole; the SDK listens for a disconnect only
            import anyio

            await anyio.sleep_forever()
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
            for name, value in message.get("headers", []):
                if name.lower() != b"content-length":
                    headers[name.decode("latin-1")] = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    async with manager.run():
        await manager.handle_request(scope, receive, send)
    return status, headers, b"".join(chunks)


def _server() -> Any:
    """The SDK's low-level server with Keyfob's tools (built once per instance)."""
    global _built
    if _built is None:
        from mcp.server.lowlevel import Server

        _built = Server(
            "keyfob",
            version="0.1.0",
            instructions="Keyfob holds your user's connected accounts: list them, connect "
            "new ones (the user approves at a link), and act through them without ever "
            "seeing a credential.",
            on_list_tools=_list_tools,
            on_call_tool=_call_tool,
        )
    return _built


_built: Any = None


async def _list_tools(ctx: Any, params: Any) -> Any:
    import mcp_types
    from mcp_types import ListToolsResult

    from keyfob.services import mcp_tools

    tools = mcp_tools.listed(_session.get())
    return ListToolsResult(tools=[mcp_types.Tool.model_validate(t) for t in tools])


def _url_elicitation(ctx: Any) -> bool:
    capabilities = getattr(ctx.session, "client_capabilities", None)
    elicitation = getattr(capabilities, "elicitation", None)
    return getattr(elicitation, "url", None) is not None


async def _call_tool(ctx: Any, params: Any) -> Any:
    from mcp.shared.exceptions import UrlElicitationRequiredError
    from mcp_types import CallToolResult, ElicitRequestURLParams, TextContent

    from keyfob.services import mcp_tools

    session = _session.get()
    if _url_elicitation(ctx):
        session = Session(**{**session.__dict__, "url_elicitation": True})
    arguments = dict(params.arguments or {})
    try:
        answer = mcp_tools.call(session, params.name, arguments)
    except mcp_tools.ElicitationRequired as needed:
        elicitation = ElicitRequestURLParams(
            message=needed.message, url=needed.url, elicitation_id=needed.elicitation_id
        )
        raise UrlElicitationRequiredError([elicitation], needed.message) from None
    except KeyfobError as exc:
        failure = exc.body()
        text = json.dumps(failure, separators=(",", ":"))
        return CallToolResult(
            content=[TextContent(text=text)], structured_content=failure, is_error=True
        )
    if params.name not in mcp_tools.TOOLS:
        return CallToolResult.model_validate(answer)  # a remote server's, as it answered
    text = json.dumps(answer, separators=(",", ":"))
    return CallToolResult(content=[TextContent(text=text)], structured_content=answer)
