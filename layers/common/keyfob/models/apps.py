"""The catalog as the API shows it: apps, their auth schemes, the params they need."""

from __future__ import annotations

from pydantic import Field

from keyfob.catalog.lifecycle import Deprecation
from keyfob.catalog.names import AuthScheme
from keyfob.catalog.schema import ParamField
from keyfob.models.types import Model


class SchemeSummary(Model):
    type: AuthScheme
    authorization_url: str | None = None
    token_url: str | None = None
    revocation_url: str | None = None
    default_scopes: list[str] = []
    pkce: bool | None = None
    docs_url: str | None = None
    deprecated: Deprecation | None = Field(
        default=None, description="The provider retires this scheme: when, and what instead."
    )


class AppView(Model):
    slug: str
    name: str
    description: str
    categories: list[str]
    docs_url: str
    logo_url: str | None = None
    api_base_url: str
    auth_schemes: list[SchemeSummary]


class AppList(Model):
    items: list[AppView]


class AppParams(Model):
    app: str
    auth_scheme: AuthScheme
    integration_fields: list[ParamField] = Field(
        description="What the developer supplies once, when creating an integration."
    )
    connection_fields: list[ParamField] = Field(
        description="What each end user supplies to connect an account."
    )
