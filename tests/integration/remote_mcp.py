"""A remote MCP server on loopback, as agents' users meet them: built with the official
MCP SDK (Streamable HTTP), protected by an OAuth 2.0 authorization server built from
Authlib's server components (the local stack's, extended) that publishes RFC 8414
metadata, takes RFC 7591 dynamic registration (and, when switched on, client ID metadata
documents), binds tokens to their RFC 8707 resource and sends RFC 9207 ``iss``. The MCP
server accepts only live tokens issued for it, and answers a call to ``write_note``
without the ``write`` scope with 403 ``insufficient_scope``."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from flask import Response, jsonify, request

from devstack.oauth_grants import Client
from devstack.oauth_provider import OAuthServer

SCOPES = ["read", "write", "offline_access"]


class McpAuthServer(OAuthServer):
    """The loopback provider with what MCP clients need of an authorization server. What
    clients sent: ``registrations``, ``token_requests``, ``authorization_requests``."""

    def __init__(self) -> None:
        super().__init__()
        add = self._app.add_url_rule
        add("/.well-known/oauth-authorization-server", view_func=self._metadata)
        add("/.well-known/openid-configuration", view_func=self._openid_metadata)
        add("/register", view_func=self._register, methods=["POST"])

    def reset(self) -> None:
        super().reset()
        self.registrations: list[dict[str, Any]] = []
        self.resources: dict[str, str] = {}  # code or token -> the resource it is for
        self.dynamic_registration = True
        self.client_metadata_documents = False
        self.fetched_documents: list[str] = []
        self.register_delay = 0.0
        self.openid_only = False  # metadata by OpenID Connect discovery alone
        self.secret_lifetime = 0  # seconds a registered client's secret lasts; 0: forever

    def start(self) -> McpAuthServer:
        super().start()
        # As the MCP SDK writes the issuer in its resource metadata (a URL with a path /).
        self.issuer = f"{self.base_url}/"
        return self

    def forget_client(self, client_id: str) -> None:
        """As a server that dropped a registration: the client is invalid_client now."""
        with self.lock:
            self.clients.pop(client_id, None)

    def _openid_metadata(self) -> Any:
        return self._document() if self.openid_only else (jsonify({}), 404)

    def _metadata(self) -> Any:
        return (jsonify({}), 404) if self.openid_only else self._document()

    def _document(self) -> Any:
        document = {
            "issuer": self.issuer,
            "authorization_endpoint": self.authorization_url,
            "token_endpoint": self.token_url,
            "revocation_endpoint": self.revocation_url,
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": SCOPES,
            "response_types_supported": ["code"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
            "authorization_response_iss_parameter_supported": True,
            "client_id_metadata_document_supported": self.client_metadata_documents,
        }
        if self.dynamic_registration:
            document["registration_endpoint"] = f"{self.base_url}/register"
        return jsonify(document)

    def _register(self) -> Any:
        if not self.dynamic_registration:
            return jsonify({"error": "invalid_request"}), 404
        body = request.get_json(force=True)
        self.registrations.append(body)
        time.sleep(self.register_delay)
        method = body.get("token_endpoint_auth_method", "client_secret_basic")
        client_id, secret = self.register_client(
            redirect_uris=list(body["redirect_uris"]),
            token_endpoint_auth_method=method,
            scope=" ".join(SCOPES),
        )
        answer = {**body, "client_id": client_id, "client_id_issued_at": int(time.time())}
        if secret:
            expires = int(time.time()) + self.secret_lifetime if self.secret_lifetime else 0
            answer |= {"client_secret": secret, "client_secret_expires_at": expires}
        return jsonify(answer), 201

    def _metadata_client(self, client_id: str) -> None:
        """A client ID metadata document's client, fetched and checked on first sight."""
        if not self.client_metadata_documents or not client_id.startswith("http"):
            return
        with self.lock:
            if client_id in self.clients:
                return
        document = requests.get(client_id, timeout=5).json()
        self.fetched_documents.append(client_id)
        if document.get("client_id") != client_id:
            return
        client = Client(client_id, "", list(document["redirect_uris"]), " ".join(SCOPES), "none")
        with self.lock:
            self.clients[client_id] = client

    def _authorize(self) -> Any:
        self._metadata_client(request.args.get("client_id", ""))
        response = super()._authorize()
        location = response.headers.get("Location", "") if hasattr(response, "headers") else ""
        code = parse_qs(urlsplit(location).query).get("code", [""])[0]
        if code:
            with self.lock:
                self.resources[code] = request.args.get("resource", "")
        return response

    def _token(self) -> Any:
        form = request.form
        self._metadata_client(form.get("client_id", ""))
        # RFC 8707: the token request names the resource its grant was for.
        with self.lock:
            granted = self.resources.get(form.get("code") or form.get("refresh_token") or "")
        if granted is not None and form.get("resource") != granted:
            with self.lock:
                self.token_requests.append(
                    {"grant_type": form.get("grant_type"), "form": form.to_dict()}
                )
            return jsonify({"error": "invalid_target"}), 400
        answer = super()._token()
        payload = answer.get_json(silent=True) if isinstance(answer, Response) else None
        if isinstance(payload, dict) and "access_token" in payload:
            with self.lock:
                for token in (payload["access_token"], payload.get("refresh_token")):
                    if token:
                        self.resources[token] = form.get("resource", "")
        return answer

    def resource_of(self, token: str) -> str | None:
        with self.lock:
            record = self.by_access.get(token)
            live = record is not None and not record.is_revoked() and not record.is_expired()
            return self.resources.get(token) if live else None

    def scopes_of(self, token: str) -> list[str]:
        with self.lock:
            record = self.by_access.get(token)
        return record.scope.split() if record else []


