"""Requests to an app's own API on behalf of a connected account.

The caller names a method, a path under the app's API base URL, a query, headers and a
body; Keyfob applies the account's credential the way its auth family does and relays
the answer, whatever its status. What keeps the credential where it belongs:

- Only the base URL's host is reachable: the path cannot name another host or climb
  above the base path (no dot segments, encoded or not, no double encoding), and every
  connection is checked for the address it actually reached (keyfob.security.egress).
- Redirects are relayed to the caller, never followed: the credential goes to the base
  URL and nowhere else.
- The caller's own credentials, cookies and transport headers are not forwarded, and
  the upstream's cookies and transport headers are not relayed. Should the app echo
  the credential, it is redacted from what comes back.
- The exchange is bounded in time and in size both ways; nothing of it is logged but
  the account, the method, the status and the time taken.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from keyfob import auth
from keyfob.catalog import loader
from keyfob.core.config import settings
from keyfob.core.errors import Busy, Invalid
from keyfob.core.observability import logger, metrics
from keyfob.models.types import Status
from keyfob.services import records, usable
from keyfob.services.proxy_request import check, prepared, target
from keyfob.services.proxy_response import exchange

if TYPE_CHECKING:
    from keyfob.models.proxy import ProxyRequest, ProxyResponse
    from keyfob.models.records.accounts import AccountRecord

# The API request carrying the proxied one: within Lambda's 6 MB request payload.
MAX_REQUEST_BYTES = 5 * 1024 * 1024


def send(tenant_id: str, account_id: str, request: ProxyRequest) -> ProxyResponse:
    """Send the request as the account's entity and relay the answer. An account whose
    credential renews, answered 401, is refreshed once and the request retried once."""
    check(request)
    held = usable.usable(tenant_id, account_id)
    account = held.account
    integration = records.integration(tenant_id, account.integration_id)
    if integration.api is None or not integration.api.base_url:
        raise Invalid(
            "no_api_base_url",
            f"The integration names no API base URL for {account.app}: create one with "
            "api.base_url",
            {"integration_id": integration.id},
        )
    scheme = loader.get_app(account.app).scheme(account.auth_scheme)
    family = auth.family(account.auth_scheme)
    # A host named by the token answer (Salesforce's instance_url) fills the URL too.
    named = {k: str(held.values[k]) for k in scheme.token_fields if held.values.get(k)}
    base_url, url_params = integration.api.base_url, {**account.params, **named}
    fixed = integration.api.headers or {}
    started = time.monotonic()
    deadline = started + settings().proxy_timeout_seconds

    def attempt(values: dict[str, Any]) -> ProxyResponse:
        credential = family.apply(scheme, values)
        # A credential in the path (Telegram's /bot<token>) goes before the caller's.
        url = target(base_url, url_params, credential.path + request.path)
        outgoing = prepared(url, request, credential, fixed)
        return exchange(outgoing, credential.secrets, deadline)

    answer = attempt(held.values)
    retried = False
    if answer.status == 401 and not held.refreshed and time.monotonic() < deadline:
        fresh = renewed(account)
        if fresh is not None:
            answer = attempt(fresh)
            retried = True
    metrics.add_metric(name="ProxyRequests", unit="Count", value=1)
    logger.info(
        "request proxied",
        extra={
            "connected_account_id": account.id,
            "method": request.method,
            "upstream_status": answer.status,
            "retried_after_refresh": retried,
            "elapsed_ms": round((time.monotonic() - started) * 1000),
        },
    )
    return answer


def renewed(account: AccountRecord) -> dict[str, Any] | None:
    """The credential after one refresh, if the account has a new one to retry with."""
    if not auth.family(account.auth_scheme).renews or not account.refreshable:
        return None
    from keyfob.services.refresh import refresh  # as usable.usable: when needed

    try:
        result = refresh(account)
    except Busy:
        # Another caller's refresh is slow: relay the 401 rather than wait any longer.
        return None
    current = result.account
    if current.status is not Status.ACTIVE or current.token_version == account.token_version:
        return None
    if result.tokens is None:
        from keyfob.security import crypto

        return {**current.params, **crypto.open_account(current)}
    return {**current.params, **result.tokens}
