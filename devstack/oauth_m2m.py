"""The demo provider's machine-to-machine parts, on Authlib's server components: the
client credentials grant (RFC 6749 4.4), JWT client authentication (RFC 7523 2.2,
``private_key_jwt`` with the client's public key, ``client_secret_jwt`` with its secret)
and the JWT bearer grant (RFC 7523 2.1: a service account's assertion, its issuer the
client id, signed with the client's private key)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion, JWTBearerGrant
from joserfc.jwk import Key, OctKey, RSAKey

from .oauth_grants import TEST_USER, TOKEN_AUTH_METHODS, Client

if TYPE_CHECKING:
    from .oauth_provider import OAuthServer

# What Authlib calls either JWT method; a client registers as one of the two.
ASSERTION = JWTBearerClientAssertion.CLIENT_AUTH_METHOD
JWT_METHODS = ("private_key_jwt", "client_secret_jwt")


class ClientAssertion(JWTBearerClientAssertion):
    """A client's signed assertion: its audience the token endpoint, its jti used once."""

    def __init__(self, owner: OAuthServer) -> None:
        super().__init__(validate_jti=True)
        self.owner = owner

    def get_audiences(self) -> list[str]:
        return [self.owner.token_url]

    def validate_jti(self, claims: Any, jti: str) -> bool:
        with self.owner.lock:
            fresh = jti not in self.owner.assertion_ids
            self.owner.assertion_ids.add(jti)
        return fresh

    def resolve_client_public_key(self, client: Client) -> Key:
        if client.token_endpoint_auth_method == "client_secret_jwt":
            return OctKey.import_key(client.client_secret)
        assert client.public_key is not None
        return RSAKey.import_key(client.public_key)


class MachineGrant(ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS

    def validate_token_request(self) -> None:
        super().validate_token_request()
        # What the token request asked for besides (audience, RFC 8707 resource) is noted.
        data = self.request.payload.data
        with self.server.owner.lock:
            self.server.owner.m2m_requests.append(
                {k: data.get(k) for k in ("audience", "resource", "scope")}
            )


class AssertionGrant(JWTBearerGrant):
    """A JWT bearer grant; the assertion's claims are noted (a Google assertion carries
    its scopes; a subject is a user the issuer acts as)."""

    def get_audiences(self) -> list[str]:
        owner: OAuthServer = self.server.owner
        return [owner.token_url, *owner.extra_audiences]

    def resolve_issuer_client(self, issuer: str) -> Client | None:
        owner: OAuthServer = self.server.owner
        with owner.lock:
            client: Client | None = owner.clients.get(issuer)
        return client

    def resolve_client_public_key(self, client: Client) -> Key:
        assert client.public_key is not None
        return RSAKey.import_key(client.public_key)

    def authenticate_user(self, subject: str) -> dict[str, str]:
        return {**TEST_USER, "login": subject}

    def has_granted_permission(self, client: Client, user: Any) -> bool:
        return True

    def process_assertion_claims(self, assertion: str) -> Any:
        claims = super().process_assertion_claims(assertion)
        with self.server.owner.lock:
            self.server.owner.m2m_requests.append({"assertion": dict(claims)})
        return claims


def register(server: Any, owner: OAuthServer) -> None:
    server.register_grant(MachineGrant)
    server.register_grant(AssertionGrant)
    server.register_client_auth_method(ASSERTION, ClientAssertion(owner))
