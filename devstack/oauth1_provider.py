"""A real OAuth 1.0a provider on loopback (RFC 5849, Authlib's server components: its
Flask authorization server and resource protector, in-memory state), HMAC-SHA1 and
RSA-SHA1: request token, an authorization that consents at once for a fixed user, access
token, and a resource API that checks every request's signature."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from typing import Any

from authlib.integrations.flask_oauth1 import (
    AuthorizationServer,
    ResourceProtector,
    current_credential,
    register_nonce_hooks,
    register_temporary_credential_hooks,
)
from authlib.integrations.flask_oauth1.cache import create_exists_nonce_func
from authlib.oauth1 import ClientMixin, TokenCredentialMixin
from authlib.oauth1.errors import OAuth1Error
from flask import Flask, jsonify, request
from werkzeug.serving import BaseWSGIServer

from .moto_server import close, serve

USER: dict[str, str] = {"id": "1717", "login": "oauth1-tester"}


class Cache:
    """The little of a cache that Authlib's hooks use, in memory."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self.lock:
            return self.values.get(key)

    def set(self, key: str, value: Any, timeout: int | None = None) -> None:
        with self.lock:
            self.values[key] = value

    def delete(self, key: str) -> None:
        with self.lock:
            self.values.pop(key, None)

    def has(self, key: str) -> bool:
        with self.lock:
            return key in self.values


@dataclass(eq=False)
class Consumer(ClientMixin):  # type: ignore[misc]
    client_id: str
    client_secret: str
    rsa_public_key: str | None = None

    def get_default_redirect_uri(self) -> None:
        return None

    def get_client_secret(self) -> str:
        return self.client_secret

    def get_rsa_public_key(self) -> str | None:
        return self.rsa_public_key


@dataclass(eq=False)
class Token(TokenCredentialMixin):  # type: ignore[misc]
    client_id: str
    oauth_token: str
    oauth_token_secret: str
    revoked: bool = False

    def get_oauth_token(self) -> str:
        return self.oauth_token

    def get_oauth_token_secret(self) -> str:
        return self.oauth_token_secret


class GrantUser:
    def get_user_id(self) -> str:
        return USER["id"]


class OAuth1Server:
    """Auto-consenting OAuth 1.0a provider on 127.0.0.1; what clients sent is kept in
    ``token_requests`` and ``api_requests``."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.consumers: dict[str, Consumer] = {}
        self.tokens: dict[str, Token] = {}
        self.token_requests: list[str] = []
        self.api_requests: list[dict[str, Any]] = []
        self._httpd: BaseWSGIServer | None = None
        app = self._app = Flask(__name__)
        app.config["OAUTH1_SUPPORTED_SIGNATURE_METHODS"] = ["HMAC-SHA1", "RSA-SHA1"]
        cache = Cache()
        self._server = AuthorizationServer(app, query_client=self.consumers.get)
        register_nonce_hooks(self._server, cache)
        register_temporary_credential_hooks(self._server, cache)
        self._server.register_hook("create_token_credential", self._token_credential)
        self._protect = ResourceProtector(
            app,
            query_client=self.consumers.get,
            query_token=self._query_token,
            exists_nonce=create_exists_nonce_func(cache),
        )
        add = app.add_url_rule
        add("/request_token", view_func=self._request_token, methods=["POST"])
        add("/authorize", view_func=self._authorize, methods=["GET"])
        add("/access_token", view_func=self._access_token, methods=["POST"])
        add("/api/<path:path>", view_func=self._api, methods=["GET", "POST", "PUT", "DELETE"])

    def start(self) -> OAuth1Server:
        self._httpd = serve(self._app, "127.0.0.1", 0)
        self.base_url = f"http://127.0.0.1:{self._httpd.server_port}"
        self.request_token_url = f"{self.base_url}/request_token"
        self.authorization_url = f"{self.base_url}/authorize"
        self.access_token_url = f"{self.base_url}/access_token"
        self.api_url = f"{self.base_url}/api"
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            close(httpd)

    def register_consumer(self, rsa_public_key: str | None = None) -> tuple[str, str]:
        consumer = Consumer(f"ck-{secrets.token_hex(8)}", secrets.token_urlsafe(24), rsa_public_key)
        with self.lock:
            self.consumers[consumer.client_id] = consumer
        return consumer.client_id, consumer.client_secret

    def revoke(self, oauth_token: str) -> None:
        with self.lock:
            self.tokens[oauth_token].revoked = True

    def _token_credential(self, token: dict[str, str], temporary: Any) -> Token:
        issued = Token(temporary.get_client_id(), token["oauth_token"], token["oauth_token_secret"])
        with self.lock:
            self.tokens[issued.oauth_token] = issued
        return issued

    def _query_token(self, client_id: str, oauth_token: str) -> Token | None:
        with self.lock:
            found = self.tokens.get(oauth_token)
        ok = found is not None and found.client_id == client_id and not found.revoked
        return found if ok else None

    def _request_token(self) -> Any:
        return self._server.create_temporary_credentials_response()

    def _authorize(self) -> Any:
        try:
            self._server.check_authorization_request()
        except OAuth1Error as error:
            return jsonify(dict(error.get_body())), error.status_code
        return self._server.create_authorization_response(grant_user=GrantUser())

    def _access_token(self) -> Any:
        with self.lock:
            self.token_requests.append(request.headers.get("Authorization", ""))
        return self._server.create_token_response()

    def _api(self, path: str) -> Any:
        with self.lock:
            self.api_requests.append(
                {"method": request.method, "path": f"/{path}", "headers": dict(request.headers)}
            )
        try:
            self._protect.acquire_credential()
        except OAuth1Error as error:
            return jsonify(dict(error.get_body())), 401
        credential = current_credential._get_current_object()
        return jsonify({**USER, "path": f"/{path}", "client_id": credential.client_id})
