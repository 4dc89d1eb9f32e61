"""GitHub App installations: the app's JWT (RS256, signed with the app's private key,
the integration's client secret; ``iss`` its client ID or app ID; ten minutes at most)
buys an installation access token of one hour, bought again when due. The connection is
made from the app's install redirect: the user installs the app, GitHub sends the
browser to the app's setup URL (Keyfob's callback) with ``installation_id``,
``setup_action`` and the ``state`` Keyfob put on the install URL."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from keyfob import catalog
from keyfob.auth import token_endpoint
from keyfob.auth.authorization import new_state
from keyfob.auth.base import (
    Authorization,
    Begun,
    Context,
    Family,
    GrantError,
    RevocationStatus,
)
from keyfob.auth.keys import signing_key
from keyfob.auth.oauth2 import token_set
from keyfob.auth.upstream import ProbeResult
from keyfob.catalog import App, GitHubAppSpec, SchemeSpec
from keyfob.catalog.params import template_problem
from keyfob.core.errors import Invalid
from keyfob.core.ids import now
from keyfob.core.urls import with_query
from keyfob.security import http

HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
_INSTALLATION_ID = re.compile(r"^[0-9]{1,20}$")
_URLS = ("install_url", "installation_token_url", "installation_url", "revocation_url")


def effective_settings(
    app: App, scheme: SchemeSpec, overrides: GitHubAppSpec | None, app_slug: str
) -> GitHubAppSpec:
    """The catalog's endpoints with the integration's on top, the app's slug filled in."""
    assert scheme.github_app is not None
    given = overrides.model_dump(exclude_unset=True) if overrides else {}
    merged = scheme.github_app.model_copy(update=given)
    install = catalog.fill(merged.install_url, {"app_slug": app_slug})
    merged = merged.model_copy(update={"install_url": install})
    invalid = [
        {"field": f"github_app.{name}", "reason": problem}
        for name in _URLS
        if (url := getattr(merged, name))
        and (problem := template_problem(url, (), ("installation_id",)))
    ]
    if invalid:
        raise Invalid(
            "invalid_github_app_settings",
            "GitHub App settings invalid: " + ", ".join(i["field"] for i in invalid),
            {"invalid": invalid},
        )
    return merged


def _app_jwt(context: Context) -> str:
    """The app's own JWT (GitHub: iat 60 s back for clock drift, exp within 10 minutes)."""
    from joserfc import jwt

    try:
        key = signing_key(context.client_secret)
    except ValueError as problem:
        raise GrantError(f"the app's private key {problem}") from None
    issued = int(time.time()) - 60
    claims = {"iat": issued, "exp": issued + 540, "iss": context.integration.client_id}
    return str(jwt.encode({"alg": "RS256"}, claims, key))


def _settings(context: Context) -> GitHubAppSpec:
    spec = context.integration.github_app
    assert spec is not None
    return spec


def _installation_token(context: Context, installation_id: str) -> dict[str, Any]:
    spec = _settings(context)
    url = catalog.fill(spec.installation_token_url, {"installation_id": installation_id})
    answer = token_endpoint.call(
        "POST", url, headers={**HEADERS, "Authorization": f"Bearer {_app_jwt(context)}"}
    )
    token, expires = answer.get("token"), answer.get("expires_at")
    if not isinstance(token, str) or not isinstance(expires, str):
        raise GrantError("GitHub answered no installation token")
    try:
        expiry = datetime.fromisoformat(expires.replace("Z", "+00:00"))
        lifetime = int((expiry - now()).total_seconds())
    except ValueError:
        raise GrantError("GitHub answered an expires_at that is no time") from None
    kept = {"permissions": answer.get("permissions")} if answer.get("permissions") else {}
    tokens = token_set({"access_token": token, "expires_in": lifetime, **kept})
    return {"installation_id": installation_id, **tokens}


def _installation(context: Context, installation_id: str) -> dict[str, str]:
    """The installation's account (an organization or a user), best effort."""
    spec = _settings(context)
    if not spec.installation_url:
        return {}
    url = catalog.fill(spec.installation_url, {"installation_id": installation_id})
    try:
        answer = token_endpoint.call(
            "GET", url, headers={**HEADERS, "Authorization": f"Bearer {_app_jwt(context)}"}
        )
    except GrantError:
        return {}
    account = answer.get("account")
    if not isinstance(account, dict):
        return {}
    found = {"account_id": account.get("id"), "account_login": account.get("login")}
    return {k: str(v)[:256] for k, v in found.items() if isinstance(v, str | int)}


class GitHubApp(Family):
    redirects = True
    renews = True
    revocable = True
    renews_itself = True

    def begin(self, context: Context, secret: Mapping[str, Any], redirect_uri: str) -> Begun:
        state = new_state()
        url = with_query(_settings(context).install_url, {"state": state})
        return Begun(authorization=Authorization(url, state, None))

    def callback_code(self, query: Mapping[str, str]) -> str | None:
        installation = query.get("installation_id")
        return installation if installation and _INSTALLATION_ID.match(installation) else None

    def complete(
        self, context: Context, code: str, redirect_uri: str, code_verifier: str | None
    ) -> dict[str, Any]:
        tokens = _installation_token(context, code)
        return {**_installation(context, code), **tokens}

    def refresh(self, context: Context, credential: Mapping[str, Any]) -> dict[str, Any]:
        kept = {k: credential[k] for k in ("account_id", "account_login") if k in credential}
        return {**kept, **_installation_token(context, str(credential["installation_id"]))}

    def revoke(
        self, context: Context, credential: Mapping[str, Any]
    ) -> tuple[RevocationStatus, str | None]:
        """Revoke the installation token; the installation itself is the user's to remove."""
        import requests

        url = _settings(context).revocation_url
        if not url:
            return "not_supported", "the app has no revocation endpoint"
        headers = {**HEADERS, "Authorization": f"Bearer {credential.get('access_token')}"}
        try:
            response = http.session().delete(
                url, headers=headers, timeout=http.timeout(), allow_redirects=False
            )
        except requests.RequestException:
            return "failed", "revocation endpoint could not be reached"
        if response.status_code in (204, 401):  # 401: the token had expired already
            return "revoked", None
        return "failed", f"revocation endpoint returned HTTP {response.status_code}"

    def identity(self, credential: Mapping[str, Any]) -> ProbeResult | None:
        """The installation's account, read with the app's JWT when it was installed."""
        login, account = credential.get("account_login"), credential.get("account_id")
        if not login:
            return None
        return ProbeResult("valid", account_id=account, display_name=login)
