"""The one interface every auth scheme family implements.

A family takes a connection from its start to its end: ``begin`` (where to send the
user, or the credential to store at once), ``complete`` (the provider's answer, back at
the callback), ``refresh``, ``revoke``, ``apply`` (the credential on a request to the
app's API) and ``probe`` (prove a credential with the app's identity call). The services
call these and own everything around them: records, status transitions, events, leases.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple

if TYPE_CHECKING:
    from keyfob.auth.upstream import Credential, ProbeResult
    from keyfob.catalog.schema import SchemeSpec
    from keyfob.models.mcp import Grant
    from keyfob.models.records.integrations import IntegrationRecord
    from keyfob.models.settings import ApiSettings

RevocationStatus = Literal["revoked", "failed", "not_supported"]


class Context(NamedTuple):
    """An integration and one connection's plain params, with the integration's
    decrypted client secret where the family needs one."""

    integration: IntegrationRecord
    params: Mapping[str, str]
    client_secret: str = ""
    # A remote MCP server's connection: the authorization server its attempt or its
    # tokens belong to (keyfob.auth.mcp). None: the integration names the endpoints.
    grant: Grant | None = None
    # Scopes an attempt asks for besides the integration's (incremental authorization).
    scopes: tuple[str, ...] = ()
    # A GitHub App's OAuth client secret (its client_secret is the app's private key).
    oauth_client_secret: str = ""


class Authorization(NamedTuple):
    """Where to send the user's browser, and what the callback must match it with."""

    url: str
    state: str
    code_verifier: str | None
    grant: Grant | None = None
    # The scopes it asks for, to tell a partial grant by.
    scopes: tuple[str, ...] | None = None


class Begun(NamedTuple):
    """A started connection: an authorization to send the user to, or a credential that
    is complete as given (to verify and store)."""

    authorization: Authorization | None = None
    credential: Mapping[str, Any] = MappingProxyType({})


class GrantError(Exception):
    """The provider did not give a credential; the message is safe to store and show.

    ``transient``: the provider may well answer next time (a timeout, a 5xx, a 429), so
    the grant itself is not in doubt. ``error``: the RFC 6749 error code, if one came.
    """

    def __init__(self, message: str, *, transient: bool = False, error: str | None = None):
        super().__init__(message)
        self.transient = transient
        self.error = error


class Family(ABC):
    """One family of auth schemes. What a family has no use for raises GrantError; its
    flags say beforehand what it does."""

    # Whether a connection is made in the user's browser (a redirect and a callback).
    redirects: ClassVar[bool]
    # Whether its credential expires and ``refresh`` renews it.
    renews: ClassVar[bool]
    # Whether ``revoke`` can end its grant at the provider.
    revocable: ClassVar[bool]
    # Whether it renews with no refresh token: the grant is made again with the stored
    # credential (client credentials, a JWT assertion, an exchange).
    renews_itself: ClassVar[bool] = False
    # Whether ``begin`` calls the provider as the integration's client (OAuth 1.0a's
    # request token): its context then carries the client secret.
    begins_with_secret: ClassVar[bool] = False

    @abstractmethod
    def begin(self, context: Context, secret: Mapping[str, Any], redirect_uri: str) -> Begun:
        """Start a connection; ``secret``: the secret connection fields the user gave."""

    def callback_code(self, query: Mapping[str, str]) -> str | None:
        """What the callback's query carries for ``complete``: the code flow's code."""
        return query.get("code")

    def complete(
        self, context: Context, code: str, redirect_uri: str, code_verifier: str | None
    ) -> dict[str, Any]:
        raise GrantError("this connection has no callback")

    def refresh(self, context: Context, credential: Mapping[str, Any]) -> dict[str, Any]:
        raise GrantError("this credential is not refreshed")

    def revoke(
        self, context: Context, credential: Mapping[str, Any]
    ) -> tuple[RevocationStatus, str | None]:
        raise GrantError("this credential is not revoked by Keyfob")

    def apply(self, scheme: SchemeSpec, values: Mapping[str, Any]) -> Credential:
        """The credential as a requests auth hook, the way the app takes it."""
        from keyfob.auth.upstream import placed

        return placed(scheme, values)

    def identity(self, credential: Mapping[str, Any]) -> ProbeResult | None:
        """The upstream account as the grant itself names it, when it does (a GitHub App
        installation's account): no identity call is made then."""
        return None

    def probe(
        self,
        api: ApiSettings,
        scheme: SchemeSpec,
        credential: Mapping[str, Any],
        params: Mapping[str, str],
    ) -> ProbeResult:
        """Call the app's identity endpoint with the credential and read the answer."""
        from keyfob.auth.upstream import probe

        return probe(api, self.apply(scheme, credential), params)


class Minted(Family):
    """A family whose token is bought again, whenever it is due, with the credential's own
    secret fields (client credentials, a JWT assertion, an exchange): no redirect, no
    refresh token."""

    redirects = False
    renews = True
    renews_itself = True

    @abstractmethod
    def mint(self, context: Context, credential: Mapping[str, Any]) -> dict[str, Any]:
        """A new token set, with the secret fields it was bought with kept beside it."""

    def begin(self, context: Context, secret: Mapping[str, Any], redirect_uri: str) -> Begun:
        return Begun(credential=self.mint(context, secret))

    def refresh(self, context: Context, credential: Mapping[str, Any]) -> dict[str, Any]:
        return self.mint(context, credential)


def secret_fields(scheme: SchemeSpec, credential: Mapping[str, Any]) -> dict[str, Any]:
    """The credential's secret connection fields: what buys the next token."""
    names = {f.name for f in scheme.connection_fields if f.secret}
    return {k: v for k, v in credential.items() if k in names}
