"""An integration, and the OAuth clients Keyfob registered for its connections."""

from __future__ import annotations

from keyfob.catalog.names import AuthScheme
from keyfob.catalog.scheme_parts import GitHubAppSpec, OAuth1Spec
from keyfob.models.mcp import McpSettings
from keyfob.models.records.base import EncryptedBlob, Record
from keyfob.models.settings import ApiSettings, OAuthSettings


class IntegrationRecord(Record):
    tenant_id: str
    id: str
    name: str
    app: str
    auth_scheme: AuthScheme
    client_id: str | None = None
    scopes: list[str] = []
    oauth: OAuthSettings | None = None
    oauth1: OAuth1Spec | None = None
    github_app: GitHubAppSpec | None = None
    api: ApiSettings | None = None
    # A remote MCP server, whose authorization server each connection discovers.
    mcp: McpSettings | None = None
    require_confirmation: bool = False
    secret: EncryptedBlob | None = None
    account_count: int = 0
    created_at: str


class RegistrationRecord(Record):
    """An OAuth client Keyfob registered (RFC 7591) with an MCP server's authorization
    server, keyed by tenant and the authorization server's issuer, reused by every
    connection to it; its client secret is encrypted."""

    tenant_id: str
    issuer: str
    client_id: str
    token_endpoint_auth_method: str
    secret: EncryptedBlob | None = None
    client_secret_expires_at: int | None = None  # epoch seconds; None or 0: never
    registered_at: str
