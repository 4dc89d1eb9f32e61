"""Validation of the values a developer or an end user supplies against catalog fields."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence

from keyfob.catalog.loader import example, placeholders
from keyfob.catalog.names import AuthScheme
from keyfob.catalog.schema import ParamField, SchemeSpec
from keyfob.core.errors import Invalid
from keyfob.core.urls import url_problem

ParamValues = dict[str, str | list[str]]


def integration_fields(scheme: SchemeSpec) -> list[ParamField]:
    """What the developer supplies once for an integration of this scheme."""
    scopes = ParamField(
        name="scopes",
        display_name="Scopes",
        type="string_list",
        description="Scopes to request; the app's defaults when omitted.",
        required=False,
        default=list(scheme.default_scopes),
    )
    if scheme.type in (AuthScheme.OAUTH2_CLIENT_CREDENTIALS, AuthScheme.JWT_BEARER):
        return [scopes]  # each connection brings its own client, or its own key
    if scheme.type is AuthScheme.OAUTH1:
        return [
            ParamField(
                name="client_id",
                display_name="Consumer key",
                description="The consumer key (API key) of your app registered with the provider.",
            ),
            ParamField(
                name="client_secret",
                display_name="Consumer secret",
                description="Its consumer secret (HMAC-SHA1), or its RSA private key in PEM "
                "(RSA-SHA1).",
                secret=True,
            ),
        ]
    if scheme.type is AuthScheme.GITHUB_APP:
        return [
            ParamField(
                name="client_id",
                display_name="Client ID",
                description="The GitHub App's client ID: the iss of its JWT and the client "
                "of the user authorization asked for during installation.",
            ),
            ParamField(
                name="client_secret",
                display_name="Private key",
                description="The GitHub App's private key in PEM.",
                secret=True,
            ),
            ParamField(
                name="oauth_client_secret",
                display_name="Client secret",
                description="A client secret of the GitHub App: the install redirect's code "
                "buys a user access token with it, to check the installation is the user's.",
                secret=True,
            ),
            ParamField(
                name="app_slug",
                display_name="App slug",
                description="The app's slug: https://github.com/apps/<slug>.",
                pattern=r"^[a-z0-9][a-z0-9-]{0,99}$",
            ),
        ]
    if scheme.type is not AuthScheme.OAUTH2:
        return []
    return [
        ParamField(
            name="client_id",
            display_name="Client ID",
            description="The OAuth client id of your app registered with the provider.",
        ),
        ParamField(
            name="client_secret",
            display_name="Client secret",
            description="The OAuth client secret of your app registered with the provider.",
            secret=True,
        ),
        scopes,
    ]


def template_problem(url: str, fields: Collection[str], extra: Collection[str] = ()) -> str | None:
    """url_problem for a URL with {placeholders}, which must name known fields."""
    unknown = [p for p in placeholders(url) if p not in fields and p not in extra]
    if unknown:
        return f"unknown placeholder {unknown[0]}"
    return url_problem(example(url))


def _as_list(value: str | list[str]) -> list[str]:
    if isinstance(value, list):
        return [v for v in value if v]
    return [v for v in re.split(r"[\s,]+", value) if v]


def validate(
    fields: Sequence[ParamField], values: Mapping[str, str | list[str]], *, what: str
) -> ParamValues:
    """Check values against fields; a 422 names every missing, unknown or invalid field."""
    known = {f.name: f for f in fields}
    missing = [
        f.name for f in fields if f.required and f.default is None and not values.get(f.name)
    ]
    unknown = sorted(set(values) - set(known))
    invalid: list[dict[str, str]] = []
    result: ParamValues = {}
    for field in fields:
        raw = values.get(field.name, field.default)
        if raw is None or raw == "":
            continue
        if field.type == "string_list":
            result[field.name] = _as_list(raw)
            continue
        if not isinstance(raw, str):
            invalid.append({"field": field.name, "reason": "must be a string"})
            continue
        value = raw.strip()
        if field.choices is not None and value not in field.choices:
            invalid.append({"field": field.name, "reason": "must be one of the choices"})
        elif field.pattern and not re.fullmatch(field.pattern, value):
            invalid.append({"field": field.name, "reason": f"must match {field.pattern}"})
        elif field.type == "url" and (problem := url_problem(value)):
            invalid.append({"field": field.name, "reason": problem})
        else:
            result[field.name] = value
    if missing or unknown or invalid:
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        if unknown:
            parts.append("unknown " + ", ".join(unknown))
        if invalid:
            parts.append("invalid " + ", ".join(i["field"] for i in invalid))
        raise Invalid(
            f"invalid_{what}",
            f"Invalid {what}: " + "; ".join(parts),
            {"missing": missing, "unknown": unknown, "invalid": invalid},
        )
    return result
