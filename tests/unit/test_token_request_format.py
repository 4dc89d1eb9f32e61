"""The token request's body format (form or JSON) and the client's place in a provider's
own revocation call: what the catalog schema takes and what ``catalog check`` reports,
and the one function that turns Authlib's form into JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from authlib.oauth2.auth import ClientAuth, encode_client_secret_post
from pydantic import ValidationError

from keyfob.auth.oauth2_session import json_body
from keyfob.catalog.calls import Revocation
from keyfob.catalog.check import check
from keyfob.catalog.loader import get_app
from keyfob.catalog.names import AuthScheme
from keyfob.catalog.schema import SchemeSpec

BEARER = {"location": "header", "name": "Authorization", "prefix": "Bearer ", "field": "token"}
SECRET = {"name": "token", "display_name": "Token", "description": "A token.", "secret": True}


def _oauth(**changes: Any) -> dict[str, Any]:
    scheme = {
        "type": "OAUTH2",
        "docs_url": "https://docs.acme.example.com/oauth",
        "apply": {**BEARER, "field": "access_token"},
        "authorization_url": "https://acme.example.com/oauth/authorize",
        "token_url": "https://acme.example.com/oauth/token",
    }
    return {**scheme, **changes}


def _catalog(scheme: dict[str, Any]) -> dict[str, Any]:
    app = {
        "slug": "acme",
        "name": "Acme",
        "description": "Acme's API.",
        "docs_url": "https://docs.acme.example.com/",
        "logo_url": "https://acme.example.com/logo.svg",
        "api_base_url": "https://api.acme.example.com",
        "auth_schemes": [scheme],
    }
    return {"version": 1, "apps": [app]}


def test_given_no_format_then_the_token_request_is_a_form() -> None:
    assert SchemeSpec.model_validate(_oauth()).token_request_format == "form"


@pytest.mark.parametrize("kind", ["OAUTH2", "OAUTH2_CLIENT_CREDENTIALS"])
def test_given_json_on_an_authlib_made_token_request_when_checked_then_it_passes(
    kind: str,
) -> None:
    scheme = _oauth(type=kind, token_request_format="json")
    if kind == "OAUTH2_CLIENT_CREDENTIALS":
        del scheme["authorization_url"]
        scheme["connection_fields"] = [
            {"name": "client_id", "display_name": "ID", "description": "i"},
            {"name": "client_secret", "display_name": "S", "description": "s", "secret": True},
        ]

    result = check(_catalog(scheme))

    assert result.problems == []
    assert result.apps[0].auth_schemes[0].token_request_format == "json"


def test_given_an_unknown_format_when_checked_then_the_field_is_named() -> None:
    problems = check(_catalog(_oauth(token_request_format="xml"))).problems

    assert "acme: auth_schemes.0.token_request_format: Input should be 'form' or 'json'" in (
        problems
    )


def test_given_json_on_a_scheme_without_an_oauth_token_request_then_it_is_refused() -> None:
    scheme = {
        "type": "BEARER_TOKEN",
        "docs_url": "https://docs.acme.example.com/auth",
        "connection_fields": [SECRET],
        "apply": BEARER,
        "token_request_format": "json",
    }

    problems = check(_catalog(scheme)).problems

    refused = "acme: auth_schemes.0: Value error, BEARER_TOKEN scheme cannot carry a "
    assert refused + "token_request_format" in problems


@pytest.mark.parametrize("client_auth", ["body", "client_header"])
@pytest.mark.parametrize("token_in", ["bearer", "query", "path"])
def test_given_client_credentials_in_the_body_of_a_call_without_one_then_it_is_refused(
    client_auth: str, token_in: str
) -> None:
    url = "https://acme.example.com/revoke/{token}" if token_in == "path" else "https://a.io/r"

    with pytest.raises(ValidationError, match=f"client_auth {client_auth} goes with token_in"):
        Revocation(url=url, token_in=token_in, client_auth=client_auth)


def test_given_the_json_method_then_the_authenticated_form_is_sent_as_one_json_object() -> None:
    # Given Authlib's client_secret_post, made to send JSON
    encode = json_body(encode_client_secret_post)
    auth = ClientAuth("the-client", "s3cret&=", "client_secret_post+json")
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    form = "grant_type=authorization_code&code=a%2Bb&redirect_uri=https%3A%2F%2Fx.io%2Fcb"

    # When it signs a token request Authlib form-encoded
    uri, headers, body = encode(auth, "POST", "https://acme.example.com/token", headers, form)

    # Then the body is the same parameters, the client's credentials with them, as JSON
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {
        "grant_type": "authorization_code",
        "code": "a+b",
        "redirect_uri": "https://x.io/cb",
        "client_id": "the-client",
        "client_secret": "s3cret&=",
    }
    assert uri == "https://acme.example.com/token"


# --- the apps that take JSON -----------------------------------------------------------


@pytest.mark.parametrize(
    ("slug", "fmt"),
    [
        ("square", "json"),
        ("jira", "json"),
        ("confluence", "json"),
        ("miro", "form"),
        ("freshbooks", "form"),
    ],
)
def test_given_the_catalog_then_json_token_requests_are_where_the_docs_say(
    slug: str, fmt: str
) -> None:
    assert get_app(slug).scheme(AuthScheme.OAUTH2).token_request_format == fmt


def test_given_square_then_revocation_sends_json_with_the_secret_in_a_client_header() -> None:
    revocation = get_app("square").scheme(AuthScheme.OAUTH2).revocation
    assert revocation is not None

    assert (revocation.method, revocation.url) == (
        "POST",
        "https://connect.squareup.com/oauth2/revoke",
    )
    assert (revocation.token, revocation.token_in, revocation.token_param) == (
        "access_token",
        "json",
        "access_token",
    )
    assert (revocation.client_auth, revocation.client_params[0]) == ("client_header", "client_id")


def test_given_miro_then_revocation_is_v2_with_the_client_in_the_json_body() -> None:
    revocation = get_app("miro").scheme(AuthScheme.OAUTH2).revocation
    assert revocation is not None

    assert (revocation.method, revocation.url) == ("POST", "https://api.miro.com/v2/oauth/revoke")
    assert (revocation.token_in, revocation.token_param, revocation.client_auth) == (
        "json",
        "accessToken",
        "body",
    )
    assert revocation.client_params == ("clientId", "clientSecret")
