"""The demo provider's Authlib server components: its client, code and token records, the
grants (authorization code with PKCE S256, refresh with rotation), RFC 7009 revocation
and RFC 9207 ``iss``, all storing into their ``OAuthServer``."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import rfc6749
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9207 import IssuerParameter
from flask import Flask

if TYPE_CHECKING:
    from .oauth_provider import OAuthServer

TEST_USER: dict[str, str] = {"id": "4242", "login": "keyfob-tester", "name": "Keyfob Tester"}
CODE_LIFETIME_SECONDS = 600
CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
# What the token endpoint takes besides: an RFC 7523 client assertion (Authlib's name).
TOKEN_AUTH_METHODS = [*CLIENT_AUTH_METHODS, "client_assertion_jwt"]


def _new_token(**_: Any) -> str:
    return secrets.token_urlsafe(32)


@dataclass(eq=False)
class Client(rfc6749.ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    scope: str
    token_endpoint_auth_method: str
    grant_types: tuple[str, ...] = ("authorization_code", "refresh_token")
    public_key: str | None = None  # private_key_jwt's, in PEM

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
        if self.token_endpoint_auth_method in ("private_key_jwt", "client_secret_jwt"):
            return method == "client_assertion_jwt"  # Authlib's name for either
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


@dataclass(eq=False)
class StoredCode(rfc6749.AuthorizationCodeMixin):
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
class IssuedToken(rfc6749.TokenMixin):
    client_id: str
    grant_id: str  # the authorization code the whole token family descends from
    access_token: str
    refresh_token: str | None
    scope: str
    issued_at: float
    expires_in: int | None
    access_revoked: bool = False
    refresh_revoked: bool = False

    def check_client(self, client: Client) -> bool:
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


class Server(AuthorizationServer):
    """Authlib's Flask server, storing into its owner."""

    def __init__(self, app: Flask, owner: OAuthServer) -> None:
        self.owner = owner
        super().__init__(app, owner.clients.get, self._store_token)
        bearer = BearerTokenGenerator(_new_token, _new_token, self._expires_in)
        # Fields some providers add to the token answer (Salesforce's instance_url).
        self.register_token_generator(
            "default", lambda *args, **kwargs: {**bearer(*args, **kwargs), **owner.token_extra}
        )

    def _expires_in(self, client: Client, grant_type: str) -> int:
        # BearerTokenGenerator leaves a falsy expires_in out of the response.
        return 0 if self.owner.omit_expires_in else self.owner.expires_in

    def _store_token(self, token: dict[str, Any], oauth_request: Any) -> None:
        code, old = oauth_request.authorization_code, oauth_request.refresh_token
        if code is not None:
            grant_id = code.code
        else:  # a client credentials token is a grant of its own
            grant_id = old.grant_id if old is not None else f"m2m:{token['access_token']}"
        access, refresh, scope = (
            token["access_token"],
            token.get("refresh_token"),
            token.get("scope"),
        )
        client_id, expires_in = oauth_request.client.client_id, token.get("expires_in")
        record = IssuedToken(
            client_id, grant_id, access, refresh, scope or "", time.time(), expires_in
        )
        with self.owner.lock:
            self.owner.by_access[record.access_token] = record
            if record.refresh_token:
                self.owner.by_refresh[record.refresh_token] = record
            self.owner.issued_tokens.append(dict(token))


class PKCE(CodeChallenge):
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


class CodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS

    def save_authorization_code(self, code: str, oauth_request: Any) -> None:
        data, client_id = oauth_request.payload.data, oauth_request.client.client_id
        challenge = data.get("code_challenge"), data.get("code_challenge_method")
        redirect_uri, scope = oauth_request.payload.redirect_uri, oauth_request.scope
        withheld = self.server.owner.withheld_scopes
        if withheld and scope:
            # The user unticked some scopes: the grant is narrower than the request.
            scope = " ".join(s for s in scope.split() if s not in withheld)
        record = StoredCode(code, client_id, redirect_uri, scope, *challenge, time.time())
        with self.server.owner.lock:
            self.server.owner.codes[code] = record

    def query_authorization_code(self, code: str, client: Client) -> StoredCode | None:
        with self.server.owner.lock:
            found: StoredCode | None = self.server.owner.codes.get(code)
        ok = found and found.client_id == client.client_id and not found.is_expired()
        return found if ok else None

    def authenticate_user(self, authorization_code: StoredCode) -> dict[str, str]:
        # Consumed here, after every check passed, so concurrent replays cannot both win.
        with self.server.owner.lock:
            replayed, authorization_code.used = authorization_code.used, True
        if replayed:
            # RFC 6749 4.1.2: refuse the replay and revoke what the code already produced.
            self.server.owner.revoke_grant(authorization_code.code)
            raise rfc6749.InvalidGrantError("Authorization code was already used.")
        return TEST_USER

    def delete_authorization_code(self, authorization_code: StoredCode) -> None:
        """Kept, marked used, until it expires so that replays can be recognised."""


class RefreshGrant(RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS

    def authenticate_refresh_token(self, refresh_token: str) -> IssuedToken | None:
        with self.server.owner.lock:
            record: IssuedToken | None = self.server.owner.by_refresh.get(refresh_token)
        return record if record and not record.refresh_revoked else None

    def authenticate_user(self, refresh_token: IssuedToken) -> dict[str, str]:
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

    def revoke_old_credential(self, refresh_token: IssuedToken) -> None:
        """Nothing left to do: authenticate_user consumed it when rotating."""


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = TOKEN_AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> IssuedToken | None:
        owner: OAuthServer = self.server.owner
        tables = [owner.by_access, owner.by_refresh]  # RFC 7009 2.1: the hint is but an order
        if token_type_hint == "refresh_token":
            tables.reverse()
        with owner.lock:
            return next((table[token_string] for table in tables if token_string in table), None)

    def revoke_token(self, token: IssuedToken, oauth_request: Any) -> None:
        owner, revoked = self.server.owner, oauth_request.form["token"]
        with owner.lock:
            if revoked == token.refresh_token:
                # RFC 7009 2.1: revoking a refresh token also ends the grant's access tokens.
                owner.revoke_grant(token.grant_id)
            else:
                token.access_revoked = True
            owner.revocations.append(revoked)


class Issuer(IssuerParameter):
    """RFC 9207 ``iss`` on authorization responses, following the owner's switches."""

    def __init__(self, owner: OAuthServer) -> None:
        self.owner = owner

    def get_issuer(self) -> str | None:
        if not self.owner.include_iss:
            return None
        return self.owner.issuer if self.owner.iss_override is None else self.owner.iss_override
