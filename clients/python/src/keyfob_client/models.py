"""Typed, frozen views of the API's JSON.

Built tolerantly: fields a newer server adds are ignored (and kept in ``raw``), fields an
older server lacks take their defaults, and enumerations stay plain strings so that a new
status or auth scheme never breaks parsing; compare them with :class:`Status` and
:class:`AuthScheme`, which are ``str`` enums. ``raw`` is the object exactly as the API sent
it; it is left out of ``repr`` and comparisons.
"""

from __future__ import annotations

import base64
import json
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from enum import StrEnum
from typing import Any, Self

from keyfob_client.errors import UnexpectedResponseError


class Status(StrEnum):
    INITIATED = "INITIATED"
    ACTIVE = "ACTIVE"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    INACTIVE = "INACTIVE"
    AWAITING_CONFIRMATION = "AWAITING_CONFIRMATION"


class AuthScheme(StrEnum):
    OAUTH2 = "OAUTH2"
    API_KEY = "API_KEY"
    BEARER_TOKEN = "BEARER_TOKEN"
    BASIC = "BASIC"


@dataclass(frozen=True, kw_only=True)
class Resource:
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Self:
        if not isinstance(data, Mapping):
            raise UnexpectedResponseError(f"expected a JSON object for {cls.__name__}")
        hints = _field_types(cls)
        values = {
            f.name: _convert(hints[f.name], data[f.name])
            for f in fields(cls)
            if f.name != "raw" and f.name in data
        }
        missing = [
            f.name
            for f in fields(cls)
            if f.name not in values and f.default is MISSING and f.default_factory is MISSING
        ]
        if missing:
            raise UnexpectedResponseError(f"{cls.__name__} without {', '.join(missing)}")
        return cls(raw=data, **values)


_FIELD_TYPES: dict[type[Resource], dict[str, Any]] = {}


def _field_types(cls: type[Resource]) -> dict[str, Any]:
    if cls not in _FIELD_TYPES:
        _FIELD_TYPES[cls] = typing.get_type_hints(cls)
    return _FIELD_TYPES[cls]


def _convert(hint: Any, value: Any) -> Any:
    """JSON value -> the field's type, for the shapes these models use: a nested resource,
    ``tuple[X, ...]`` from a list, and ``X | None``. Anything else is kept as sent."""
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin is types.UnionType:
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _convert(options[0], value) if len(options) == 1 else value
    if origin is tuple and isinstance(value, list):
        item_type = typing.get_args(hint)[0]
        return tuple(_convert(item_type, item) for item in value)
    if isinstance(hint, type) and issubclass(hint, Resource):
        return hint.from_json(value)
    return value


# --- catalog -----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AuthSchemeInfo(Resource):
    type: str
    authorization_url: str | None = None
    token_url: str | None = None
    revocation_url: str | None = None
    default_scopes: tuple[str, ...] = ()
    pkce: bool | None = None


