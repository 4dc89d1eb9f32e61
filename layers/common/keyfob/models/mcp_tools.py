"""The arguments of the tools Keyfob serves to agents over MCP, and the detail of the
audit event each tool call publishes. Each tool's input schema is its model's JSON
schema; an agent key decides which entities, apps and tools a caller reaches."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from keyfob.models.proxy import HeaderName, HeaderValue, QueryName, QueryValue
from keyfob.models.types import EntityId, Model, ResourceId, Slug, Url

_Entity = Annotated[
    EntityId | None,
    Field(
        description="The end user. An agent key limited to one entity needs none; a full key "
        "must name one."
    ),
]


class Tool(Model):
    """What every tool may name: the entity acted for."""

    entity_id: _Entity = None


class AppChoice(Tool):
    app: Slug | None = Field(default=None, description="The app's slug (see list_apps).")
    integration_id: ResourceId | None = Field(
        default=None, description="The integration, where the tenant has several for the app."
    )


class ListApps(Model):
    pass


class ListConnections(Tool):
    pass


class ConnectApp(AppChoice):
    redirect_url: Url | None = Field(
        default=None,
        description="Where the user's browser goes once connected; none: a page that says so.",
    )


class ConnectionStatus(AppChoice):
    connected_account_id: ResourceId | None = None
    wait_seconds: Annotated[int, Field(ge=0, le=20)] = Field(
        default=0, description="Wait up to this long for the connection to become ACTIVE."
    )


class CallApi(AppChoice):
    connected_account_id: ResourceId | None = None
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    path: Annotated[str, StringConstraints(min_length=1, max_length=2048)] = Field(
        description="Under the app's API base URL, starting with /."
    )
    query: Annotated[
        dict[QueryName, QueryValue | Annotated[list[QueryValue], Field(max_length=100)]],
        Field(max_length=100),
    ] = Field(default_factory=dict)
    headers: Annotated[dict[HeaderName, HeaderValue], Field(max_length=50)] = Field(
        default_factory=dict
    )
    body: Any = None


class AgentActivity(Model):
    """The detail of ``Keyfob.AgentActivity``: one tool call at Keyfob's MCP endpoint.
    Never a body, an argument's value or a secret."""

    event_id: str
    occurred_at: str
    tenant_id: str
    api_key_id: str
    entity_id: str | None
    app: str | None
    connected_account_id: str | None
    tool: str
    method: str | None = Field(description="call_api: the proxied request's method.")
    path: str | None = Field(description="call_api: the proxied request's path, no query.")
    status: str = Field(description="ok, or the error's code.")
    upstream_status: int | None
    duration_ms: int
    correlation_id: str | None
