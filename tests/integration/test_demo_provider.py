"""The README's offline OAuth walk-through: the local stack's demo provider and integration."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests

from devstack.gateway import Gateway
from devstack.seed import start_demo_provider
from tests.conftest import Api, Tenant


def test_demo_integration_connects_an_account_with_plain_redirects(
    gateway: Gateway, tenant: Tenant, api: Api
) -> None:
    # Given the demo provider and its integration, as `make dev` sets them up
    provider, integration_id = start_demo_provider(tenant.id, gateway.url)
    try:
        # When an account is initiated and each redirect is followed, as curl would
        account = api.post(
            "/v1/connected_accounts",
            json={
                "integration_id": integration_id,
                "entity_id": "readme-user",
                "redirect_url": "https://example.com/done",
            },
        ).json()
        to_callback = requests.get(account["redirect_url"], allow_redirects=False, timeout=10)
        back = requests.get(to_callback.headers["Location"], allow_redirects=False, timeout=10)
        # Then the app is told the account is ACTIVE, and its token is the provider's
        query = parse_qs(urlsplit(back.headers["Location"]).query)
        assert query["status"] == ["ACTIVE"]
        assert query["connected_account_id"] == [account["id"]]
        credentials = api.get(f"/v1/connected_accounts/{account['id']}/credentials").json()
        assert (
            credentials["credentials"]["access_token"] == provider.issued_tokens[-1]["access_token"]
        )
    finally:
        provider.stop()