def _free_port() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class RemoteMcpServer:
    """The official SDK's MCP server on loopback, its tokens checked with ``auth``."""

    def __init__(self, auth: McpAuthServer) -> None:
        self.auth = auth
        self.calls: list[dict[str, Any]] = []
        # Leave resource_metadata out of the 401: clients fall back to the well-known URIs.
        self.bare_401 = False
        self._sock = _free_port()
        port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/mcp"
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def _app(self) -> Any:
        from mcp.server import MCPServer
        from mcp.server.auth.middleware.auth_context import get_access_token
        from mcp.server.auth.provider import AccessToken, TokenVerifier
        from mcp.server.auth.settings import AuthSettings
        from mcp.server.transport_security import TransportSecuritySettings
        from pydantic import AnyHttpUrl

        owner = self

        class Verifier(TokenVerifier):
            async def verify_token(self, token: str) -> AccessToken | None:
                resource = owner.auth.resource_of(token)
                if resource != owner.url:  # not live, or issued for another resource
                    return None
                scopes = owner.auth.scopes_of(token)
                return AccessToken(token=token, client_id="user", scopes=scopes, resource=resource)

        server = MCPServer(
            "Notes",
            token_verifier=Verifier(),
            auth=AuthSettings(
                issuer_url=AnyHttpUrl(self.auth.issuer),
                resource_server_url=AnyHttpUrl(self.url),
                required_scopes=["read"],
                validate_token_resource=False,  # the verifier checks the audience
            ),
        )

        @server.tool()
        def whoami() -> str:
            """Who the token is for."""
            token = get_access_token()
            owner.calls.append({"tool": "whoami", "token": token.token if token else None})
            return "keyfob-tester"

        @server.tool()
        def echo(text: str) -> str:
            """Echo the text back."""
            owner.calls.append({"tool": "echo", "text": text})
            return text

        @server.tool()
        def leak_token() -> str:
            """A careless server's tool that echoes the caller's token."""
            token = get_access_token()
            return f"your token is {token.token if token else ''}"

        @server.tool()
        def write_note(text: str) -> str:
            """Write a note (needs the write scope)."""
            return f"noted: {text}"

        security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
        return _ScopeGuard(server.streamable_http_app(transport_security=security), owner)

    def start(self) -> RemoteMcpServer:
        import uvicorn

        config = uvicorn.Config(self._app(), log_level="error", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(5)


def _without_metadata_url(send: Any) -> Any:
    async def sending(message: Any) -> None:
        if message["type"] == "http.response.start" and message["status"] == 401:
            message = {
                **message,
                "headers": [
                    (k, b'Bearer error="invalid_token"' if k == b"www-authenticate" else v)
                    for k, v in message["headers"]
                ],
            }
        await send(message)

    return sending


class _ScopeGuard:
    """ASGI middleware: a ``write_note`` call without the ``write`` scope is a 403
    insufficient_scope challenge (RFC 6750 3.1), as a server with per-tool scopes sends."""

    def __init__(self, app: Any, owner: RemoteMcpServer) -> None:
        self.app, self.owner = app, owner

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        if self.owner.bare_401:
            send = _without_metadata_url(send)
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        try:
            parsed = json.loads(body or b"{}")
        except ValueError:
            parsed = {}
        headers = dict(scope["headers"])
        token = headers.get(b"authorization", b"").decode().partition(" ")[2]
        wants_write = (
            isinstance(parsed, dict)
            and parsed.get("method") == "tools/call"
            and (parsed.get("params") or {}).get("name") == "write_note"
        )
        if wants_write and "write" not in self.owner.auth.scopes_of(token):
            challenge = (
                'Bearer error="insufficient_scope", scope="write", '
                f'resource_metadata="{self.owner.url.replace("/mcp", "")}'
                '/.well-known/oauth-protected-resource/mcp"'
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": 403,
                    "headers": [
                        (b"www-authenticate", challenge.encode()),
                        (b"content-type", b"application/json"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b'{"error":"insufficient_scope"}'})
            return
        sent = False

        async def replay() -> Any:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
