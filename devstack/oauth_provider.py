"""A real OAuth 2.0 authorization server on loopback (Authlib's server components, in-memory
state): the integration tests' provider and the local stack's demo provider. It consents at
once for a fixed user, so a test "browser" reads ``code``, ``state`` and ``iss`` from the
authorization response's ``Location``. No ``AUTHLIB_INSECURE_TRANSPORT``: Authlib takes
plain http on loopback (RFC 8252 7.3), and the variable would relax the code under test too.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from flask import Flask, Response, jsonify, request
from werkzeug.serving import BaseWSGIServer

from . import oauth_m2m
from .moto_server import close, serve
from .oauth_grants import (
    CLIENT_AUTH_METHODS,
    PKCE,
    TEST_USER,
    Client,
    CodeGrant,
    IssuedToken,
    Issuer,
    RefreshGrant,
    Revocation,
    Server,
    StoredCode,
)

_INJECTED_ERRORS = {400: "invalid_request", 401: "invalid_client"}


@dataclass(frozen=True)
class ApiReply:
    """What the resource API answers a valid credential instead of its echo."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class OAuthServer:
    """Auto-consenting OAuth 2.0 provider on 127.0.0.1, one fixed user, in-memory state.
    What clients sent is in ``token_requests``, ``revocations``, ``issued_tokens``,
    ``authorization_requests`` and ``api_requests``; the switches (``reset()`` restores
    them) inject failures."""

    # Authlib's server: how it reads a request (``devstack.oauth_json`` reads JSON bodies).
    server_class: ClassVar[type[Server]] = Server

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clients: dict[str, Client] = {}
        self.api_keys: set[str] = set()
        self.reset()
        self._httpd: BaseWSGIServer | None = None
        self._app = Flask(__name__)
        self._authz = self.server_class(self._app, self)
        self._authz.register_grant(CodeGrant, [PKCE(required=True)])
        self._authz.register_grant(RefreshGrant)
        self._authz.register_endpoint(Revocation)
        oauth_m2m.register(self._authz, self)
        self._issuer = Issuer(self)
        self._authz.register_extension(self._issuer)
        add = self._app.add_url_rule
        add("/authorize", view_func=self._authorize, methods=["GET"])
        add("/token", view_func=self._token, methods=["POST"])
        # The same token endpoint at a second address: a refresh URL apart from the token URL
        add("/refresh", view_func=self._token, methods=["POST"], endpoint="refresh")
        add("/revoke", view_func=self._revoke, methods=["POST"])
        add("/userinfo", view_func=self._userinfo, methods=["GET"])
        add("/public/<path:path>", view_func=self._public, methods=["GET", "POST"])
        add("/login", view_func=self._login, methods=["POST"])
        for rule in ("/api/", "/api/<path:path>"):
            add(rule, view_func=self._api, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])

    def reset(self) -> None:
        """Forget codes, tokens and observations and restore the switches; keep clients."""
        with self.lock:
            self.codes: dict[str, StoredCode] = {}
            self.by_access: dict[str, IssuedToken] = {}
            self.by_refresh: dict[str, IssuedToken] = {}
            self.token_requests: list[dict[str, Any]] = []
            self.revocations: list[str] = []
            self.issued_tokens: list[dict[str, Any]] = []
            self.authorization_requests: list[dict[str, str]] = []
            self.api_requests: list[dict[str, Any]] = []
            self.m2m_requests: list[dict[str, Any]] = []
            self.assertion_ids: set[str] = set()
            self.extra_audiences: list[str] = []
            self.logins: dict[str, str] = {}
        self.withheld_scopes: set[str] = set()
        self.deny_next_authorization = False
        self.api_status: int | None = None
        self.api_reply: ApiReply | None = None
        self.api_delay = 0.0
        self.token_endpoint_status: int | None = None
        self.token_endpoint_delay = 0.0
        self.omit_refresh_token = False
        self.omit_expires_in = False
        self.expires_in = 3600
        self.token_extra: dict[str, str] = {}
        self.rotate_refresh_tokens = True
        self.include_iss = True
        self.iss_override: str | None = None

    def start(self) -> OAuthServer:
        if self._httpd is not None:
            raise RuntimeError("OAuthServer already started")
        self._httpd = serve(self._app, "127.0.0.1", 0)
        self.base_url = self.issuer = f"http://127.0.0.1:{self._httpd.server_port}"
        self.authorization_url, self.token_url, self.revocation_url, self.userinfo_url = (
            f"{self.base_url}/{path}" for path in ("authorize", "token", "revoke", "userinfo")
        )
        self.api_url = f"{self.base_url}/api"  # any path under it answers a valid credential
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            close(httpd)

    def register_client(
        self,
        *,
        redirect_uris: list[str],
        token_endpoint_auth_method: str = "client_secret_basic",
        scope: str = "read write offline_access",
        grant_types: tuple[str, ...] = ("authorization_code", "refresh_token"),
        public_key: str | None = None,
    ) -> tuple[str, str]:
        """Register a client; ``"none"`` makes a public client, whose secret is ``""``;
        ``private_key_jwt`` authenticates with the private key of ``public_key`` (PEM)."""
        methods = [*CLIENT_AUTH_METHODS, *oauth_m2m.JWT_METHODS]
        if token_endpoint_auth_method not in methods:
            raise ValueError(f"unsupported token_endpoint_auth_method {token_endpoint_auth_method}")
        public = token_endpoint_auth_method in ("none", "private_key_jwt")
        secret = "" if public else secrets.token_urlsafe(32)
        client_id = f"client-{secrets.token_hex(8)}"
        client = Client(
            client_id,
            secret,
            list(redirect_uris),
            scope,
            token_endpoint_auth_method,
            grant_types,
            public_key,
        )
        with self.lock:
            self.clients[client.client_id] = client
        return client.client_id, client.client_secret

    def register_api_key(self, key: str | None = None) -> str:
        """An API key the resource API accepts, in whatever header, query or basic part."""
        key = key or f"key-{secrets.token_urlsafe(24)}"
        with self.lock:
            self.api_keys.add(key)
        return key

    def revoke_access_token(self, access_token: str) -> None:
        """End an access token, as a user or provider can at any time (not its refresh token)."""
        with self.lock:
            self.by_access[access_token].access_revoked = True

    def revoke_grant(self, grant_id: str) -> None:
        with self.lock:
            for record in self.by_access.values():
                if record.grant_id == grant_id:
                    record.access_revoked = record.refresh_revoked = True

    def _accepts(self, credential: str, api_keys: bool = True) -> bool:
        """A live access token, or (``api_keys``) a registered API key."""
        with self.lock:
            record, key = self.by_access.get(credential), credential in self.api_keys
        live = record is not None and not record.is_revoked() and not record.is_expired()
        return live or (api_keys and key)

    def _authorize(self) -> Any:
        with self.lock:
            self.authorization_requests.append(request.args.to_dict())
        try:
            grant = self._authz.get_consent_grant(end_user=TEST_USER)
        except OAuth2Error as error:
            # Authlib only sets a redirect once client and redirect_uri are verified
            # (RFC 6749 4.1.2.1); otherwise this is a plain 400.
            response = self._authz.handle_error_response(None, error)
            self._issuer.add_issuer_parameter(self._authz, response)
            return response
        with self.lock:
            deny, self.deny_next_authorization = self.deny_next_authorization, False
        return self._authz.create_authorization_response(
            grant_user=None if deny else TEST_USER, grant=grant
        )

    def _params(self) -> dict[str, Any]:
        """A token or revocation request's parameters, as RFC 6749 sends them: a form."""
        return request.form.to_dict()

    def _revoke(self) -> Any:
        return self._authz.create_endpoint_response("revocation")

    def _token(self) -> Any:
        form = self._params()
        client_id = form.get("client_id") or extract_basic_authorization(request.headers)[0]
        entry = {
            "path": request.path,
            "grant_type": form.get("grant_type"),
            "client_id": client_id,
            "form": form,
            "content_type": request.mimetype,
        }
        with self.lock:
            self.token_requests.append(entry)
        time.sleep(self.token_endpoint_delay)
        status = self.token_endpoint_status
        if status is not None:
            error = _INJECTED_ERRORS.get(status, "server_error")
            return jsonify({"error": error, "error_description": f"Injected HTTP {status}"}), status
        return self._authz.create_token_response()

    def _api(self, path: str = "") -> Any:
        """A resource API: 401 without a valid credential (in any header, query parameter,
        basic auth or a /bot<token> path, as apps take them), else an echo with its user
        (in the Bot API's envelope for a bot token), or ``api_reply``."""
        entry = {
            "method": request.method,
            "path": f"/{path}",
            "query": request.args.to_dict(flat=False),
            "headers": dict(request.headers),
            "body": request.get_data(as_text=True),
        }
        with self.lock:
            self.api_requests.append(entry)
        if self.api_status is not None:
            return jsonify({"error": f"Injected HTTP {self.api_status}"}), self.api_status
        candidates = [v.split(" ", 1)[-1] for v in request.headers.values()]
        candidates += [v for values in request.args.listvalues() for v in values]
        if (basic := request.authorization) and basic.type == "basic":
            candidates += [basic.username or "", basic.password or ""]
        # The Telegram Bot API's way: /bot<token>/<method>, answered in its envelope.
        bot = path.partition("/")[0].removeprefix("bot") if path.startswith("bot") else ""
        if not any(self._accepts(c) for c in [*candidates, bot] if c):
            if bot:
                return jsonify({"ok": False, "error_code": 401, "description": "Unauthorized"}), 401
            return jsonify({"error": "invalid_token"}), 401
        time.sleep(self.api_delay)
        if self.api_reply is not None:
            reply = self.api_reply
            return Response(reply.body, status=reply.status, headers=reply.headers)
        echo = {"method": request.method, "path": f"/{path}"}
        if bot and self._accepts(bot):
            user = {"id": int(TEST_USER["id"]), "is_bot": True, "username": TEST_USER["login"]}
            return jsonify({"ok": True, "result": {**user, **echo}})
        return jsonify({**TEST_USER, **echo})

    def _login(self) -> Any:
        """A two-step API's login: a JSON username and password for a short-lived token
        the resource API takes, in {"data": {"token", "ttl"}}."""
        body = request.get_json(silent=True) or {}
        username, password = str(body.get("username", "")), str(body.get("password", ""))
        with self.lock:
            self.token_requests.append({"grant_type": "login", "client_id": username, "form": {}})
            known = self.logins.get(username)
        if known is None or not secrets.compare_digest(known, password):
            return jsonify({"error": "invalid_grant"}), 401
        token = secrets.token_urlsafe(32)
        issued = IssuedToken(
            username, f"login:{token}", token, None, "", time.time(), self.expires_in
        )
        with self.lock:
            self.by_access[token] = issued
        return jsonify({"data": {"token": token, "ttl": self.expires_in}})

    def _public(self, path: str) -> Any:
        """A public API: answers anyone, and says what credential it saw (none, it should)."""
        entry = {"method": request.method, "path": f"/{path}", "headers": dict(request.headers)}
        with self.lock:
            self.api_requests.append(entry)
        seen = request.headers.get("Authorization")
        return jsonify({"public": True, "path": f"/{path}", "authorization": seen})

    def _userinfo(self) -> Any:
        bearer = request.headers.get("Authorization", "").partition("Bearer ")[2]
        if not self._accepts(bearer, api_keys=False):
            return jsonify({"error": "invalid_token"}), 401
        return jsonify(TEST_USER)
