"""A connection's credential on requests to the app's own API: how it is applied, how it
is proven (the identity call, which also names the upstream account), and the API
settings (catalog and overrides) those requests go by.

Nothing read here is secret: the upstream account id and display name are shown on
the account. The credential goes only to the app's own API base URL (or an absolute
probe URL from the catalog or the integration), never across a redirect.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from keyfob.catalog import loader
from keyfob.catalog.params import template_problem
from keyfob.core.errors import Invalid
from keyfob.core.nesting import dotted
from keyfob.models.settings import ApiSettings
from keyfob.models.types import set_fields
from keyfob.security import http

if TYPE_CHECKING:
    import requests

    from keyfob.catalog.schema import App, SchemeSpec

_MAX_ANSWER = 64 * 1024
_MAX_FIELD = 256


@dataclass(frozen=True)
class ProbeResult:
    """valid: the app accepted the credential; rejected: it answered 401 (or its error
    flag); unavailable: no verdict (timeout, 5xx, an unexpected answer)."""

    outcome: Literal["valid", "rejected", "unavailable"]
    account_id: str | None = None
    display_name: str | None = None
    message: str | None = None


def effective_settings(app: App, scheme: SchemeSpec, overrides: ApiSettings | None) -> ApiSettings:
    """The catalog's API settings with the integration's overrides on top, validated."""
    merged = ApiSettings(
        base_url=app.api_base_url or None,
        identity=scheme.identity,
        headers=dict(app.api_headers) or None,
    )
    merged = merged.model_copy(update=set_fields(overrides))
    fields = {f.name for f in scheme.connection_fields}
    invalid = []
    if merged.base_url and (
        problem := template_problem(merged.base_url, fields, scheme.token_fields)
    ):
        invalid.append({"field": "api.base_url", "reason": problem})
    if merged.identity is not None:
        path = merged.identity.path
        if path.startswith("/") and not merged.base_url:
            invalid.append({"field": "api.identity.path", "reason": "needs api.base_url"})
        elif not path.startswith("/") and (problem := template_problem(path, fields)):
            invalid.append({"field": "api.identity.path", "reason": problem})
    if invalid:
        raise Invalid(
            "invalid_api_settings",
            "API settings invalid: " + ", ".join(i["field"] for i in invalid),
            {"invalid": invalid},
        )
    return merged


_TOKENS = ("access_token", "refresh_token", "id_token")


class Credential:
    """A credential on a request, the way the app takes it (a header, a query parameter
    or HTTP Basic), as a requests auth hook: what it sets replaces whatever the request
    carried in its place. ``path``: a path segment the URL builders put before the
    request's path (Telegram's /bot<token>), or "". ``secrets``: the values that must
    never reach a caller, should the app echo them."""

    def __init__(
        self,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        secrets: tuple[str, ...],
        path: str = "",
    ) -> None:
        self.headers = dict(headers)
        self.query = dict(query)
        self.secrets = secrets
        self.path = path

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.update(self.headers)
        if self.query:
            parts = urlsplit(request.url or "")
            kept = [
                (name, value)
                for name, value in parse_qsl(parts.query, keep_blank_values=True)
                if name not in self.query
            ]
            query = urlencode([*kept, *self.query.items()])
            request.url = urlunsplit(parts._replace(query=query))
        return request


def placed(scheme: SchemeSpec, values: Mapping[str, Any]) -> Credential:
    """The credential of a catalog scheme's placement, from a connection's values."""
    placement = scheme.apply
    secret_names = [f.name for f in scheme.connection_fields if f.secret]
    secrets = [str(values[name]) for name in (*secret_names, *_TOKENS) if values.get(name)]
    if placement is None:  # NO_AUTH: nothing to apply
        return Credential({}, {}, tuple(secrets))
    if placement.location == "basic":
        assert placement.username_field
        username = str(values.get(placement.username_field, ""))
        password = str(values.get(placement.password_field, "")) if placement.password_field else ""
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        return Credential({"Authorization": f"Basic {token}"}, {}, (*secrets, token))
    if placement.location == "path":
        assert placement.field
        raw = str(values.get(placement.field, ""))
        # Percent-encoded whole, so that no value can add a segment or climb out of the
        # base path; echoed encoded either way, it is redacted in both spellings.
        segment = quote(raw, safe=":")
        spellings = {segment, quote(raw, safe="")} - {raw}
        secrets += [s for s in sorted(spellings) if s]
        return Credential({}, {}, tuple(secrets), f"/{placement.prefix}{segment}")
    assert placement.name and placement.field
    value = f"{placement.prefix}{values.get(placement.field, '')}"
    if placement.location == "header":
        return Credential({placement.name: value}, {}, tuple(secrets))
    return Credential({}, {placement.name: value}, tuple(secrets))


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)[:_MAX_FIELD]


def probe(api: ApiSettings, credential: Credential, params: Mapping[str, str]) -> ProbeResult:
    """Call the app's identity endpoint with the credential and read the answer."""
    import requests

    spec = api.identity
    assert spec is not None
    url = loader.fill(spec.path, dict(params))
    if url.startswith("/"):
        base = loader.fill(api.base_url or "", dict(params)).rstrip("/")
        url = base + credential.path + url
    elif credential.path:
        parts = urlsplit(url)
        url = urlunsplit(parts._replace(path=credential.path + parts.path))
    try:
        response = http.session().request(
            spec.method,
            url,
            auth=credential,
            headers={"Accept": "application/json", **spec.headers},
            timeout=http.timeout(),
            allow_redirects=False,
            stream=True,
        )
        with response:
            body = response.raw.read(_MAX_ANSWER + 1, decode_content=True)
    except requests.Timeout:
        return ProbeResult("unavailable", message="the app's API timed out")
    except requests.RequestException:
        return ProbeResult("unavailable", message="the app's API could not be reached")
    if response.status_code == 401:
        return ProbeResult("rejected", message="the app answered HTTP 401")
    if response.status_code == 403:
        # Authenticated, only not allowed this call: a valid, narrowly scoped credential.
        return ProbeResult("valid")
    if not 200 <= response.status_code < 300:
        return ProbeResult(
            "unavailable", message=f"the app's API answered HTTP {response.status_code}"
        )
    try:
        payload = json.loads(body) if len(body) <= _MAX_ANSWER else None
    except ValueError:
        payload = None
    if spec.ok_field and not dotted(payload, spec.ok_field):
        return ProbeResult("rejected", message=f"the app answered {spec.ok_field}: false")
    return ProbeResult(
        "valid",
        account_id=_text(dotted(payload, spec.id_field)),
        display_name=_text(dotted(payload, spec.name_field)),
    )
