"""Integrations: an app, an auth scheme and the developer's own credentials for it."""

from __future__ import annotations

from keyfob import auth
from keyfob.auth import upstream
from keyfob.catalog import loader
from keyfob.catalog.names import AuthScheme
from keyfob.catalog.params import integration_fields
from keyfob.catalog.params import validate as validate_params
from keyfob.catalog.schema import TOKEN_URL_SCHEMES
from keyfob.core.errors import Conflict, Invalid
from keyfob.core.ids import iso, new_id, now
from keyfob.core.observability import logger
from keyfob.models.integrations import IntegrationCreate, IntegrationPage, IntegrationView
from keyfob.models.mcp import MCP_APP, McpSettings
from keyfob.models.records.integrations import IntegrationRecord
from keyfob.services import mcp_integrations, records
from keyfob.services.store_errors import translated
from keyfob.store import integrations
from keyfob.store.errors import InUse

# The credentials kept encrypted (a GitHub App has two: its private key, its client secret).
_SECRETS = ("client_secret", "oauth_client_secret")


def warnings(app: str, kind: AuthScheme) -> list[str]:
    """A retiring scheme's warning, from the catalog (which may mark it after creation)."""
    deprecated = loader.get_app(app).scheme(kind).deprecated
    if deprecated is None:
        return []
    return [f"{app} retires {kind.value} on {deprecated.date}: {deprecated.message}"]


def view(record: IntegrationRecord) -> IntegrationView:
    return IntegrationView(
        id=record.id,
        name=record.name,
        app=record.app,
        auth_scheme=record.auth_scheme,
        client_id=record.client_id,
        scopes=record.scopes,
        oauth=record.oauth,
        oauth1=record.oauth1,
        github_app=record.github_app,
        api=record.api,
        mcp=record.mcp,
        require_confirmation=record.require_confirmation,
        account_count=record.account_count,
        created_at=record.created_at,
        warnings=warnings(record.app, record.auth_scheme),
    )


def _not_oauth(field: str, scheme: AuthScheme) -> Invalid:
    return Invalid(
        "invalid_oauth_settings",
        f"{field} does not apply to {scheme.value}",
        {"invalid": [{"field": field, "reason": "not an OAUTH2 integration"}]},
    )


def _check_private_key(pem: object, signer: str = "private_key_jwt") -> None:
    """The client secret is the client's private key, checked now."""
    from keyfob.auth.keys import signing_key_problem

    if isinstance(pem, str) and (problem := signing_key_problem(pem)):
        raise Invalid(
            "invalid_credentials",
            f"client_secret {problem} ({signer} signs with it)",
            {"invalid": [{"field": "client_secret", "reason": problem}]},
        )


def _check_rsa_key(method: str, pem: object) -> None:
    if method == "RSA-SHA1":
        _check_private_key(pem, "RSA-SHA1")


def create(tenant_id: str, request: IntegrationCreate) -> IntegrationView:
    app = loader.get_app(request.app)
    scheme = app.scheme(request.auth_scheme)
    mcp = None
    if request.mcp is None and app.slug == MCP_APP:
        request = request.model_copy(update={"mcp": McpSettings()})
    if request.mcp is not None:
        mcp = mcp_integrations.settings(app, scheme, request)
        values = mcp_integrations.credentials(scheme, request)
    else:
        fields = integration_fields(scheme)
        values = validate_params(fields, request.credentials, what="credentials")
    oauth = None
    if mcp is not None:
        oauth = mcp_integrations.oauth_settings(scheme)
    elif scheme.type in TOKEN_URL_SCHEMES:
        from keyfob.auth.oauth2 import effective_settings

        oauth = effective_settings(app, scheme, request.oauth)
    elif request.oauth is not None:
        raise _not_oauth("oauth", scheme.type)
    oauth1 = None
    if scheme.type is AuthScheme.OAUTH1:
        from keyfob.auth.oauth1 import effective_settings as oauth1_settings

        oauth1 = oauth1_settings(app, scheme, request.oauth1)
        _check_rsa_key(oauth1.signature_method, values.get("client_secret"))
    elif request.oauth1 is not None:
        raise _not_oauth("oauth1", scheme.type)
    github_app = None
    if scheme.type is AuthScheme.GITHUB_APP:
        from keyfob.auth.github_app import effective_settings as github_app_settings

        slug = values.get("app_slug")
        assert isinstance(slug, str)
        github_app = github_app_settings(app, scheme, request.github_app, slug)
        _check_private_key(values.get("client_secret"), "the app's JWT")
    elif request.github_app is not None:
        raise _not_oauth("github_app", scheme.type)
    if request.require_confirmation and not auth.family(scheme.type).redirects:
        raise _not_oauth("require_confirmation", scheme.type)
    if oauth is not None and oauth.token_endpoint_auth_method == "private_key_jwt":
        _check_private_key(values.get("client_secret"))
    api = (
        mcp_integrations.api_settings(mcp)
        if mcp is not None
        else upstream.effective_settings(app, scheme, request.api)
    )
    if scheme.deprecated is not None:
        logger.warning(
            "integration of a deprecated scheme",
            extra={"app": app.slug, "auth_scheme": scheme.type.value},
        )
    integration_id = new_id("int")
    secret = None
    if held := {k: values[k] for k in _SECRETS if k in values}:
        from keyfob.security import crypto

        secret = crypto.encrypt(
            held,
            tenant_id=tenant_id,
            record=f"INTEGRATION#{integration_id}",
        )
    client_id = values.get("client_id")
    # A remote MCP server's scopes come from the server; these are asked for besides.
    scopes = values.get("scopes", []) if mcp is None or "scopes" in request.credentials else []
    record = IntegrationRecord(
        tenant_id=tenant_id,
        id=integration_id,
        name=request.name or f"{app.name} ({scheme.type.value})",
        app=app.slug,
        auth_scheme=scheme.type,
        client_id=client_id if isinstance(client_id, str) else None,
        scopes=scopes if isinstance(scopes, list) else [scopes],
        oauth=oauth,
        oauth1=oauth1,
        github_app=github_app,
        api=api,
        mcp=mcp,
        require_confirmation=request.require_confirmation,
        secret=secret,
        created_at=iso(now()),
    )
    integrations.put(record)
    return view(record)


def get(tenant_id: str, integration_id: str) -> IntegrationView:
    return view(records.integration(tenant_id, integration_id))


def list_page(tenant_id: str, limit: int, cursor: str | None) -> IntegrationPage:
    with translated():
        found, next_cursor = integrations.page(tenant_id, limit, cursor)
    return IntegrationPage(items=[view(r) for r in found], next_cursor=next_cursor)


def delete(tenant_id: str, integration_id: str) -> None:
    try:
        with translated():
            integrations.delete(tenant_id, integration_id)
    except InUse as in_use:
        count = in_use.account_count
        raise Conflict(
            "integration_in_use",
            f"Integration {integration_id!r} still has {count} connected account(s)",
            {"integration_id": integration_id, "account_count": count},
        ) from in_use
