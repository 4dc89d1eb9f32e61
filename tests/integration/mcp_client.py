"""The official MCP client (Python SDK) against Keyfob's MCP endpoint, driven from
synchronous tests: each call opens a client, does its work and closes it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

T = TypeVar("T")


async def _no_elicitation(context: Any, params: Any) -> Any:
    raise AssertionError("the server asked for an elicitation as a request")


def run(
    url: str,
    headers: dict[str, str],
    work: Callable[[Client], Awaitable[T]],
    *,
    url_elicitation: bool = False,
) -> T:
    """``work`` with a connected client. ``url_elicitation``: the client declares the
    elicitation capability (form and URL modes), as a host that shows links does."""

    async def connected() -> T:
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http_client:
            transport = streamable_http_client(f"{url}/v1/mcp", http_client=http_client)
            callback = _no_elicitation if url_elicitation else None
            async with Client(transport, elicitation_callback=callback) as client:
                return await work(client)

    # In a thread of its own: the browser tests' Playwright keeps an event loop running in
    # the main thread for the whole session.
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(anyio.run, connected).result()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def call(url: str, key: str, tool: str, arguments: dict[str, Any], **kw: Any) -> Any:
    """A tool's result (``structured_content``, ``is_error``) as the client got it."""

    async def work(client: Client) -> Any:
        return await client.call_tool(tool, arguments)

    return run(url, bearer(key), work, **kw)


def refusal(url: str, key: str, tool: str, arguments: dict[str, Any], **kw: Any) -> MCPError:
    """The JSON-RPC error a tool call gets (the test fails if it gets a result)."""

    async def work(client: Client) -> MCPError:
        try:
            await client.call_tool(tool, arguments)
        except MCPError as error:
            return error
        raise AssertionError(f"{tool} answered with a result")

    return run(url, bearer(key), work, **kw)
