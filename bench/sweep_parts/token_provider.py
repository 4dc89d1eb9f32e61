"""A provider's token endpoint that answers at once (what the bench measures is Keyfob, not
the provider). Each answer carries a new refresh token; one presented twice means an
account was refreshed twice, which GET / reports with the count of token calls.

Usage: token_provider.py PORT
"""

from __future__ import annotations

import json
import secrets
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class Token(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    lock = threading.Lock()
    calls = 0
    presented: set[str] = set()
    reused = 0

    def do_POST(self) -> None:
        form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
        refresh_token = form.get("refresh_token", [""])[0]
        with Token.lock:
            Token.calls += 1
            Token.reused += refresh_token in Token.presented
            Token.presented.add(refresh_token)
        self._answer(
            {
                "access_token": secrets.token_urlsafe(24),
                "refresh_token": secrets.token_urlsafe(24),
                "token_type": "Bearer",
                "expires_in": 3600,
            }
        )

    def do_GET(self) -> None:
        with Token.lock:
            self._answer({"calls": Token.calls, "reused": Token.reused})

    def _answer(self, payload: dict[str, object]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Token)
    server.daemon_threads = True
    server.serve_forever()
