"""Which upstream account a credential belongs to: named by the credential itself (an
OpenID Connect ID token, a GitHub App installation) or asked of the app's API with the
catalog's identity probe."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from keyfob import auth
from keyfob.core.errors import Invalid, UpstreamFailed
from keyfob.core.observability import logger
from keyfob.models.records.accounts import AccountChanges

if TYPE_CHECKING:
    from keyfob.auth.upstream import ProbeResult
    from keyfob.models.records.integrations import IntegrationRecord


def verified(
    integration: IntegrationRecord, credential: Mapping[str, Any], params: Mapping[str, str]
) -> AccountChanges:
    """Ask the app whether it takes the credential: refuse it if not, before storing.
    Returns the upstream identity the app's answer names."""
    if integration.api is None or integration.api.identity is None:
        return AccountChanges()
    result = _probe(integration, credential, params)
    if result.outcome == "rejected":
        raise Invalid(
            "credentials_rejected",
            f"{integration.app} rejected the credentials ({result.message})",
            {"app": integration.app},
        )
    if result.outcome == "unavailable":
        raise UpstreamFailed(
            "verification_unavailable",
            f"Could not verify the credentials with {integration.app}: {result.message}; "
            "retry, or pass validate=false to store them unverified",
            {"app": integration.app},
        )
    return _identity(result)


def identified(
    integration: IntegrationRecord, credential: Mapping[str, Any], params: Mapping[str, str]
) -> AccountChanges:
    """Which upstream account was connected; best effort, it never fails a connection."""
    if (named := auth.family(integration.auth_scheme).identity(credential)) is not None:
        return _identity(named)
    if integration.api is None or integration.api.identity is None:
        return AccountChanges()
    result = _probe(integration, credential, params)
    if result.outcome != "valid":
        logger.warning(
            "identity not fetched", extra={"app": integration.app, "reason": result.message}
        )
        return AccountChanges()
    return _identity(result)


def _probe(
    integration: IntegrationRecord, credential: Mapping[str, Any], params: Mapping[str, str]
) -> ProbeResult:
    # The catalog's models, loaded by the callback only when it probes: a connection
    # whose credential names its account never needs them.
    from keyfob.catalog import loader

    assert integration.api is not None
    scheme = loader.get_app(integration.app).scheme(integration.auth_scheme)
    family = auth.family(integration.auth_scheme)
    return family.probe(integration.api, scheme, credential, params)


def _identity(result: ProbeResult) -> AccountChanges:
    return AccountChanges(
        upstream_account_id=result.account_id, upstream_display_name=result.display_name
    )
