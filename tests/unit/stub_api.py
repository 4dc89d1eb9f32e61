"""A scripted stand-in for Keyfob's API on loopback, for the client's unit tests.

Each test says what a route answers (``stub.reply(...)``) and reads what the client
sent (``stub.requests``). A route without a reply answers like API Gateway does for a
route it does not have: 404 ``{"message": "Not Found"}``.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_KEY = "kf_unit0123456789secretkey"


def account_json(**overrides: Any) -> dict[str, Any]:
    """An account as the API returns it."""
    return {
        "id": "ca_aaaaaaaaaaaaaaaaaaaaaaaa",
        "integration_id": "int_bbbbbbbbbbbbbbbbbbbbbbbb",
        "app": "github",
        "auth_scheme": "OAUTH2",
        "entity_id": "user-42",
        "status": "ACTIVE",
        "status_reason": None,
        "labels": {},
        "params": {},
        "token_expires_at": None,
        "created_at": "2025-01-01T00:00:00Z",
        "updated_at": "2025-01-01T00:00:00Z",
        **overrides,
    }


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class StubApi:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._replies: dict[tuple[str, str], list[Reply]] = {}
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                received = Received(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                reply = stub._next(received)
                time.sleep(reply.delay)
                if isinstance(reply.body, bytes):
                    payload = reply.body
                else:
                    payload = b"" if reply.body is None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = _answer

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A reply a test stopped waiting for (a time-out) must not hold up the shutdown.
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> StubApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._replies.clear()

    def reply(self, method: str, path: str, *replies: Reply) -> None:
        """Answer ``method path`` with these replies in turn; the last one repeats."""
        with self._lock:
            self._replies[(method, path)] = list(replies)

    def _next(self, received: Received) -> Reply:
        with self._lock:
            self.requests.append(received)
            queue = self._replies.get((received.method, received.path))
            if not queue:
                return Reply(404, {"message": "Not Found"})
            return queue.pop(0) if len(queue) > 1 else queue[0]

    @property
    def last(self) -> Received:
        return self.requests[-1]
