"""What the rest of the layer names of the catalog without its models: an app's slug
and the auth schemes. Light to import: the API's models and the records use these, and a
function that never reads the catalog does not load its schema."""

from __future__ import annotations

from enum import StrEnum

SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class AuthScheme(StrEnum):
    OAUTH2 = "OAUTH2"
    API_KEY = "API_KEY"
    BEARER_TOKEN = "BEARER_TOKEN"
    BASIC = "BASIC"
    OAUTH2_CLIENT_CREDENTIALS = "OAUTH2_CLIENT_CREDENTIALS"
    OAUTH1 = "OAUTH1"
    JWT_BEARER = "JWT_BEARER"
    GITHUB_APP = "GITHUB_APP"
    TWO_STEP = "TWO_STEP"
    NO_AUTH = "NO_AUTH"
