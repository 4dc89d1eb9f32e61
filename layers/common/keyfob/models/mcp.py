"""Remote MCP servers as connection targets: what an integration names of one, and what
Keyfob learned of its authorization server for one connection attempt (the grant)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from keyfob.models.types import Model, Url

MCP_APP = "mcp"
# Never two separators in a row: `__` parts the alias from the remote tool's name.
ALIAS_PATTERN = r"^[a-z0-9]+(?:[_-][a-z0-9]+)*$"


class McpSettings(Model):
    """A remote MCP server (Streamable HTTP) that Keyfob connects entities to as an OAuth
    client, discovering its authorization server (RFC 9728, RFC 8414, OpenID discovery)."""

    server_url: Url | None = Field(
        default=None,
        description="The MCP endpoint (https). Default: the catalog app's remote MCP server.",
    )
    alias: Annotated[str, StringConstraints(pattern=ALIAS_PATTERN, max_length=32)] | None = Field(
        default=None,
        description="Prefix of its tools at Keyfob's MCP gateway (`<alias>__<tool>`); "
        "default: the app's slug.",
    )
    issuer: Url | None = Field(
        default=None,
        description="With pre-registered credentials: the issuer of the authorization server "
        "they were registered with. Discovery naming another refuses to connect.",
    )


class Grant(BaseModel):
    """The authorization server one connection attempt (and then its tokens) belongs to:
    recorded from validated metadata before the user is sent there, kept with the pending
    state and then with the token set. Nothing here is secret."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    issuer: str
    token_endpoint: str
    revocation_endpoint: str | None = None
    resource: str
    client_id: str
    # pre_registered | metadata_document | dynamic: how client_id came about.
    registration: str
    token_endpoint_auth_method: str
    # RFC 9207: the server said it sends `iss`, so a response without one is refused.
    iss_required: bool = False
    scope: str | None = None
