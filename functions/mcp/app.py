"""POST /v1/mcp: Keyfob as an MCP server for agents (Streamable HTTP, stateless, JSON)."""

from typing import Any

from keyfob.web import mcp
from keyfob.web.handler import handler


@handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return mcp.serve(event)
