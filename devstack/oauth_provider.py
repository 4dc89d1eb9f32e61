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

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error, rfc6749
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9207 import IssuerParameter
from flask import Flask, Response, jsonify, request
from werkzeug.serving import BaseWSGIServer

from .moto_server import close, serve

TEST_USER: dict[str, str] = {"id": "4242", "login": "keyfob-tester", "name": "Keyfob Tester"}
CODE_LIFETIME_SECONDS = 600
CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
_INJECTED_ERRORS = {400: "invalid_request", 401: "invalid_client"}


@dataclass(frozen=True)
class ApiReply:
    """What the resource API answers a valid credential instead of its echo."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def _new_token(**_: Any) -> str:
    return secrets.token_urlsafe(32)


@dataclass(eq=False)
class _Client(rfc6749.ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    scope: str
    token_endpoint_auth_method: str

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None  # no fallback: clients must send redirect_uri, as OAuth 2.1 requires

    def get_allowed_scope(self, scope: str | None) -> str | None:
        if not scope:
            return self.scope
        requested = rfc6749.scope_to_list(scope)
        if not set(requested) <= set(rfc6749.scope_to_list(self.scope)):
            return None  # Authlib turns this into invalid_scope
        return str(rfc6749.list_to_scope(requested))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return bool(self.client_secret) and secrets.compare_digest(
            self.client_secret.encode(), client_secret.encode()
        )

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        # Strict like RFC 7591 metadata, so tests notice a client using the wrong method.
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


@dataclass(eq=False)
class _AuthorizationCode(rfc6749.AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    code_challenge_method: str | None
    issued_at: float
    used: bool = False

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return time.time() >= self.issued_at + CODE_LIFETIME_SECONDS


@dataclass(eq=False)
class _Token(rfc6749.TokenMixin):
    client_id: str
    grant_id: str  # the authorization code the whole token family descends from
    access_token: str
    refresh_token: str | None
    scope: str
    issued_at: float
    expires_in: int | None
    access_revoked: bool = False
    refresh_revoked: bool = False

    def check_client(self, client: _Client) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in or 0

    def is_expired(self) -> bool:
        return self.expires_in is not None and time.time() >= self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return self.access_revoked

    def get_user(self) -> dict[str, str]:
        return TEST_USER


class _Server(AuthorizationServer):
    """Authlib's Flask server, storing into its owner."""

    def __init__(self, app: Flask, owner: OAuthServer) -> None:
        self.owner = owner
        super().__init__(app, owner.clients.get, self._store_token)
        self.register_token_generator(
            "default", BearerTokenGenerator(_new_token, _new_token, self._expires_in)
        )

    def _expires_in(self, client: _Client, grant_type: str) -> int:
        # BearerTokenGenerator leaves a falsy expires_in out of the response.
        return 0 if self.owner.omit_expires_in else self.owner.expires_in

    def _store_token(self, token: dict[str, Any], oauth_request: Any) -> None:
        code, old = oauth_request.authorization_code, oauth_request.refresh_token
        grant_id = code.code if code is not None else old.grant_id
        access, refresh, scope = (
            token["access_token"],
            token.get("refresh_token"),
            token.get("scope"),
        )
        client_id, expires_in = oauth_request.client.client_id, token.get("expires_in")
        record = _Token(client_id, grant_id, access, refresh, scope or "", time.time(), expires_in)
        with self.owner.lock:
            self.owner.by_access[record.access_token] = record
            if record.refresh_token:
                self.owner.by_refresh[record.refresh_token] = record
            self.owner.issued_tokens.append(dict(token))


class _PKCE(CodeChallenge):
    """S256 only, required for public clients, every verifier failure an invalid_grant."""

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: Any) -> None:
        super().validate_code_challenge(grant, redirect_uri)
        data = grant.request.payload.data
        if data.get("code_challenge"):
            # An absent method means "plain" (RFC 7636 4.3), which is refused too.
            if data.get("code_challenge_method") != "S256":
                raise rfc6749.InvalidRequestError("'code_challenge_method' must be 'S256'.")
        elif grant.request.client.token_endpoint_auth_method == "none":
            raise rfc6749.InvalidRequestError("Public clients must send a 'code_challenge'.")

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        try:
            super().validate_code_verifier(grant, result)
        except rfc6749.InvalidRequestError as error:
            raise rfc6749.InvalidGrantError(error.description) from error


