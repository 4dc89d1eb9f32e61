"""Each function's sample event in events/ (the ones `sam local invoke -e` takes) works,
invoked directly as Lambda would, without the gateway in front."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devstack.gateway import Gateway
from devstack.oauth_provider import OAuthServer
from keyfob.models.integrations import IntegrationCreate
from keyfob.services import commands, integrations
from tests.conftest import Api, Tenant
from tests.integration.bus import now
from tests.integration.conftest import TRUSTED_ACCOUNT
from tests.integration.flows import connect

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
    samples = [p.stem for p in EVENTS.glob("*.json")]
    uncovered = {f for f in functions if not any(s == f or s.startswith(f"{f}_") for s in samples)}
    assert uncovered == set()


def test_every_command_has_a_sample_event_from_another_account() -> None:
    events = [json.loads(p.read_text()) for p in EVENTS.glob("commands_*.json")]
    assert sorted(e["detail-type"] for e in events) == sorted(commands.DETAIL_TYPES)
    assert {e["account"] for e in events} == {TRUSTED_ACCOUNT}


def test_authorizer_sample_with_a_real_key_is_authorized(invoke: Invoke, tenant: Tenant) -> None:
    event = sample("authorizer.json", tenant)
    assert invoke("authorizer", event) == {"isAuthorized": False}
    event["headers"]["x-api-key"] = tenant.api_key
    answer = invoke("authorizer", event)
    assert answer == {
        "isAuthorized": True,
        "context": {
            "tenant_id": tenant.id,
            "key_id": answer["context"]["key_id"],
            "key_kind": "tenant",
        },
    }


def test_fetch_params_sample(invoke: Invoke, tenant: Tenant) -> None:
    response = invoke("fetch_params", sample("fetch_params.json", tenant))
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["app"] == "github"


def test_docs_sample_answers_the_document(invoke: Invoke, tenant: Tenant) -> None:
    response = invoke("docs", sample("docs.json", tenant))
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["info"]["title"] == "Keyfob"


def test_console_sample_answers_the_page(invoke: Invoke, tenant: Tenant) -> None:
    response = invoke("console", sample("console.json", tenant))
    assert response["statusCode"] == 200
    assert "<title>Keyfob console</title>" in response["body"]
    assert "script-src 'self'" in response["headers"]["Content-Security-Policy"]


def test_webhooks_sample_lists_the_endpoints(invoke: Invoke, tenant: Tenant) -> None:
    response = invoke("webhooks", sample("webhooks.json", tenant))
    assert response["statusCode"] == 200
    assert "items" in json.loads(response["body"])


def test_webhook_delivery_sample_takes_its_event(invoke: Invoke, tenant: Tenant) -> None:
    # The tenant's endpoints (none here) get the event; the batch reports no failure.
    assert invoke("webhook_delivery", sample("webhook_delivery.json", tenant)) == {
        "batchItemFailures": []
    }


def test_integrations_sample_creates_an_integration(invoke: Invoke, tenant: Tenant) -> None:
    response = invoke("integrations", sample("integrations_create.json", tenant))
    assert response["statusCode"] == 201
    assert "sample-client-secret" not in response["body"]


def github_integration(tenant: Tenant) -> str:
    return integrations.create(
        tenant.id,
        IntegrationCreate.model_validate(
            {
                "app": "github",
                "auth_scheme": "OAUTH2",
                "credentials": {"client_id": "cid", "client_secret": "s"},
            }
        ),
    ).id


def test_initiate_connection_sample_gives_an_authorization_url(
    invoke: Invoke, tenant: Tenant
) -> None:
    event = sample("initiate_connection.json", tenant)
    event["body"] = event["body"].replace(
        "int_aaaaaaaaaaaaaaaaaaaaaaaa", github_integration(tenant)
    )
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


def test_sweep_worker_sample_works_its_shard_and_reports_counts(
    invoke: Invoke, tenant: Tenant
) -> None:
    counts = invoke("sweep_worker", sample("sweep_worker.json", tenant))
    assert isinstance(counts, dict)
    assert all(isinstance(n, int) for n in counts.values())


def test_api_keys_sample_lists_the_tenants_keys(invoke: Invoke, tenant: Tenant) -> None:
    response = invoke("api_keys", sample("api_keys.json", tenant))
    assert response["statusCode"] == 200, response["body"]
    assert json.loads(response["body"])["items"]


def test_mcp_sample_initializes(invoke: Invoke, tenant: Tenant) -> None:
    response = invoke("mcp", sample("mcp.json", tenant))
    assert response["statusCode"] == 200, response["body"]
    result = json.loads(response["body"])["result"]
    assert result["serverInfo"]["name"] == "keyfob"
    assert "tools" in result["capabilities"]


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


def test_command_samples_are_carried_out_for_the_tenant_their_account_acts_for(
    invoke: Invoke,
    api: Api,
    anonymous: Api,
    oauth_server: OAuthServer,
    tenant: Tenant,
    trusted_account: str,
) -> None:
    # A command acts only within hours of its time: the samples' is long past
    event = {**sample("commands_initiate.json", tenant), "time": now()}
    event["detail"]["integration_id"] = github_integration(tenant)
    assert invoke("commands", event)["outcome"] == "done"

    account_id = connect(api, anonymous, oauth_server).account["id"]
    for name in ("refresh", "disable", "enable", "delete"):
        event = {**sample(f"commands_{name}.json", tenant), "time": now()}
        event["detail"]["connected_account_id"] = account_id
        assert invoke("commands", event) == {"outcome": "done", "connected_account_id": account_id}
    assert api.get(f"/v1/connected_accounts/{account_id}").status_code == 404
