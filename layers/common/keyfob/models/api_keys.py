"""API keys in the API: a tenant's full keys (several, for rotation) and agent keys,
restricted to some entities and optionally to some apps and MCP tools, with an expiry.
A key is shown once, when it is created; Keyfob keeps only its SHA-256 hash."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from keyfob.models.types import EntityId, Model, Slug

# The MCP tools an agent key may be limited to (``operations``): remote_tools stands for
# every tool of the entity's remote MCP servers.
Operation = Literal[
    "list_apps",
    "list_connections",
    "connect_app",
    "connection_status",
    "call_api",
    "remote_tools",
]
AGENT_OPERATIONS = get_args(Operation)
KeyKind = Literal["tenant", "agent"]
KEY_ID_PATTERN = r"^key_[a-z2-7]{24}$"
MAX_LIFETIME_SECONDS = 366 * 24 * 3600
DEFAULT_AGENT_LIFETIME_SECONDS = 30 * 24 * 3600


# What each kind takes, in the document's terms (the validator below says the same).
_BY_KIND: dict[str, Any] = {
    "if": {"properties": {"kind": {"const": "tenant"}}, "required": ["kind"]},
    "then": {
        "properties": {
            "entity_ids": {"maxItems": 0},
            "apps": {"type": "null"},
            "operations": {"type": "null"},
        }
    },
    "else": {"required": ["entity_ids"], "properties": {"entity_ids": {"minItems": 1}}},
}


class ApiKeyCreate(Model):
    model_config = ConfigDict(json_schema_extra=_BY_KIND)

    kind: KeyKind = Field(
        default="agent",
        description="agent: restricted to entity_ids (and apps, operations), for the MCP "
        "endpoint only; tenant: a full key for the whole API (rotation).",
    )
    name: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    entity_ids: Annotated[list[EntityId], Field(max_length=100)] = Field(
        default_factory=list, description="The entities an agent key acts for (at least one)."
    )
    apps: Annotated[list[Slug], Field(max_length=100)] | None = Field(
        default=None, description="Only these apps (catalog slugs); null: any."
    )
    operations: Annotated[list[Operation], Field(max_length=len(AGENT_OPERATIONS))] | None = Field(
        default=None, description="Only these MCP tools; null: all of them."
    )
    expires_in_seconds: Annotated[int, Field(ge=60, le=MAX_LIFETIME_SECONDS)] | None = Field(
        default=None,
        description="Lifetime; an agent key without one lives 30 days, a tenant key until deleted.",
    )

    @model_validator(mode="after")
    def _restricted_as_its_kind(self) -> ApiKeyCreate:
        if self.kind == "agent" and not self.entity_ids:
            raise ValueError("an agent key needs entity_ids")
        limited = self.apps is not None or self.operations is not None
        if self.kind == "tenant" and (self.entity_ids or limited):
            raise ValueError("a tenant key is not restricted: no entity_ids, apps or operations")
        return self


class ApiKeyView(Model):
    id: str
    kind: KeyKind
    name: str | None
    prefix: str = Field(description="The key's first characters, to recognise it by.")
    entity_ids: list[str]
    apps: list[str] | None
    operations: list[str] | None
    created_at: str
    expires_at: str | None


class CreatedApiKey(ApiKeyView):
    api_key: str = Field(description="The key itself: shown this once, never again.")


class ApiKeyPage(Model):
    items: list[ApiKeyView]
