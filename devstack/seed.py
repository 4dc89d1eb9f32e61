"""What the local stack asks of Keyfob itself: the dev tenant, the local AWS account
allowed to put commands for it, and the demo provider's integration. The one module of
devstack that imports the ``keyfob`` package (the layer's code)."""

from __future__ import annotations

from .oauth_provider import OAuthServer

CALLBACK_PATH = "/v1/oauth/callback"


def seed_tenant(api_key: str | None) -> tuple[str, str]:
    """The dev tenant's id and API key: the tenant the key opens already (a persistent
    backend), or a new tenant named ``dev``."""
    from keyfob.services.tenants import create_tenant, tenant_for_api_key

    if api_key and (existing := tenant_for_api_key(api_key)):
        return existing, api_key
    tenant, key = create_tenant(name="dev", api_key=api_key)
    return tenant.id, key


def allow_account(tenant_id: str, aws_account: str) -> None:
    """Let an AWS account put commands for the tenant."""
    from keyfob.services.tenants import allow_aws_account

    allow_aws_account(tenant_id, aws_account)


def start_demo_provider(tenant_id: str, public_url: str) -> tuple[OAuthServer, str]:
    """Start the demo OAuth provider, register Keyfob's callback with it, and create the
    tenant's integration for it; returns the running provider and the integration's id."""
    from keyfob.models.integrations import IntegrationCreate
    from keyfob.services import integrations

    provider = OAuthServer().start()
    client_id, client_secret = provider.register_client(
        redirect_uris=[f"{public_url}{CALLBACK_PATH}"],
        token_endpoint_auth_method="client_secret_basic",
    )
    credentials = {"client_id": client_id, "client_secret": client_secret}
    oauth = {"authorization_url": provider.authorization_url, "token_url": provider.token_url}
    oauth |= {"revocation_url": provider.revocation_url, "issuer": provider.issuer}
    # Its resource API names the user, as GitHub's /user would.
    identity = {"path": "/me", "id_field": "id", "name_field": "login"}
    integration = integrations.create(
        tenant_id,
        IntegrationCreate.model_validate(
            {
                "app": "oauth2",
                "auth_scheme": "OAUTH2",
                "name": "Demo OAuth provider (local stack)",
                "credentials": {**credentials, "scopes": ["read", "offline_access"]},
                "oauth": {**oauth, "token_endpoint_auth_method": "client_secret_basic"},
                "api": {"base_url": provider.api_url, "identity": identity},
            }
        ),
    )
    return provider, integration.id
