"""Integrations for remote MCP servers: app ``mcp`` naming its server, or a catalog app
that publishes one (``mcp_server_url``). Nothing is called here: the authorization
server is discovered when a connection starts, so that it is always the one the server
names now."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from keyfob.catalog.names import AuthScheme
from keyfob.catalog.params import integration_fields
from keyfob.catalog.params import validate as validate_params
from keyfob.core.errors import Invalid
from keyfob.core.urls import url_problem
from keyfob.models.mcp import MCP_APP, McpSettings
from keyfob.models.settings import ApiSettings, OAuthSettings

if TYPE_CHECKING:
    from keyfob.catalog.schema import App, SchemeSpec
    from keyfob.models.integrations import IntegrationCreate


def _invalid(field: str, reason: str) -> Invalid:
    return Invalid(
        "invalid_mcp_settings",
        f"{field} {reason}",
        {"invalid": [{"field": field, "reason": reason}]},
    )


def settings(app: App, scheme: SchemeSpec, request: IntegrationCreate) -> McpSettings:
    """The integration's MCP server, checked: an https URL (loopback http for the local
    stack), the catalog's for an app that has one."""
    given = request.mcp
    assert given is not None
    if scheme.type is not AuthScheme.OAUTH2:
        raise _invalid("mcp", "applies to OAUTH2 integrations only")
    if request.oauth is not None:
        raise _invalid("oauth", "is discovered from the MCP server: give none")
    server_url = given.server_url or app.mcp_server_url
    if not server_url:
        reason = "is required" if app.slug == MCP_APP else f"is required: {app.slug} has none"
        raise _invalid("mcp.server_url", reason)
    if problem := url_problem(server_url):
        raise _invalid("mcp.server_url", problem)
    if given.issuer and (problem := url_problem(given.issuer)):
        raise _invalid("mcp.issuer", problem)
    return given.model_copy(update={"server_url": server_url, "alias": given.alias or app.slug})


def credentials(scheme: SchemeSpec, request: IntegrationCreate) -> dict[str, Any]:
    """A pre-registered client, if any: client_id (and its secret, for a confidential one)."""
    optional = [f.model_copy(update={"required": False}) for f in integration_fields(scheme)]
    values = validate_params(optional, request.credentials, what="credentials")
    if "client_secret" in values and "client_id" not in values:
        raise _invalid("credentials.client_id", "is required with a client_secret")
    return values


def oauth_settings(scheme: SchemeSpec) -> OAuthSettings:
    """What stays the integration's own: PKCE, the refresh buffer. The endpoints are the
    discovered authorization server's, kept with each connection's grant."""
    return OAuthSettings(pkce=True, refresh_buffer_seconds=scheme.refresh_buffer_seconds)


def api_settings(mcp: McpSettings) -> ApiSettings:
    # Its tokens are for the MCP server alone (RFC 8707 audience): the proxy goes there.
    return ApiSettings(base_url=mcp.server_url)
