"""A loopback fake of GitHub's App API (no library serves one), on Flask: the install
page (which installs at once for a fixed organization and sends the browser to the app's
setup URL with a user authorization code, as GitHub does when the app requests user
authorization during installation; ``?login=`` names the signed-in user, ``octocat``
by default), the code exchanged for a user access token (the app's client ID and client
secret), the user's installations (``GET /user/installations``, two a page so that
lists cross pages, with a Link header), the user token's revocation, installation
access tokens bought with the app's JWT (RS256, verified with joserfc against the app's
public key: iss, a lifetime of ten minutes at most), the installation, installation
token revocation, and a REST API that takes installation tokens."""

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
    client_secret: str
    # "Request user authorization (OAuth) during installation": the redirect has a code.
    oauth_on_install: bool = True
    installations: list[int] = field(default_factory=list)


class GitHubFake:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.apps: dict[str, RegisteredApp] = {}
        self.tokens: dict[str, tuple[int, float]] = {}  # token -> (installation, expiry)
        self.token_requests: list[dict[str, Any]] = []
        self.revoked: list[str] = []
        self.api_requests: list[dict[str, Any]] = []
        self.owners: dict[int, str] = {}  # installation -> the login that installed it
        self.codes: dict[str, tuple[str, str]] = {}  # code -> (client_id, login)
        self.user_tokens: dict[str, tuple[str, str]] = {}  # token -> (client_id, login)
        self.page_size = 2
        self.dropped_user_tokens: list[str] = []
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
        add("/login/oauth/access_token", view_func=self._user_token, methods=["POST"])
        add("/user/installations", view_func=self._user_installations)
        add(
            "/applications/<client_id>/token",
            view_func=self._drop_user_token,
            methods=["DELETE"],
        )
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

    def register_app(
        self, public_key: str, setup_url: str, oauth_on_install: bool = True
    ) -> RegisteredApp:
        registered = RegisteredApp(
            f"keyfob-{secrets.token_hex(4)}",
            f"Iv23li{secrets.token_hex(6)}",
            public_key,
            setup_url,
            secrets.token_hex(20),
            oauth_on_install,
        )
        with self.lock:
            self.apps[registered.slug] = registered
        return registered

    def install_for(self, slug: str, login: str) -> int:
        """An installation of the app made by this user, out of band."""
        with self.lock:
            self._next_installation += 1
            installation = self._next_installation
            self.apps[slug].installations.append(installation)
            self.owners[installation] = login
        return installation

    def settings(self) -> dict[str, str]:
        """An integration's github_app overrides for this fake."""
        return {
            "install_url": f"{self.base_url}/apps/{{app_slug}}/installations/new",
            "oauth_token_url": f"{self.base_url}/login/oauth/access_token",
            "user_installations_url": f"{self.base_url}/user/installations",
            "user_token_revocation_url": f"{self.base_url}/applications/{{client_id}}/token",
            "installation_token_url": (
                f"{self.base_url}/app/installations/{{installation_id}}/access_tokens"
            ),
            "installation_url": f"{self.base_url}/app/installations/{{installation_id}}",
            "revocation_url": f"{self.base_url}/installation/token",
        }

    def _install(self, slug: str) -> Any:
        login = request.args.get("login", "octocat")
        installation = self.install_for(slug, login)
        registered = self.apps[slug]
        query = f"installation_id={installation}&setup_action=install"
        if registered.oauth_on_install:
            code = secrets.token_hex(10)
            with self.lock:
                self.codes[code] = (registered.client_id, login)
            query += f"&code={code}"
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

    def _user_token(self) -> Any:
        """GitHub's web flow token endpoint: errors come with a 200, as GitHub's do."""
        form = request.form
        with self.lock:
            issued = self.codes.pop(form.get("code", ""), None)
            app = next(
                (a for a in self.apps.values() if a.client_id == form.get("client_id")), None
            )
        if app is None or not secrets.compare_digest(
            app.client_secret, form.get("client_secret", "")
        ):
            return jsonify({"error": "incorrect_client_credentials"})
        if issued is None or issued[0] != app.client_id:
            return jsonify({"error": "bad_verification_code"})
        token = f"ghu_{secrets.token_urlsafe(27)}"
        with self.lock:
            self.user_tokens[token] = issued
        return jsonify({"access_token": token, "token_type": "bearer", "scope": ""})

    def _drop_user_token(self, client_id: str) -> Any:
        """DELETE /applications/{client_id}/token: the app's client ID and secret as Basic."""
        given = request.authorization
        token = (request.get_json(silent=True) or {}).get("access_token", "")
        with self.lock:
            app = next((a for a in self.apps.values() if a.client_id == client_id), None)
            held = self.user_tokens.get(token)
            if (
                app is None
                or given is None
                or given.username != client_id
                or not secrets.compare_digest(app.client_secret, given.password or "")
            ):
                return jsonify({"message": "Bad credentials"}), 401
            if held is None or held[0] != client_id:
                return jsonify({"message": "Not Found"}), 404
            del self.user_tokens[token]
            self.dropped_user_tokens.append(token)
        return "", 204

    def _user_installations(self) -> Any:
        bearer = request.headers.get("Authorization", "").partition("Bearer ")[2]
        with self.lock:
            user = self.user_tokens.get(bearer)
            if user is None:
                return jsonify({"message": "Bad credentials"}), 401
            client_id, login = user
            app = next(a for a in self.apps.values() if a.client_id == client_id)
            mine = [i for i in app.installations if self.owners.get(i) == login]
        size = min(int(request.args.get("per_page", 30)), self.page_size)
        page = int(request.args.get("page", 1))
        shown = mine[(page - 1) * size : page * size]
        body = {
            "total_count": len(mine),
            "installations": [{"id": i, "account": ORG, "app_slug": app.slug} for i in shown],
        }
        response = jsonify(body)
        if page * size < len(mine):
            following = f"{self.base_url}/user/installations?per_page={size}&page={page + 1}"
            response.headers["Link"] = f'<{following}>; rel="next"'
        return response

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
