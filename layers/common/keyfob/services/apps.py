"""The catalog as the API shows it: apps, and the params an app and scheme need."""

from __future__ import annotations

from typing import TYPE_CHECKING

from keyfob.catalog import loader
from keyfob.catalog.names import AuthScheme
from keyfob.catalog.params import integration_fields
from keyfob.models.apps import AppList, AppParams, AppView, SchemeSummary

if TYPE_CHECKING:
    from keyfob.catalog.schema import App


def view(app: App) -> AppView:
    return AppView(
        slug=app.slug,
        name=app.name,
        description=app.description,
        categories=list(app.categories),
        docs_url=str(app.docs_url),
        logo_url=app.logo_url,
        api_base_url=app.api_base_url,
        auth_schemes=[
            SchemeSummary(
                type=s.type,
                authorization_url=s.authorization_url,
                token_url=s.token_url,
                revocation_url=s.revocation_url,
                default_scopes=list(s.default_scopes),
                pkce=s.pkce if s.type is AuthScheme.OAUTH2 else None,
                docs_url=s.docs_url,
                deprecated=s.deprecated,
            )
            for s in app.auth_schemes
        ],
    )


def list_all(auth_scheme: AuthScheme | None = None) -> AppList:
    apps = loader.list_apps()
    if auth_scheme is not None:
        apps = [a for a in apps if any(s.type is auth_scheme for s in a.auth_schemes)]
    return AppList(items=[view(a) for a in apps])


def get(slug: str) -> AppView:
    return view(loader.get_app(slug))


def fields(slug: str, auth_scheme: AuthScheme) -> AppParams:
    scheme = loader.get_app(slug).scheme(auth_scheme)
    return AppParams(
        app=slug,
        auth_scheme=auth_scheme,
        integration_fields=integration_fields(scheme),
        connection_fields=list(scheme.connection_fields),
    )
