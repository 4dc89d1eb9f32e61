"""Each function's sample event in events/ (the ones `sam local invoke -e` takes) works,
invoked directly as Lambda would, without the gateway in front."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devstack.gateway import Gateway
from keyfob import integrations
from keyfob.models import IntegrationCreate
from tests.conftest import Tenant

EVENTS = Path(__file__).resolve().parents[2] / "events"
SAMPLE_TENANT = "tn_samplesamplesamplesampl"

Invoke = Callable[[str, dict[str, Any]], Any]


@pytest.fixture
def invoke(gateway: Gateway) -> Invoke:
    """Invoke a function by its folder name under functions/."""
    by_folder = {fn.spec.code_dir.name: logical for logical, fn in gateway.functions.items()}
    return lambda folder, event: gateway.invoke(by_folder[folder], event)


def sample(name: str, tenant: Tenant) -> dict[str, Any]:
    text = (EVENTS / name).read_text().replace(SAMPLE_TENANT, tenant.id)
    event: dict[str, Any] = json.loads(text)
    return event


def test_every_function_has_a_sample_event() -> None:
    functions = {p.name for p in (EVENTS.parent / "functions").iterdir() if p.is_dir()}
    covered = {p.stem.removesuffix("_create") for p in EVENTS.glob("*.json")}
    assert functions <= covered


def test_authorizer_sample_with_a_real_key_is_authorized(invoke: Invoke, tenant: Tenant) -> None:
    event = sample("authorizer.json", tenant)
    assert invoke("authorizer", event) == {"isAuthorized": False}
    event["headers"]["x-api-key"] = tenant.api_key
    assert invoke("authorizer", event) == {
        "isAuthorized": True,
        "context": {"tenant_id": tenant.id},
    }


def test_fetch_params_sample(invoke: Invoke, tenant: Tenant) -> None:
    response = invoke("fetch_params", sample("fetch_params.json", tenant))
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["app"] == "github"


def test_integrations_sample_creates_an_integration(invoke: Invoke, tenant: Tenant) -> None:
    response = invoke("integrations", sample("integrations_create.json", tenant))
    assert response["statusCode"] == 201
    assert "sample-client-secret" not in response["body"]


def test_initiate_connection_sample_gives_an_authorization_url(
    invoke: Invoke, tenant: Tenant
) -> None:
    created = integrations.create(
        tenant.id,
        IntegrationCreate.model_validate(
            {
                "app": "github",
                "auth_scheme": "OAUTH2",
                "credentials": {"client_id": "cid", "client_secret": "s"},
            }
        ),
    )
    event = sample("initiate_connection.json", tenant)
    event["body"] = event["body"].replace("int_aaaaaaaaaaaaaaaaaaaaaaaa", created.id)
    response = invoke("initiate_connection", event)
    assert response["statusCode"] == 201, response["body"]
    body = json.loads(response["body"])
    assert body["redirect_url"].startswith("https://github.com/login/oauth/authorize?")


def test_oauth_callback_sample_with_an_unknown_state_is_a_clean_400(
    invoke: Invoke, tenant: Tenant
) -> None:
    response = invoke("oauth_callback", sample("oauth_callback.json", tenant))
    assert response["statusCode"] == 400
    assert "text/html" in response["headers"]["Content-Type"]


def test_list_accounts_sample(invoke: Invoke, tenant: Tenant) -> None:
    response = invoke("list_accounts", sample("list_accounts.json", tenant))
    assert response["statusCode"] == 200
    assert set(json.loads(response["body"])) == {"items", "next_cursor"}


def test_credentials_sample_for_an_unknown_account_is_a_clean_404(
    invoke: Invoke, tenant: Tenant
) -> None:
    response = invoke("credentials", sample("credentials.json", tenant))
    assert response["statusCode"] == 404
    assert json.loads(response["body"])["error"]["code"] == "connected_account_not_found"


def test_manage_accounts_sample_delete_of_an_unknown_account_is_a_clean_404(
    invoke: Invoke, tenant: Tenant
) -> None:
    response = invoke("manage_accounts", sample("manage_accounts.json", tenant))
    assert response["statusCode"] == 404


def test_sweep_sample_scheduled_event_runs_and_reports_counts(
    invoke: Invoke, tenant: Tenant
) -> None:
    counts = invoke("sweep", sample("sweep.json", tenant))
    assert isinstance(counts, dict)
    assert all(isinstance(n, int) for n in counts.values())


def test_proxy_sample_for_an_unknown_account_is_a_clean_404(invoke: Invoke, tenant: Tenant) -> None:
    response = invoke("proxy", sample("proxy.json", tenant))
    assert response["statusCode"] == 404
    assert json.loads(response["body"])["error"]["code"] == "connected_account_not_found"


def test_connect_links_sample_creates_a_link(
    invoke: Invoke, tenant: Tenant, gateway: Gateway
) -> None:
    created = integrations.create(
        tenant.id, IntegrationCreate.model_validate({"app": "stripe", "auth_scheme": "API_KEY"})
    )
    event = sample("connect_links.json", tenant)
    event["body"] = event["body"].replace("int_aaaaaaaaaaaaaaaaaaaaaaaa", created.id)
    response = invoke("connect_links", event)
    assert response["statusCode"] == 201, response["body"]
    # The public URL the local stack sets, where a deployed stack's own domain would be
    assert json.loads(response["body"])["url"].startswith(f"{gateway.url}/v1/connect/")


def test_connect_page_sample_for_an_unknown_link_is_a_404_page(
    invoke: Invoke, tenant: Tenant
) -> None:
    response = invoke("connect_page", sample("connect_page.json", tenant))
    assert response["statusCode"] == 404
    assert "text/html" in response["headers"]["Content-Type"]
