"""Keyfob as the OAuth client of remote MCP servers (MCP authorization, 2025-11-25 with
the 2026-07-28 changes), on the OAuth 2.0 family's Authlib client.

Each connection attempt discovers the server's authorization server afresh
(``auth.mcp_discovery``), then gets a client there in the specification's order:

1. the integration's pre-registered credentials (refused if the integration pins an
   ``mcp.issuer`` and discovery names another authorization server);
2. Keyfob's Client ID Metadata Document, when the server says it takes one: the client
   id is the https URL of the document Keyfob serves beside its OAuth callback;
3. RFC 7591 dynamic registration, stored encrypted per tenant and issuer and reused by
   every connection to that authorization server; registered again when its client
   secret has expired, when the server refuses the client (``invalid_client``), and,
   being keyed by issuer, whenever the server names another authorization server.

The attempt's ``Grant`` (issuer, endpoints, resource, client) is recorded before the user
is sent away and travels with the state and then the token set: the callback checks
``iss`` against it (RFC 9207; required when the server advertises it), and the code
exchange, every refresh and the revocation go to the endpoints it names with the RFC 8707
``resource``. A refresh token is used when one came; none is assumed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from keyfob.auth.authorization import authorization_url
from keyfob.auth.mcp_discovery import Discovered, discover, post_json
from keyfob.core.errors import Invalid, UpstreamFailed
from keyfob.core.ids import iso, now
from keyfob.core.observability import logger
from keyfob.core.urls import url_problem
from keyfob.models.mcp import Grant
from keyfob.models.records.integrations import RegistrationRecord
from keyfob.store import registrations

if TYPE_CHECKING:
    from keyfob.auth.base import Authorization, Context

CALLBACK_PATH = "/v1/oauth/callback"
CLIENT_METADATA_PATH = "/v1/oauth/client-metadata.json"
CLIENT_NAME = "Keyfob"
GRANT_KEY = "authorization_server"
_MAX_ANSWER = 64 * 1024
_SECRET_METHODS = ("client_secret_basic", "client_secret_post")


def client_metadata_url(callback_url: str) -> str:
    """Keyfob's Client ID Metadata Document: beside the callback, on the same base."""
    return callback_url.removesuffix(CALLBACK_PATH) + CLIENT_METADATA_PATH


