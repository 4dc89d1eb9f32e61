"""Starting a connection in the API (initiate, reinitiate, confirm): what the requests
take and what they answer. Apart from the other account models so that the functions
that start connections load only these."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from keyfob.models.account_view import AccountView
from keyfob.models.types import EntityId, Labels, Model, ParamValue, ResourceId, Url


class ConnectionCreate(Model):
    integration_id: ResourceId
    entity_id: EntityId
    params: Annotated[dict[str, ParamValue], Field(max_length=20)] = Field(
        default_factory=dict, description="The app's connection_fields."
    )
    redirect_url: Url | None = Field(
        default=None, description="Where the user's browser goes after the OAuth callback."
    )
    labels: Labels = Field(default_factory=dict)


class InitiatedAccount(AccountView):
    redirect_url: str | None = Field(
        description="OAuth 2.0: send the user here to authorize. Otherwise null."
    )


class Reinitiate(Model):
    redirect_url: Url | None = Field(
        default=None, description="Where the browser goes after the callback; default: as before."
    )
    scopes: (
        Annotated[
            list[Annotated[str, StringConstraints(min_length=1, max_length=256)]],
            Field(min_length=1, max_length=50),
        ]
        | None
    ) = Field(
        default=None,
        description="OAuth 2.0 incremental authorization: scopes to ask for besides the "
        "integration's (its missing_scopes, say). The user is asked to consent again; an "
        "ACTIVE account may be reinitiated so, and is INITIATED until the callback.",
    )


class Confirmation(Model):
    code: Annotated[str, StringConstraints(min_length=1, max_length=256)] = Field(
        description="The confirmation_code your redirect_url received."
    )
    entity_id: EntityId = Field(
        description="The entity whose session received the code, as your app knows it."
    )
