"""A client of a remote MCP server (Streamable HTTP, JSON-RPC), for the gateway: the
``initialize`` handshake, then one request, with the entity's token as the bearer
credential on every request (never in a URL), through the egress guard.

It answers with the server's result, or raises ``Refused`` for the HTTP statuses the
gateway acts on (401: refresh the token; 403 ``insufficient_scope``: step up), or a
Keyfob error. Answers are bounded in size and time; nothing of them is logged."""

from __future__ import annotations

import json
import time
from itertools import count
from typing import TYPE_CHECKING, Any

from keyfob.core.config import settings
from keyfob.core.errors import Forbidden, UpstreamFailed, UpstreamTimedOut
from keyfob.security import http

if TYPE_CHECKING:
    import requests

PROTOCOL_VERSION = "2025-11-25"
_MAX_ANSWER = 5 * 1024 * 1024
_ids = count(1)


class Refused(Exception):
    """The MCP server refused the token: ``status`` 401 or 403, and its challenge."""

    def __init__(self, status: int, challenge: str) -> None:
        super().__init__(status)
        self.status, self.challenge = status, challenge


def _timed_out() -> UpstreamTimedOut:
    return UpstreamTimedOut("upstream_timeout", "The remote MCP server did not answer in time")


def _unreachable() -> UpstreamFailed:
    return UpstreamFailed("upstream_unreachable", "The remote MCP server could not be reached")


class Remote:
    """One exchange with a remote MCP server, as one entity."""

    def __init__(self, server_url: str, token: str) -> None:
        self.server_url, self.token = server_url, token
        self.session_id: str | None = None
        self.version: str | None = None
        self.deadline = time.monotonic() + settings().proxy_timeout_seconds

    def _post(self, message: dict[str, Any]) -> requests.Response:
        import requests

        from keyfob.security.egress import DestinationRefused

        headers = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/json, text/event-stream",
            "Content-Type": "application/json",
        }
        if self.session_id:
            headers["Mcp-Session-Id"] = self.session_id
        if self.version:
            headers["MCP-Protocol-Version"] = self.version
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise _timed_out()
        try:
            response = http.session().post(
                self.server_url,
                data=json.dumps(message),
                headers=headers,
                timeout=(min(http.timeout()[0], remaining), remaining),
                allow_redirects=False,
                stream=True,
            )
        except DestinationRefused:
            raise Forbidden(
                "destination_not_allowed", "The remote MCP server's address is not public"
            ) from None
        except requests.Timeout:
            raise _timed_out() from None
        except requests.RequestException:
            raise _unreachable() from None
        if response.status_code in (401, 403):
            response.close()
            raise Refused(response.status_code, response.headers.get("WWW-Authenticate", ""))
        return response

    def _answer(self, response: requests.Response, request_id: int) -> dict[str, Any]:
        with response:
            if response.status_code >= 400:
                raise UpstreamFailed(
                    "upstream_failed",
                    f"The remote MCP server answered HTTP {response.status_code}",
                )
            body = response.raw.read(_MAX_ANSWER + 1, decode_content=True)
        if len(body) > _MAX_ANSWER:
            raise UpstreamFailed("upstream_response_too_large", "The remote answer is too large")
        media = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        messages = _events(body) if media == "text/event-stream" else [_json(body)]
        for message in messages:
            if isinstance(message, dict) and message.get("id") == request_id:
                return message
        raise UpstreamFailed("upstream_failed", "The remote MCP server sent no answer")

    def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """The result of one request (after the handshake, made on the first)."""
        if self.version is None:
            self._handshake()
        return self._result(self._call(method, params))

    def _call(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        request_id = next(_ids)
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        response = self._post(message)
        if method == "initialize":
            self.session_id = response.headers.get("Mcp-Session-Id") or None
        return self._answer(response, request_id)

    def _handshake(self) -> None:
        answer = self._call(
            "initialize",
            {
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "keyfob", "version": "0.1.0"},
            },
        )
        result = self._result(answer)
        self.version = str(result.get("protocolVersion") or PROTOCOL_VERSION)
        self._post({"jsonrpc": "2.0", "method": "notifications/initialized"}).close()

    @staticmethod
    def _result(answer: dict[str, Any]) -> dict[str, Any]:
        error = answer.get("error")
        if isinstance(error, dict):
            # Only the code and the server's own message: no data, which may echo input.
            message = str(error.get("message", ""))[:500]
            raise UpstreamFailed(
                "remote_mcp_error",
                f"The remote MCP server refused: {message}",
                {"code": error.get("code")},
            )
        result = answer.get("result")
        if not isinstance(result, dict):
            raise UpstreamFailed("upstream_failed", "The remote MCP server's answer had no result")
        return result


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise UpstreamFailed("upstream_failed", "The remote MCP answer is not JSON") from None


def _events(body: bytes) -> list[Any]:
    """The JSON-RPC messages of a text/event-stream answer (each event's data lines)."""
    found, data = [], []
    for line in [*body.decode("utf-8", "replace").splitlines(), ""]:
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif not line and data:
            found.append(_json("\n".join(data).encode()))
            data = []
    return found
