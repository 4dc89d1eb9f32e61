"""Two-step token exchange: the connection's credentials (a username and password, a key
and secret) sent to the app's token endpoint as the catalog's ``exchange`` describes
(request body, headers, where the token and its lifetime are in the answer) for a
short-lived token; renewed by making the exchange again. The credentials are secret
fields, sealed like any other; only the token goes on requests to the API."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from keyfob.auth import token_endpoint
from keyfob.auth.base import Context, GrantError, Minted, secret_fields
from keyfob.auth.oauth2 import resolve, token_set
from keyfob.catalog import loader
from keyfob.core.ids import now
from keyfob.core.nesting import dotted

if TYPE_CHECKING:
    from keyfob.catalog.schema import SchemeSpec
    from keyfob.catalog.scheme_parts import Exchange


def _filled(template: Any, values: dict[str, str]) -> Any:
    """A JSON template with every string's {placeholders} filled."""
    if isinstance(template, str):
        return loader.fill(template, values)
    if isinstance(template, dict):
        return {k: _filled(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_filled(v, values) for v in template]
    return template


def _lifetime(exchange: Exchange, answer: dict[str, Any]) -> int | None:
    """Seconds the token lives, from the answer's lifetime or its expiry, if it says."""
    seconds = dotted(answer, exchange.expires_in_path)
    if isinstance(seconds, int | float | str) and str(seconds).isdigit():
        return int(seconds)
    expiry = dotted(answer, exchange.expires_at_path)
    if isinstance(expiry, int | float) or (isinstance(expiry, str) and expiry.isdigit()):
        moment = datetime.fromtimestamp(int(expiry), UTC)
    elif isinstance(expiry, str):
        try:
            moment = datetime.fromisoformat(expiry.replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    else:
        return None
    return max(int((moment - now()).total_seconds()), 1)


def _token(context: Context, credential: Mapping[str, Any]) -> dict[str, Any]:
    integration = context.integration
    scheme: SchemeSpec = loader.get_app(integration.app).scheme(integration.auth_scheme)
    exchange = scheme.exchange
    assert exchange is not None and integration.oauth is not None
    oauth = resolve(integration.oauth, context.params)
    assert oauth.token_url
    declared = {f.name: "" for f in scheme.connection_fields}
    values = {**declared, **context.params, **{k: str(v) for k, v in credential.items()}}
    request: dict[str, Any] = {"headers": _filled(exchange.headers, values)}
    body = _filled(exchange.body, values)
    if exchange.body_format == "json":
        request["json"] = body
    elif exchange.body_format == "form":
        request["data"] = body
    if exchange.basic_auth:
        username, password = exchange.basic_auth
        request["auth"] = (values[username], values[password])
    answer = token_endpoint.call(exchange.method, oauth.token_url, **request)
    token = dotted(answer, exchange.token_path)
    if not isinstance(token, str) or not token:
        raise GrantError(f"token endpoint answered no token at {exchange.token_path}")
    lifetime = _lifetime(exchange, answer)
    tokens = token_set(
        {"access_token": token, **({"expires_in": lifetime} if lifetime else {})},
        oauth.token_lifetime_seconds,
    )
    return {**secret_fields(scheme, credential), **tokens}


class TwoStep(Minted):
    revocable = False

    def mint(self, context: Context, credential: Mapping[str, Any]) -> dict[str, Any]:
        return _token(context, credential)
