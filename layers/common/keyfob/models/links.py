"""Connect links in the API: a single-use link to the hosted connect page."""

from __future__ import annotations

from pydantic import Field

from keyfob.models.types import EntityId, Labels, Model, ResourceId, Url


class ConnectLinkCreate(Model):
    integration_id: ResourceId
    entity_id: EntityId
    redirect_url: Url = Field(
        description="Where the end user's browser goes once connected, with "
        "connected_account_id and status in the query."
    )
    labels: Labels = Field(default_factory=dict)


class ConnectLink(Model):
    id: str
    url: str = Field(description="The hosted connect page: single use, send the end user here.")
    expires_at: str
