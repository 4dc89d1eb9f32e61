"""GitHub App installations: the app's JWT (RS256, signed with the app's private key,
the integration's client secret; ``iss`` its client ID; ten minutes at most)
buys an installation access token of one hour, bought again when due. The connection is
made from the app's install redirect: the user installs the app and, the app asking for
user authorization during installation, GitHub sends the browser to the app's callback
URL (Keyfob's) with ``installation_id``, ``setup_action``, a ``code`` and the ``state``
Keyfob put on the install URL. Anyone can send any ``installation_id`` there, another
customer's included, so it is trusted only when it is among the installations of the
user the code names: the code buys a user access token (the app's client ID and client
secret), which lists them (``GET /user/installations``). Otherwise, or with no code, the
connection fails and no installation token is bought."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

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
from keyfob.catalog import loader
from keyfob.catalog.params import template_problem
from keyfob.core.errors import Invalid
from keyfob.core.ids import now
from keyfob.core.urls import with_query
from keyfob.models.settings import OAuthSettings
from keyfob.security import http

if TYPE_CHECKING:
    from keyfob.catalog.schema import App, SchemeSpec
    from keyfob.catalog.scheme_parts import GitHubAppSpec

HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
_INSTALLATION_ID = re.compile(r"^[0-9]{1,20}$")
_URLS = (
    "install_url",
    "oauth_token_url",
    "user_installations_url",
    "user_token_revocation_url",
    "installation_token_url",
    "installation_url",
    "revocation_url",
)
_MAX_CODE = 512
# A user's installations are read 100 a page, up to this many pages, each bounded.
_MAX_PAGES = 20
_MAX_PAGE_BYTES = 1024 * 1024


def effective_settings(
    app: App, scheme: SchemeSpec, overrides: GitHubAppSpec | None, app_slug: str
) -> GitHubAppSpec:
    """The catalog's endpoints with the integration's on top, the app's slug filled in."""
    assert scheme.github_app is not None
    given = overrides.model_dump(exclude_unset=True) if overrides else {}
    merged = scheme.github_app.model_copy(update=given)
    install = loader.fill(merged.install_url, {"app_slug": app_slug})
    merged = merged.model_copy(update={"install_url": install})
    invalid = [
        {"field": f"github_app.{name}", "reason": problem}
        for name in _URLS
        if (url := getattr(merged, name))
        and (problem := template_problem(url, (), ("installation_id", "client_id")))
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
    url = loader.fill(spec.installation_token_url, {"installation_id": installation_id})
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


def _user_token(context: Context, code: str) -> str:
    """The install redirect's code for a user access token, with the app's client secret."""
    from keyfob.auth.oauth2 import token_request

    if not context.oauth_client_secret:
        raise GrantError("the integration has no client secret to check the installation with")
    oauth = OAuthSettings(
        token_url=_settings(context).oauth_token_url,
        token_endpoint_auth_method="client_secret_post",
    )
    user = Context(
        context.integration.model_copy(update={"oauth": oauth}),
        {},
        context.oauth_client_secret,
    )
    answer = token_request(
        user, "the installation's code", grant_type="authorization_code", code=code
    )
    return str(answer["access_token"])


def _installations_page(url: str, user_token: str) -> tuple[list[Any], str | None]:
    """One page of the user's installations, and the next page's URL (its Link header)."""
    import requests

    headers = {**HEADERS, "Authorization": f"Bearer {user_token}"}
    try:
        response = http.session().get(
            url, headers=headers, timeout=http.timeout(), allow_redirects=False, stream=True
        )
        with response:
            body = response.raw.read(_MAX_PAGE_BYTES + 1, decode_content=True)
    except requests.Timeout:
        raise GrantError("GitHub's installation list timed out", transient=True) from None
    except requests.RequestException:
        raise GrantError(
            "GitHub's installation list could not be reached", transient=True
        ) from None
    status = response.status_code
    if status != 200 or len(body) > _MAX_PAGE_BYTES:
        transient = status >= 500 or status == 429
        raise GrantError(f"GitHub's installation list returned HTTP {status}", transient=transient)
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    found = payload.get("installations") if isinstance(payload, dict) else None
    if not isinstance(found, list):
        raise GrantError("GitHub answered no installation list")
    return found, response.links.get("next", {}).get("url")


def _is_users(context: Context, user_token: str, installation_id: str) -> bool:
    """Whether the installation is among those the user's token can access, read page by
    page (the next pages at the list's own origin only)."""
    first = _settings(context).user_installations_url
    origin = urlsplit(first)[:2]
    url: str | None = with_query(first, {"per_page": "100"})
    for _ in range(_MAX_PAGES):
        if url is None:
            return False
        found, url = _installations_page(url, user_token)
        if any(isinstance(i, dict) and str(i.get("id")) == installation_id for i in found):
            return True
        if url is not None and urlsplit(url)[:2] != origin:
            url = None
    raise GrantError(f"the user has more installations than Keyfob reads ({_MAX_PAGES} pages)")


def _drop_user_token(context: Context, user_token: str) -> None:
    """Revoke the user access token once it has served, best effort: Keyfob keeps it
    nowhere, and GitHub's may otherwise live for years."""
    import requests

    url = _settings(context).user_token_revocation_url
    client_id = context.integration.client_id or ""
    if not url:
        return
    try:
        http.session().delete(
            loader.fill(url, {"client_id": quote(client_id, safe="")}),
            json={"access_token": user_token},
            auth=(client_id, context.oauth_client_secret),
            headers=HEADERS,
            timeout=http.timeout(),
            allow_redirects=False,
        ).close()
    except requests.RequestException:
        return


def _installation(context: Context, installation_id: str) -> dict[str, str]:
    """The installation's account (an organization or a user), best effort."""
    spec = _settings(context)
    if not spec.installation_url:
        return {}
    url = loader.fill(spec.installation_url, {"installation_id": installation_id})
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
        """The installation and the user authorization's code; None without both."""
        installation, code = query.get("installation_id"), query.get("code")
        if not installation or not _INSTALLATION_ID.match(installation):
            return None
        if not code or len(code) > _MAX_CODE:
            return None
        return json.dumps([installation, code])

    def complete(
        self, context: Context, code: str, redirect_uri: str, code_verifier: str | None
    ) -> dict[str, Any]:
        installation_id, user_code = json.loads(code)
        user_token = _user_token(context, user_code)
        try:
            mine = _is_users(context, user_token, installation_id)
        finally:
            _drop_user_token(context, user_token)
        if not mine:
            raise GrantError("the installation is not one the authorizing GitHub user can access")
        tokens = _installation_token(context, installation_id)
        return {**_installation(context, installation_id), **tokens}

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
