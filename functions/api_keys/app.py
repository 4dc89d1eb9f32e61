"""POST/GET /v1/api_keys, DELETE /v1/api_keys/{id}: a tenant's full keys and agent keys."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from keyfob.models.api_keys import KEY_ID_PATTERN, ApiKeyCreate, ApiKeyPage, CreatedApiKey
from keyfob.services import api_keys
from keyfob.web.resolver import API_KEY_SECURITY, create_app, entry, key_id, tenant_id

app = create_app()


@app.post(
    "/v1/api_keys",
    summary="Create an API key: an agent key for some entities, or another full key",
    description="An agent key (`kind: agent`) opens the MCP endpoint (`/v1/mcp`) alone, "
    "for the `entity_ids` it names, optionally only for some `apps` and `operations` (MCP "
    "tools), and expires (30 days unless `expires_in_seconds` says otherwise). A tenant "
    "key (`kind: tenant`) opens the whole API, for rotating keys. The key is in the "
    "answer this once: Keyfob keeps only its hash.",
    responses={201: {"description": "Created"}},
    security=API_KEY_SECURITY,
)
def create_key(request: ApiKeyCreate) -> Response[CreatedApiKey]:
    created = api_keys.create(tenant_id(app), request)
    return Response(status_code=201, content_type="application/json", body=created)


@app.get(
    "/v1/api_keys", summary="List the tenant's API keys (never a key)", security=API_KEY_SECURITY
)
def list_keys() -> ApiKeyPage:
    return api_keys.list_all(tenant_id(app))


@app.delete(
    "/v1/api_keys/<api_key_id>",
    summary="Delete an API key",
    description="The MCP endpoint refuses a deleted key at once; the rest of the API "
    "within its authorizer's cache time (300 s). 409 `api_key_in_use`: a key cannot "
    "delete itself (delete it with another full key).",
    responses={204: {"description": "Deleted"}},
    security=API_KEY_SECURITY,
)
def delete_key(api_key_id: Annotated[str, Path(pattern=KEY_ID_PATTERN)]) -> Response[None]:
    api_keys.delete(tenant_id(app), api_key_id, key_id(app))
    return Response(status_code=204)


lambda_handler = entry(app)
