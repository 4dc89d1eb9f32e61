"""The demo provider's machine-to-machine parts, on Authlib's server components: the
client credentials grant (RFC 6749 4.4) and JWT client authentication (RFC 7523 2.2,
``private_key_jwt`` with the client's public key, ``client_secret_jwt`` with its secret)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc.jwk import Key, OctKey, RSAKey

from .oauth_grants import CLIENT_AUTH_METHODS, Client

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
    TOKEN_ENDPOINT_AUTH_METHODS = [*CLIENT_AUTH_METHODS, ASSERTION]

    def validate_token_request(self) -> None:
        super().validate_token_request()
        # What the token request asked for besides (audience, RFC 8707 resource) is noted.
        data = self.request.payload.data
        with self.server.owner.lock:
            self.server.owner.m2m_requests.append(
                {k: data.get(k) for k in ("audience", "resource", "scope")}
            )


def register(server: Any, owner: OAuthServer) -> None:
    server.register_grant(MachineGrant)
    server.register_client_auth_method(ASSERTION, ClientAssertion(owner))
