"""The app catalog: which third-party services Keyfob knows and how to connect to each
(``catalog.json``), its schema, and the rules for the values each app asks for."""

from keyfob.catalog.calls import Probe, Revocation
from keyfob.catalog.lifecycle import Deprecation
from keyfob.catalog.loader import fill, get_app, list_apps, placeholders
from keyfob.catalog.schema import (
    SLUG_PATTERN,
    App,
    AuthScheme,
    CredentialPlacement,
    ParamField,
    SchemeSpec,
)
from keyfob.catalog.scheme_parts import (
    Exchange,
    GitHubAppSpec,
    JwtBearerSpec,
    OAuth1Spec,
)

__all__ = [
    "SLUG_PATTERN",
    "App",
    "AuthScheme",
    "CredentialPlacement",
    "Deprecation",
    "Exchange",
    "GitHubAppSpec",
    "JwtBearerSpec",
    "OAuth1Spec",
    "ParamField",
    "Probe",
    "Revocation",
    "SchemeSpec",
    "fill",
    "get_app",
    "list_apps",
    "placeholders",
]
