"""A loopback fake of GitHub's App API (no library serves one), on Flask: the install
page (which installs at once for a fixed organization and sends the browser to the app's
setup URL), installation access tokens bought with the app's JWT (RS256, verified with
joserfc against the app's public key: iss, a lifetime of ten minutes at most),
the installation, token revocation, and a REST API that takes installation tokens."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, jsonify, redirect, request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey
from werkzeug.serving import BaseWSGIServer

from .moto_server import close, serve

ORG = {"id": 9001, "login": "acme-org", "type": "Organization"}


@dataclass
class RegisteredApp:
    slug: str
    client_id: str
    public_key: str
    setup_url: str
    installations: list[int] = field(default_factory=list)


class GitHubFake:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.apps: dict[str, RegisteredApp] = {}
        self.tokens: dict[str, tuple[int, float]] = {}  # token -> (installation, expiry)
        self.token_requests: list[dict[str, Any]] = []
        self.revoked: list[str] = []
        self.api_requests: list[dict[str, Any]] = []
        self._next_installation = 40000
        self._httpd: BaseWSGIServer | None = None
        app = self._app = Flask(__name__)
        add = app.add_url_rule
        add("/apps/<slug>/installations/new", view_func=self._install, methods=["GET"])
        add(
            "/app/installations/<int:installation>/access_tokens",
            view_func=self._access_token,
            methods=["POST"],
        )
        add("/app/installations/<int:installation>", view_func=self._installation)
        add("/installation/token", view_func=self._revoke, methods=["DELETE"])
        add("/api/<path:path>", view_func=self._api, methods=["GET", "POST"])

    def start(self) -> GitHubFake:
        self._httpd = serve(self._app, "127.0.0.1", 0)
        self.base_url = f"http://127.0.0.1:{self._httpd.server_port}"
        self.api_url = f"{self.base_url}/api"
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            close(httpd)

    def register_app(self, public_key: str, setup_url: str) -> RegisteredApp:
        registered = RegisteredApp(
            f"keyfob-{secrets.token_hex(4)}", f"Iv23li{secrets.token_hex(6)}", public_key, setup_url
        )
        with self.lock:
            self.apps[registered.slug] = registered
        return registered

    def settings(self) -> dict[str, str]:
        """An integration's github_app overrides for this fake."""
        return {
            "install_url": f"{self.base_url}/apps/{{app_slug}}/installations/new",
            "installation_token_url": (
                f"{self.base_url}/app/installations/{{installation_id}}/access_tokens"
            ),
            "installation_url": f"{self.base_url}/app/installations/{{installation_id}}",
            "revocation_url": f"{self.base_url}/installation/token",
        }

    def _install(self, slug: str) -> Any:
        with self.lock:
            registered = self.apps[slug]
            self._next_installation += 1
            installation = self._next_installation
            registered.installations.append(installation)
        query = f"installation_id={installation}&setup_action=install"
        if state := request.args.get("state"):
            query += f"&state={state}"
        return redirect(f"{registered.setup_url}?{query}", 302)

    def _app_of(self, installation: int) -> RegisteredApp | None:
        """The app whose JWT this request carries, if valid and it owns the installation."""
        bearer = request.headers.get("Authorization", "").partition("Bearer ")[2]
        with self.lock:
            owner = next((a for a in self.apps.values() if installation in a.installations), None)
        if owner is None:
            return None
        try:
            token = jwt.decode(bearer, RSAKey.import_key(owner.public_key), algorithms=["RS256"])
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": owner.client_id},
                exp={"essential": True},
                iat={"essential": True},
            ).validate(token.claims)
        except (JoseError, ValueError):
            return None
        if token.claims["exp"] - token.claims["iat"] > 600:
            return None
        return owner

    def _access_token(self, installation: int) -> Any:
        with self.lock:
            self.token_requests.append({"installation": installation})
        if self._app_of(installation) is None:
            return jsonify({"message": "A JSON web token could not be decoded"}), 401
        token = f"ghs_{secrets.token_urlsafe(27)}"
        expires = datetime.now(UTC) + timedelta(hours=1)
        with self.lock:
            self.tokens[token] = (installation, expires.timestamp())
        answer = {
            "token": token,
            "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "permissions": {"contents": "read", "issues": "write"},
            "repository_selection": "all",
        }
        return jsonify(answer), 201

    def _installation(self, installation: int) -> Any:
        if self._app_of(installation) is None:
            return jsonify({"message": "Bad credentials"}), 401
        return jsonify({"id": installation, "account": ORG, "target_type": "Organization"})

    def _live(self) -> str | None:
        token = request.headers.get("Authorization", "").partition(" ")[2]
        with self.lock:
            found = self.tokens.get(token)
        return token if found and found[1] > time.time() else None

    def _revoke(self) -> Any:
        token = self._live()
        if token is None:
            return jsonify({"message": "Bad credentials"}), 401
        with self.lock:
            del self.tokens[token]
            self.revoked.append(token)
        return "", 204

    def _api(self, path: str) -> Any:
        with self.lock:
            self.api_requests.append({"path": f"/{path}", "headers": dict(request.headers)})
        if self._live() is None:
            return jsonify({"message": "Bad credentials"}), 401
        return jsonify({"path": f"/{path}", "ok": True})