def client_metadata(base_url: str) -> dict[str, Any]:
    """The document itself (draft-ietf-oauth-client-id-metadata-document): a public
    client (PKCE, no secret) whose only redirect URI is Keyfob's callback."""
    return {
        "client_id": f"{base_url}{CLIENT_METADATA_PATH}",
        "client_name": CLIENT_NAME,
        "client_uri": base_url,
        "redirect_uris": [f"{base_url}{CALLBACK_PATH}"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "application_type": "web",
    }


def _record_name(issuer: str) -> str:
    return f"REGISTRATION#{issuer}"


def _scopes(context: Context, discovered: Discovered, challenged: str | None) -> str | None:
    """The challenge's scopes, else the resource's scopes_supported; with the
    integration's own and a step-up's (``scope`` among the params), and offline_access
    where the authorization server offers it (a refresh token is asked for, never
    assumed)."""
    wanted = (challenged or "").split() or list(discovered.scopes)
    wanted += [*context.integration.scopes, *context.params.get("scope", "").split()]
    offered = discovered.metadata.get("scopes_supported") or []
    if "offline_access" in offered:
        wanted.append("offline_access")
    return " ".join(dict.fromkeys(wanted)) or None


def _auth_method(metadata: Mapping[str, Any], has_secret: bool) -> str:
    if not has_secret:
        return "none"
    supported = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    return next((m for m in _SECRET_METHODS if m in supported), "client_secret_post")


def _dynamic(context: Context, discovered: Discovered, redirect_uri: str) -> RegistrationRecord:
    """The tenant's registration with this issuer, or a new one (RFC 7591)."""
    tenant_id, issuer = context.integration.tenant_id, discovered.issuer
    held = registrations.get(tenant_id, issuer)
    if held is not None and not (
        held.client_secret_expires_at and held.client_secret_expires_at <= time.time() + 60
    ):
        return held
    endpoint = discovered.metadata.get("registration_endpoint")
    if not isinstance(endpoint, str):
        raise Invalid(
            "mcp_client_registration_unavailable",
            "The MCP server's authorization server takes neither a client metadata document "
            "nor dynamic registration: give the integration pre-registered credentials",
            {"issuer": issuer},
        )
    supported = discovered.metadata.get("token_endpoint_auth_methods_supported") or [
        "client_secret_basic"
    ]
    method = next((m for m in _SECRET_METHODS if m in supported), "none")
    request = {
        **client_metadata(""),
        "redirect_uris": [redirect_uri],
        "token_endpoint_auth_method": method,
    }
    del request["client_id"], request["client_uri"]
    answer = _register(endpoint, request)
    from keyfob.security import crypto

    secret = answer.get("client_secret")
    record = RegistrationRecord(
        tenant_id=tenant_id,
        issuer=issuer,
        client_id=str(answer["client_id"]),
        token_endpoint_auth_method=str(
            answer.get("token_endpoint_auth_method") or request["token_endpoint_auth_method"]
        ),
        secret=crypto.encrypt(
            {"client_secret": secret}, tenant_id=tenant_id, record=_record_name(issuer)
        )
        if isinstance(secret, str) and secret
        else None,
        client_secret_expires_at=int(answer.get("client_secret_expires_at") or 0) or None,
        registered_at=iso(now()),
    )
    stored = registrations.put(record, held.client_id if held is not None else None)
    logger.info("mcp client registered", extra={"issuer": issuer})
    return stored


def _register(endpoint: str, request: dict[str, Any]) -> dict[str, Any]:
    import requests

    try:
        response = post_json(endpoint, request, "application/json")
    except requests.RequestException:
        raise UpstreamFailed(
            "mcp_client_registration_failed", "The registration endpoint could not be reached"
        ) from None
    try:
        answer = response.json() if len(response.content) <= _MAX_ANSWER else None
    except ValueError:
        answer = None
    if response.status_code not in (200, 201) or not isinstance(answer, dict):
        raise UpstreamFailed(
            "mcp_client_registration_failed",
            f"The authorization server refused to register Keyfob (HTTP {response.status_code})",
        )
    if not isinstance(answer.get("client_id"), str) or not answer["client_id"]:
        raise UpstreamFailed("mcp_client_registration_failed", "The registration had no client_id")
    return answer


def grant_for(context: Context, redirect_uri: str) -> tuple[Grant, str, str | None]:
    """Discover and pick the client for one attempt: (grant, authorization endpoint,
    scope to ask for)."""
    settings = context.integration.mcp
    assert settings is not None and settings.server_url
    discovered, found = discover(settings.server_url)
    metadata = discovered.metadata
    if context.integration.client_id:
        if settings.issuer and settings.issuer != discovered.issuer:
            raise Invalid(
                "authorization_server_changed",
                "The MCP server now names another authorization server than the one the "
                "integration's credentials were registered with",
                {"issuer": discovered.issuer, "expected": settings.issuer},
            )
        client_id, how = context.integration.client_id, "pre_registered"
        method = _auth_method(metadata, has_secret=context.integration.secret is not None)
    elif (
        metadata.get("client_id_metadata_document_supported") is True
        and _metadata_url_problem(redirect_uri) is None
    ):
        client_id, how, method = client_metadata_url(redirect_uri), "metadata_document", "none"
    else:
        registered = _dynamic(context, discovered, redirect_uri)
        client_id, how = registered.client_id, "dynamic"
        method = registered.token_endpoint_auth_method
    revocation = metadata.get("revocation_endpoint")
    grant = Grant(
        issuer=discovered.issuer,
        token_endpoint=metadata["token_endpoint"],
        revocation_endpoint=revocation if isinstance(revocation, str) else None,
        resource=discovered.resource,
        client_id=client_id,
        registration=how,
        token_endpoint_auth_method=method,
        iss_required=metadata.get("authorization_response_iss_parameter_supported") is True,
        scope=_scopes(context, discovered, found.scope),
    )
    return grant, metadata["authorization_endpoint"], grant.scope


def authorization(context: Context, redirect_uri: str) -> Authorization:
    """A remote MCP server's authorization request: its discovered authorization server,
    the client picked for it, PKCE S256, the RFC 8707 resource, the grant recorded."""
    grant, endpoint, scope = grant_for(context, redirect_uri)
    extra = {"resource": grant.resource, **({"scope": scope} if scope else {})}
    started = authorization_url(endpoint, grant.client_id, redirect_uri, True, extra)
    return started._replace(grant=grant)


def _metadata_url_problem(redirect_uri: str) -> str | None:
    return url_problem(client_metadata_url(redirect_uri))


def client_secret(context: Context) -> str:
    """The secret the grant's client authenticates with ("" for a public client)."""
    grant = context.grant
    assert grant is not None
    if grant.registration == "pre_registered":
        return context.client_secret
    if grant.registration != "dynamic":
        return ""
    held = registrations.get(context.integration.tenant_id, grant.issuer)
    if held is None or held.client_id != grant.client_id or held.secret is None:
        return ""
    from keyfob.security import crypto

    opened = crypto.decrypt(
        held.secret, tenant_id=held.tenant_id, record=_record_name(grant.issuer)
    )
    return str(opened["client_secret"])


def refused_client(context: Context) -> None:
    """The authorization server no longer knows the client (``invalid_client``): a
    dynamic registration is dropped, so that the next attempt registers again."""
    grant = context.grant
    if grant is not None and grant.registration == "dynamic":
        registrations.forget(context.integration.tenant_id, grant.issuer, grant.client_id)
        logger.info("mcp client registration dropped", extra={"issuer": grant.issuer})


def with_grant(context: Context, credential: Mapping[str, Any]) -> Context:
    """The context of a stored token set's grant, for its refresh and revocation."""
    carried = credential.get(GRANT_KEY)
    if not isinstance(carried, dict):
        return context
    return context._replace(grant=Grant.model_validate(carried))


def carried(context: Context, tokens: dict[str, Any]) -> dict[str, Any]:
    """A token set with the grant it belongs to, for refreshes and revocation to come."""
    if context.grant is None:
        return tokens
    return {**tokens, GRANT_KEY: json.loads(context.grant.model_dump_json())}