class _AuthorizationCodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def save_authorization_code(self, code: str, oauth_request: Any) -> None:
        data, client_id = oauth_request.payload.data, oauth_request.client.client_id
        challenge = data.get("code_challenge"), data.get("code_challenge_method")
        redirect_uri, scope = oauth_request.payload.redirect_uri, oauth_request.scope
        record = _AuthorizationCode(code, client_id, redirect_uri, scope, *challenge, time.time())
        with self.server.owner.lock:
            self.server.owner.codes[code] = record

    def query_authorization_code(self, code: str, client: _Client) -> _AuthorizationCode | None:
        with self.server.owner.lock:
            found: _AuthorizationCode | None = self.server.owner.codes.get(code)
        ok = found and found.client_id == client.client_id and not found.is_expired()
        return found if ok else None

    def authenticate_user(self, authorization_code: _AuthorizationCode) -> dict[str, str]:
        # Consumed here, after every check passed, so concurrent replays cannot both win.
        with self.server.owner.lock:
            replayed, authorization_code.used = authorization_code.used, True
        if replayed:
            # RFC 6749 4.1.2: refuse the replay and revoke what the code already produced.
            self.server.owner.revoke_grant(authorization_code.code)
            raise rfc6749.InvalidGrantError("Authorization code was already used.")
        return TEST_USER

    def delete_authorization_code(self, authorization_code: _AuthorizationCode) -> None:
        """Kept, marked used, until it expires so that replays can be recognised."""


