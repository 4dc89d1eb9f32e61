"""The local stack's demo OAuth 2.0 provider, wired to an integration of the dev tenant,
so that a new user can make a whole OAuth connection with curl, offline."""

from __future__ import annotations

from .oauth_provider import OAuthServer

CALLBACK_PATH = "/v1/oauth/callback"


def start_demo_provider(tenant_id: str, public_url: str) -> tuple[OAuthServer, str]:
    """Start the provider, register Keyfob's callback with it, and create an integration
    for it; returns the running provider and the integration's id."""
    from keyfob.models.api import IntegrationCreate
    from keyfob.services import integrations

    provider = OAuthServer().start()
    client_id, client_secret = provider.register_client(
        redirect_uris=[f"{public_url}{CALLBACK_PATH}"],
        token_endpoint_auth_method="client_secret_basic",
    )
    integration = integrations.create(
        tenant_id,
        IntegrationCreate.model_validate(
            {
                "app": "oauth2",
                "auth_scheme": "OAUTH2",
                "name": "Demo OAuth provider (local stack)",
                "credentials": {
                    "client_id": client_id,
                    "client_secret": client_secret,
                    "scopes": ["read", "offline_access"],
                },
                "oauth": {
                    "authorization_url": provider.authorization_url,
                    "token_url": provider.token_url,
                    "revocation_url": provider.revocation_url,
                    "token_endpoint_auth_method": "client_secret_basic",
                    "issuer": provider.issuer,
                },
                # Its resource API names the user, as GitHub's /user would.
                "api": {
                    "base_url": provider.api_url,
                    "identity": {"path": "/me", "id_field": "id", "name_field": "login"},
                },
            }
        ),
    )
    return provider, integration.id