@dataclass(frozen=True, kw_only=True)
class App(Resource):
    slug: str
    name: str
    description: str = ""
    categories: tuple[str, ...] = ()
    docs_url: str = ""
    api_base_url: str = ""
    auth_schemes: tuple[AuthSchemeInfo, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ParamField(Resource):
    """A value someone must supply: the developer for an integration, the end user to
    connect an account."""

    name: str
    display_name: str = ""
    type: str = "string"
    description: str = ""
    required: bool = True
    secret: bool = False
    default: str | list[str] | None = None
    pattern: str | None = None


@dataclass(frozen=True, kw_only=True)
class AppParams(Resource):
    app: str
    auth_scheme: str
    integration_fields: tuple[ParamField, ...] = ()
    connection_fields: tuple[ParamField, ...] = ()


# --- integrations --------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Integration(Resource):
    id: str
    name: str
    app: str
    auth_scheme: str
    client_id: str | None = None
    scopes: tuple[str, ...] = ()
    oauth: Mapping[str, Any] | None = None
    api: Mapping[str, Any] | None = None
    require_confirmation: bool = False
    account_count: int = 0
    created_at: str


@dataclass(frozen=True, kw_only=True)
class IntegrationPage(Resource):
    items: tuple[Integration, ...]
    next_cursor: str | None = None


# --- connected accounts ------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Account(Resource):
    id: str
    integration_id: str
    app: str
    auth_scheme: str
    entity_id: str
    status: str
    status_reason: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    token_expires_at: str | None = None
    upstream_account_id: str | None = None
    upstream_display_name: str | None = None
    last_refreshed_at: str | None = None
    refresh_failures: int = 0
    created_at: str
    updated_at: str


@dataclass(frozen=True, kw_only=True)
class InitiatedAccount(Account):
    redirect_url: str | None = None
    """OAuth 2.0: where to send the user to authorize. None when already connected."""


@dataclass(frozen=True, kw_only=True)
class AccountPage(Resource):
    items: tuple[Account, ...]
    next_cursor: str | None = None


@dataclass(frozen=True, kw_only=True)
class AccountEvent(Resource):
    type: str
    """The event's detail-type, as published on the bus (``Keyfob.ConnectionFailed``...)."""
    at: str
    event_id: str | None = None
    status: str | None = None
    previous_status: str | None = None
    status_reason: str | None = None
    correlation_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class AccountEvents(Resource):
    connected_account_id: str
    items: tuple[AccountEvent, ...]


@dataclass(frozen=True, kw_only=True)
class Credentials(Resource):
    connected_account_id: str
    app: str
    auth_scheme: str
    status: str
    # Out of repr: a logged or printed Credentials object must not show the secrets.
    credentials: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, kw_only=True)
class Revocation(Resource):
    status: str
    """revoked, failed, skipped, not_supported or not_needed."""
    message: str | None = None


@dataclass(frozen=True, kw_only=True)
class DeletedAccount(Resource):
    id: str
    deleted: bool = True
    revocation: Revocation | None = None


@dataclass(frozen=True, kw_only=True)
class ProxyResponse(Resource):
    """The upstream API's answer, relayed by Keyfob."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    body_encoding: str = "json"
    """json (``body`` is the parsed value), text (a string) or base64 (a string)."""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 400

    @property
    def content(self) -> bytes:
        """The body as bytes, whatever its encoding."""
        if self.body is None:
            return b""
        if self.body_encoding == "base64":
            return base64.b64decode(self.body)
        if self.body_encoding == "text":
            return str(self.body).encode()
        return json.dumps(self.body).encode()


@dataclass(frozen=True, kw_only=True)
class ConnectLink(Resource):
    id: str
    url: str
    """Single use; send the end user here to connect."""
    expires_at: str


# --- webhooks ----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Webhook(Resource):
    id: str
    url: str
    event_types: tuple[str, ...] | None = None
    """Only these events; None: all of them."""
    description: str | None = None
    status: str
    """ENABLED, or DISABLED (``status_reason`` says why: failing_for_a_day)."""
    status_reason: str | None = None
    failing_since: str | None = None
    created_at: str
    secret_rotated_at: str | None = None


@dataclass(frozen=True, kw_only=True)
class CreatedWebhook(Webhook):
    # Out of repr: a logged or printed endpoint must not show its signing secret.
    secret: str = field(repr=False)
    """The signing secret (whsec_...): in this answer only."""


@dataclass(frozen=True, kw_only=True)
class RotatedSecret(Resource):
    id: str
    secret: str = field(repr=False)
    """The new signing secret: in this answer only."""
    previous_secret_expires_at: str
    """Until then every delivery is signed with both secrets."""


@dataclass(frozen=True, kw_only=True)
class WebhookAttempt(Resource):
    id: str
    webhook_id: str
    message_id: str
    """The webhook-id header: the same on every retry of a message."""
    event_type: str
    trigger: str
    """event, test or retry."""
    attempt: int
    attempted_at: str
    status_code: int | None = None
    duration_ms: int = 0
    error_class: str | None = None
    succeeded: bool
    next_attempt_at: str | None = None
