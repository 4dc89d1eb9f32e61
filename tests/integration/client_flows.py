"""What the client and CLI integration tests share: an OAuth integration on the loopback
provider, and a user's browser approving the authorization while the client waits."""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlsplit

import requests

from devstack.oauth_provider import OAuthServer
from keyfob_client import Client

APP_RETURN_URL = "https://app.example.com/connected"


def oauth_integration(
    client: Client, oauth_server: OAuthServer, *, require_confirmation: bool | None = None
) -> str:
    """An integration of the loopback provider, created through the client; its API is
    the provider's resource API."""
    client_id, client_secret = oauth_server.register_client(
        redirect_uris=[f"{client.base_url}/v1/oauth/callback"],
        token_endpoint_auth_method="client_secret_basic",
    )
    integration = client.create_integration(
        "oauth2",
        "OAUTH2",
        name="Loopback provider",
        credentials={
            "client_id": client_id,
            "client_secret": client_secret,
            "scopes": ["read", "offline_access"],
        },
        oauth={
            "authorization_url": oauth_server.authorization_url,
            "token_url": oauth_server.token_url,
            "revocation_url": oauth_server.revocation_url,
            "token_endpoint_auth_method": "client_secret_basic",
        },
        api={"base_url": oauth_server.api_url},
        require_confirmation=require_confirmation,
    )
    return integration.id


def approve(authorization_url: str) -> dict[str, list[str]]:
    """The user's browser: to the provider, back to Keyfob's callback, and the query of
    where Keyfob sends it next (the app's redirect_url, with the outcome)."""
    to_callback = requests.get(authorization_url, allow_redirects=False, timeout=10)
    back = requests.get(to_callback.headers["Location"], allow_redirects=False, timeout=10)
    return parse_qs(urlsplit(back.headers["Location"]).query)


def approve_soon(authorization_url: str, delay: float = 0.3) -> threading.Thread:
    """Approve in the background, after the caller has started waiting."""
    timer = threading.Timer(delay, approve, args=(authorization_url,))
    timer.start()
    return timer