class _RefreshTokenGrant(RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def authenticate_refresh_token(self, refresh_token: str) -> _Token | None:
        with self.server.owner.lock:
            record: _Token | None = self.server.owner.by_refresh.get(refresh_token)
        return record if record and not record.refresh_revoked else None

    def authenticate_user(self, refresh_token: _Token) -> dict[str, str]:
        owner = self.server.owner
        rotate = owner.rotate_refresh_tokens and not owner.omit_refresh_token
        self.INCLUDE_NEW_REFRESH_TOKEN = rotate
        # Rotation consumes the old token atomically, so of two concurrent refreshes with
        # the same token exactly one succeeds, as with strict real providers.
        if self.INCLUDE_NEW_REFRESH_TOKEN:
            with owner.lock:
                used, refresh_token.refresh_revoked = refresh_token.refresh_revoked, True
            if used:
                raise rfc6749.InvalidGrantError("Refresh token was already used.")
        return TEST_USER

    def revoke_old_credential(self, refresh_token: _Token) -> None:
        """Nothing left to do: authenticate_user consumed it when rotating."""


class _RevocationEndpoint(RevocationEndpoint):
    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> _Token | None:
        owner: OAuthServer = self.server.owner
        tables = [owner.by_access, owner.by_refresh]  # RFC 7009 2.1: the hint is but an order
        if token_type_hint == "refresh_token":
            tables.reverse()
        with owner.lock:
            return next((table[token_string] for table in tables if token_string in table), None)

    def revoke_token(self, token: _Token, oauth_request: Any) -> None:
        owner, revoked = self.server.owner, oauth_request.form["token"]
        with owner.lock:
            if revoked == token.refresh_token:
                # RFC 7009 2.1: revoking a refresh token also ends the grant's access tokens.
                owner.revoke_grant(token.grant_id)
            else:
                token.access_revoked = True
            owner.revocations.append(revoked)


class _Issuer(IssuerParameter):
    """RFC 9207 ``iss`` on authorization responses, following the owner's switches."""

    def __init__(self, owner: OAuthServer) -> None:
        self.owner = owner

    def get_issuer(self) -> str | None:
        if not self.owner.include_iss:
            return None
        return self.owner.issuer if self.owner.iss_override is None else self.owner.iss_override


class OAuthServer:
    """Auto-consenting OAuth 2.0 provider on 127.0.0.1, one fixed user, in-memory state.
    What clients sent is in ``token_requests``, ``revocations``, ``issued_tokens``,
    ``authorization_requests`` and ``api_requests``; the switches (``reset()`` restores
    them) inject failures."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clients: dict[str, _Client] = {}
        self.api_keys: set[str] = set()
        self.reset()
        self._httpd: BaseWSGIServer | None = None
        self._app = Flask(__name__)
        self._authz = _Server(self._app, self)
        self._authz.register_grant(_AuthorizationCodeGrant, [_PKCE(required=True)])
        self._authz.register_grant(_RefreshTokenGrant)
        self._authz.register_endpoint(_RevocationEndpoint)
        self._issuer = _Issuer(self)
        self._authz.register_extension(self._issuer)
        add = self._app.add_url_rule
        add("/authorize", view_func=self._authorize, methods=["GET"])
        add("/token", view_func=self._token, methods=["POST"])
        revoke = self._authz.create_endpoint_response
        add("/revoke", view_func=lambda: revoke("revocation"), methods=["POST"])
        add("/userinfo", view_func=self._userinfo, methods=["GET"])
        for rule in ("/api/", "/api/<path:path>"):
            add(rule, view_func=self._api, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])

    def reset(self) -> None:
        """Forget codes, tokens and observations and restore the switches; keep clients."""
        with self.lock:
            self.codes: dict[str, _AuthorizationCode] = {}
            self.by_access: dict[str, _Token] = {}
            self.by_refresh: dict[str, _Token] = {}
            self.token_requests: list[dict[str, Any]] = []
            self.revocations: list[str] = []
            self.issued_tokens: list[dict[str, Any]] = []
            self.authorization_requests: list[dict[str, str]] = []
            self.api_requests: list[dict[str, Any]] = []
        self.deny_next_authorization = False
        self.api_status: int | None = None
        self.api_reply: ApiReply | None = None
        self.api_delay = 0.0
        self.token_endpoint_status: int | None = None
        self.token_endpoint_delay = 0.0
        self.omit_refresh_token = False
        self.omit_expires_in = False
        self.expires_in = 3600
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
    ) -> tuple[str, str]:
        """Register a client; ``"none"`` makes a public client, whose secret is ``""``."""
        if token_endpoint_auth_method not in CLIENT_AUTH_METHODS:
            raise ValueError(f"unsupported token_endpoint_auth_method {token_endpoint_auth_method}")
        secret = "" if token_endpoint_auth_method == "none" else secrets.token_urlsafe(32)
        client_id = f"client-{secrets.token_hex(8)}"
        client = _Client(client_id, secret, list(redirect_uris), scope, token_endpoint_auth_method)
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

    def _token(self) -> Any:
        form = request.form
        client_id = form.get("client_id") or extract_basic_authorization(request.headers)[0]
        entry = {
            "grant_type": form.get("grant_type"),
            "client_id": client_id,
            "form": form.to_dict(),
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
        """A resource API: 401 without a valid credential (in any header, query parameter or
        basic auth, as apps take them), else an echo with its user, or ``api_reply``."""
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
        if not any(self._accepts(c) for c in candidates if c):
            return jsonify({"error": "invalid_token"}), 401
        time.sleep(self.api_delay)
        if self.api_reply is not None:
            reply = self.api_reply
            return Response(reply.body, status=reply.status, headers=reply.headers)
        return jsonify({**TEST_USER, "method": request.method, "path": f"/{path}"})

    def _userinfo(self) -> Any:
        bearer = request.headers.get("Authorization", "").partition("Bearer ")[2]
        if not self._accepts(bearer, api_keys=False):
            return jsonify({"error": "invalid_token"}), 401
        return jsonify(TEST_USER)
