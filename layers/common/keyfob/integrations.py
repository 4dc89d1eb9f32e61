"""Integrations: an app, an auth scheme and the developer's own credentials for it."""

from __future__ import annotations

from keyfob import catalog, params, store
from keyfob.catalog import AuthScheme
from keyfob.errors import Unprocessable
from keyfob.ids import iso, new_id, now
from keyfob.models import (
    IntegrationCreate,
    IntegrationPage,
    IntegrationRecord,
    IntegrationView,
)


def view(record: IntegrationRecord) -> IntegrationView:
    return IntegrationView(
        id=record.id,
        name=record.name,
        app=record.app,
        auth_scheme=record.auth_scheme,
        client_id=record.client_id,
        scopes=record.scopes,
        oauth=record.oauth,
        account_count=record.account_count,
        created_at=record.created_at,
    )


def create(tenant_id: str, request: IntegrationCreate) -> IntegrationView:
    app = catalog.get_app(request.app)
    scheme = app.scheme(request.auth_scheme)
    values = params.validate(
        params.integration_fields(scheme), request.credentials, what="credentials"
    )
    oauth = None
    if scheme.type is AuthScheme.OAUTH2:
        from keyfob.oauth import effective_settings

        oauth = effective_settings(app, scheme, request.oauth)
    elif request.oauth is not None:
        raise Unprocessable(
            "invalid_oauth_settings",
            f"oauth settings apply only to OAUTH2, not {scheme.type.value}",
            {"invalid": [{"field": "oauth", "reason": "not an OAUTH2 integration"}]},
        )
    integration_id = new_id("int")
    secret = None
    if "client_secret" in values:
        from keyfob import crypto

        secret = crypto.encrypt(
            {"client_secret": values["client_secret"]},
            tenant_id=tenant_id,
            record=f"INTEGRATION#{integration_id}",
        )
    client_id = values.get("client_id")
    scopes = values.get("scopes", [])
    record = IntegrationRecord(
        tenant_id=tenant_id,
        id=integration_id,
        name=request.name or f"{app.name} ({scheme.type.value})",
        app=app.slug,
        auth_scheme=scheme.type,
        client_id=client_id if isinstance(client_id, str) else None,
        scopes=scopes if isinstance(scopes, list) else [scopes],
        oauth=oauth,
        secret=secret,
        created_at=iso(now()),
    )
    store.put_integration(record)
    return view(record)


def get(tenant_id: str, integration_id: str) -> IntegrationView:
    return view(store.get_integration(tenant_id, integration_id))


def list_page(tenant_id: str, limit: int, cursor: str | None) -> IntegrationPage:
    records, next_cursor = store.list_integrations(tenant_id, limit, cursor)
    return IntegrationPage(items=[view(r) for r in records], next_cursor=next_cursor)


def delete(tenant_id: str, integration_id: str) -> None:
    store.delete_integration(tenant_id, integration_id)
