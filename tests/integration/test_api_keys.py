"""API keys: several full keys per tenant (rotation), agent keys that open the MCP
endpoint alone, and deletion that the MCP endpoint honours at once."""

from __future__ import annotations

from devstack.gateway import Gateway
from tests.conftest import Api


def _create(api: Api, **body: object) -> dict[str, object]:
    response = api.post("/v1/api_keys", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


def test_a_second_full_key_works_and_the_first_can_then_be_deleted(
    api: Api, gateway: Gateway
) -> None:
    created = _create(api, kind="tenant", name="rotation")
    key = str(created["api_key"])
    assert key.startswith("kf_") and created["expires_at"] is None
    with Api(gateway.url, key) as rotated:
        assert rotated.get("/v1/integrations").status_code == 200
        listed = rotated.get("/v1/api_keys").json()["items"]
        assert created["id"] in [item["id"] for item in listed]
        assert all("api_key" not in item and "key_hash" not in item for item in listed)
        # A key cannot delete itself; another full key can.
        refused = rotated.delete(f"/v1/api_keys/{created['id']}")
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "api_key_in_use"
    assert api.delete(f"/v1/api_keys/{created['id']}").status_code == 204
    gateway.clear_authorizer_cache()  # the REST API's authorizer caches for 300 s
    with Api(gateway.url, key) as deleted:
        assert deleted.get("/v1/integrations").status_code == 403
    assert api.delete(f"/v1/api_keys/{created['id']}").status_code == 404


def test_an_agent_key_opens_no_rest_route(api: Api, gateway: Gateway) -> None:
    created = _create(api, entity_ids=["user-1"], apps=["github"], operations=["call_api"])
    assert str(created["api_key"]).startswith("kfa_")
    assert created["entity_ids"] == ["user-1"] and created["expires_at"] is not None
    with Api(gateway.url, str(created["api_key"])) as agent:
        for path in ("/v1/integrations", "/v1/connected_accounts", "/v1/api_keys"):
            assert agent.get(path).status_code == 403


def test_an_agent_key_must_name_entities_and_a_tenant_key_none(api: Api) -> None:
    assert api.post("/v1/api_keys", json={"kind": "agent"}).status_code == 422
    tenant_with_entities = {"kind": "tenant", "entity_ids": ["user-1"]}
    assert api.post("/v1/api_keys", json=tenant_with_entities).status_code == 422


def test_another_tenants_key_cannot_be_deleted(api: Api, other_api: Api) -> None:
    created = _create(api, entity_ids=["user-1"])
    assert other_api.delete(f"/v1/api_keys/{created['id']}").status_code == 404
    assert created["id"] in [item["id"] for item in api.get("/v1/api_keys").json()["items"]]
