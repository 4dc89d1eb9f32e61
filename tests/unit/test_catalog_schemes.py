"""The catalog schema's new auth schemes: each scheme's own part, and the fields its flow
reads, checked when a scheme is read."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from keyfob.catalog.names import AuthScheme
from keyfob.catalog.schema import SchemeSpec

BEARER = {
    "location": "header",
    "name": "Authorization",
    "prefix": "Bearer ",
    "field": "access_token",
}
SECRET = {"name": "client_secret", "display_name": "Secret", "description": "s", "secret": True}
CLIENT_ID = {"name": "client_id", "display_name": "Client ID", "description": "c"}


def field(name: str, secret: bool = False, required: bool = True) -> dict[str, Any]:
    return {
        "name": name,
        "display_name": name,
        "description": name,
        "secret": secret,
        "required": required,
    }


VALID: dict[str, dict[str, Any]] = {
    "NO_AUTH": {"type": "NO_AUTH"},
    "OAUTH2_CLIENT_CREDENTIALS": {
        "type": "OAUTH2_CLIENT_CREDENTIALS",
        "connection_fields": [CLIENT_ID, SECRET],
        "apply": BEARER,
        "token_url": "https://auth.example.com/oauth/token",
        "audience": "https://api.example.com",
        "default_scopes": ["read"],
        "token_endpoint_auth_method": "client_secret_basic",
    },
    "OAUTH1": {
        "type": "OAUTH1",
        "oauth1": {
            "request_token_url": "https://trello.com/1/OAuthGetRequestToken",
            "authorization_url": "https://trello.com/1/OAuthAuthorizeToken",
            "access_token_url": "https://trello.com/1/OAuthGetAccessToken",
            "authorization_params": {"scope": "read", "expiration": "never"},
        },
    },
    "JWT_BEARER": {
        "type": "JWT_BEARER",
        "connection_fields": [
            field("service_account_key", secret=True),
            field("subject", required=False),
        ],
        "apply": BEARER,
        "token_url": "https://oauth2.googleapis.com/token",
        "default_scopes": ["https://www.googleapis.com/auth/drive.readonly"],
        "jwt_bearer": {"flavour": "google_service_account"},
    },
    "GITHUB_APP": {
        "type": "GITHUB_APP",
        "apply": BEARER,
        "github_app": {
            "install_url": "https://github.com/apps/{app_slug}/installations/new",
            "oauth_token_url": "https://github.com/login/oauth/access_token",
            "user_installations_url": "https://api.github.com/user/installations",
            "installation_token_url": "https://api.github.com/app/installations/{installation_id}/access_tokens",
        },
    },
    "TWO_STEP": {
        "type": "TWO_STEP",
        "connection_fields": [field("username"), field("password", secret=True)],
        "apply": BEARER,
        "token_url": "https://api.example.com/auth/login",
        "exchange": {
            "body": {"user": "{username}", "pass": "{password}"},
            "expires_in_path": "ttl",
        },
    },
}


@pytest.mark.parametrize("kind", list(VALID))
def test_given_each_new_scheme_when_well_formed_then_it_parses(kind: str) -> None:
    assert SchemeSpec.model_validate(VALID[kind]).type is AuthScheme(kind)


@pytest.mark.parametrize(
    ("kind", "change", "problem"),
    [
        ("NO_AUTH", {"apply": BEARER}, "no credential to apply"),
        ("OAUTH1", {"oauth1": None}, "oauth1 goes with"),
        ("OAUTH1", {"apply": BEARER}, "no credential to apply"),
        ("JWT_BEARER", {"jwt_bearer": {"flavour": "salesforce"}}, "needs connection field"),
        ("JWT_BEARER", {"oauth1": VALID["OAUTH1"]["oauth1"]}, "oauth1 goes with"),
        ("OAUTH2_CLIENT_CREDENTIALS", {"connection_fields": [CLIENT_ID]}, "client_secret or"),
        ("OAUTH2_CLIENT_CREDENTIALS", {"apply": None}, "needs apply"),
        ("OAUTH2_CLIENT_CREDENTIALS", {"authorization_url": "https://x.example/a"}, "endpoints"),
        ("GITHUB_APP", {"token_url": "https://x.example/t"}, "token_url"),
        ("TWO_STEP", {"exchange": {"body": {"k": "{nope}"}}}, "{nope}"),
        ("TWO_STEP", {"audience": "https://x.example"}, "audience and resource"),
        ("NO_AUTH", {"connection_fields": [SECRET]}, "no secret field"),
    ],
)
def test_given_new_scheme_when_inconsistent_then_validation_names_the_problem(
    kind: str, change: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem.replace("{", r"\{").replace("}", r"\}")):
        SchemeSpec.model_validate({**VALID[kind], **change})


@pytest.mark.parametrize("method", ["private_key_jwt", "client_secret_jwt"])
def test_given_oauth2_scheme_then_jwt_client_authentication_is_accepted(method: str) -> None:
    spec = SchemeSpec.model_validate(
        {**VALID["OAUTH2_CLIENT_CREDENTIALS"], "token_endpoint_auth_method": method}
    )
    assert spec.token_endpoint_auth_method == method
