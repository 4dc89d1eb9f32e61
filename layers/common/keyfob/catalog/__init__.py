"""The app catalog: which third-party services Keyfob knows and how to connect to each
(``catalog.json``), its schema, and the rules for the values each app asks for."""

from keyfob.catalog.loader import fill, get_app, list_apps, placeholders
from keyfob.catalog.schema import (
    SLUG_PATTERN,
    App,
    AuthScheme,
    CredentialPlacement,
    Deprecation,
    ParamField,
    Probe,
    Revocation,
    SchemeSpec,
)

__all__ = [
    "SLUG_PATTERN",
    "App",
    "AuthScheme",
    "CredentialPlacement",
    "Deprecation",
    "ParamField",
    "Probe",
    "Revocation",
    "SchemeSpec",
    "fill",
    "get_app",
    "list_apps",
    "placeholders",
]
