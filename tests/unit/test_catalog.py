"""The app catalog data file: schema-valid, complete, and safe to substitute into URLs."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from keyfob.catalog import (
    CATALOG_PATH,
    App,
    AuthScheme,
    Catalog,
    SchemeSpec,
    get_app,
    list_apps,
    placeholders,
)
from keyfob.errors import NotFound

RAW: dict[str, Any] = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))
CATALOG = Catalog.model_validate(RAW)
APPS = {app.slug: app for app in CATALOG.apps}

OAUTH2 = AuthScheme.OAUTH2
API_KEY = AuthScheme.API_KEY
BEARER_TOKEN = AuthScheme.BEARER_TOKEN
BASIC = AuthScheme.BASIC

REQUIRED_SCHEMES: dict[str, set[AuthScheme]] = {
    "github": {OAUTH2, BEARER_TOKEN},
    "google": {OAUTH2},
    "slack": {OAUTH2},
    "notion": {OAUTH2},
    "linear": {OAUTH2},
    "hubspot": {OAUTH2},
    "salesforce": {OAUTH2},
    "microsoft": {OAUTH2},
    "atlassian": {OAUTH2},
    "zoom": {OAUTH2},
    "dropbox": {OAUTH2},
    "asana": {OAUTH2},
    "airtable": {OAUTH2},
    "gitlab": {OAUTH2},
    "zendesk": {OAUTH2},
    "shopify": {OAUTH2},
    "discord": {OAUTH2},
    "spotify": {OAUTH2},
    "box": {OAUTH2},
    "figma": {OAUTH2},
    "intercom": {OAUTH2},
    "openai": {API_KEY},
    "anthropic": {API_KEY},
    "stripe": {API_KEY, BASIC},
    "sendgrid": {API_KEY},
    "twilio": {BASIC},
    "mailchimp": {API_KEY},
    "resend": {API_KEY},
    "postmark": {API_KEY},
    "oauth2": {OAUTH2},
}

SECRET_NAMES = {"api_key", "token", "password", "secret", "auth_token"}
SECRET_SUFFIXES = ("_key", "_token", "_secret", "password")
HOST_INJECTIONS = ("evil.com/x", "a.b")


def _schemes() -> list[tuple[App, SchemeSpec]]:
    return [(app, spec) for app in CATALOG.apps for spec in app.auth_schemes]


def _scheme_id(pair: tuple[App, SchemeSpec]) -> str:
    return f"{pair[0].slug}-{pair[1].type.value}"


def _oauth_urls(spec: SchemeSpec) -> list[str]:
    return [u for u in (spec.authorization_url, spec.token_url, spec.revocation_url) if u]


def _placeholder_fields() -> list[tuple[str, Any]]:
    found = []
    for app, spec in _schemes():
        names = set()
        for template in [app.api_base_url, *_oauth_urls(spec)]:
            names.update(placeholders(template))
        for field in spec.connection_fields:
            if field.name in names:
                found.append((f"{app.slug}-{spec.type.value}-{field.name}", field))
    return found


PLACEHOLDER_FIELDS = _placeholder_fields()


def test_given_catalog_file_when_validated_then_every_app_parses() -> None:
    catalog = Catalog.model_validate(RAW)

    assert catalog.version == 1
    assert [app.slug for app in catalog.apps] == [entry["slug"] for entry in RAW["apps"]]


def test_given_catalog_then_it_lists_at_least_25_apps() -> None:
    assert len(CATALOG.apps) >= 25


def test_given_catalog_file_then_apps_are_sorted_by_slug() -> None:
    slugs = [entry["slug"] for entry in RAW["apps"]]

    assert slugs == sorted(slugs)


def test_given_catalog_file_then_it_is_formatted_with_two_space_indentation() -> None:
    text = CATALOG_PATH.read_text(encoding="utf-8")

    assert text == json.dumps(RAW, indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("slug", sorted(REQUIRED_SCHEMES))
def test_given_required_app_then_it_offers_its_schemes(slug: str) -> None:
    offered = {spec.type for spec in APPS[slug].auth_schemes}

    assert REQUIRED_SCHEMES[slug] <= offered


@pytest.mark.parametrize("slug", sorted(APPS))
def test_given_known_slug_when_get_app_then_the_app_is_returned(slug: str) -> None:
    assert get_app(slug) == APPS[slug]


def test_given_catalog_when_list_apps_then_every_app_is_returned_in_slug_order() -> None:
    assert [app.slug for app in list_apps()] == sorted(APPS)


def test_given_unknown_slug_when_get_app_then_not_found_is_raised() -> None:
    with pytest.raises(NotFound) as caught:
        get_app("no-such-app")

    assert caught.value.code == "app_not_found"


@pytest.mark.parametrize(
    "pair",
    [p for p in _schemes() if p[1].type is OAUTH2 and p[0].slug != "oauth2"],
    ids=_scheme_id,
)
def test_given_oauth2_app_then_authorization_and_token_urls_use_https(
    pair: tuple[App, SchemeSpec],
) -> None:
    _, spec = pair

    assert spec.authorization_url and spec.authorization_url.startswith("https://")
    assert spec.token_url and spec.token_url.startswith("https://")
    assert spec.revocation_url is None or spec.revocation_url.startswith("https://")


def test_given_generic_oauth2_entry_then_it_has_no_endpoints() -> None:
    app = APPS["oauth2"]

    assert app.name == "Custom OAuth 2.0 server"
    assert app.api_base_url == ""
    assert [spec.type for spec in app.auth_schemes] == [OAUTH2]
    spec = app.scheme(OAUTH2)
    assert spec.authorization_url is None
    assert spec.token_url is None


@pytest.mark.parametrize("pair", _schemes(), ids=_scheme_id)
def test_given_scheme_then_every_url_placeholder_names_one_of_its_fields(
    pair: tuple[App, SchemeSpec],
) -> None:
    app, spec = pair
    names = {field.name for field in spec.connection_fields}

    for template in [app.api_base_url, *_oauth_urls(spec)]:
        assert set(placeholders(template)) <= names, template


def test_given_catalog_then_some_fields_are_substituted_into_urls() -> None:
    assert {name.split("-")[-1] for name, _ in PLACEHOLDER_FIELDS} >= {
        "subdomain",
        "shop",
        "dc",
    }


@pytest.mark.parametrize(
    "field", [f for _, f in PLACEHOLDER_FIELDS], ids=[n for n, _ in PLACEHOLDER_FIELDS]
)
@pytest.mark.parametrize("value", HOST_INJECTIONS)
def test_given_url_placeholder_field_when_value_injects_a_host_then_pattern_rejects_it(
    field: Any, value: str
) -> None:
    assert field.pattern, f"{field.name} is substituted into a URL but has no pattern"
    assert re.fullmatch(field.pattern, value) is None


@pytest.mark.parametrize("pair", _schemes(), ids=_scheme_id)
def test_given_secret_looking_field_then_it_is_marked_secret(
    pair: tuple[App, SchemeSpec],
) -> None:
    _, spec = pair

    for field in spec.connection_fields:
        if field.name in SECRET_NAMES or field.name.endswith(SECRET_SUFFIXES):
            assert field.secret, field.name


@pytest.mark.parametrize("pair", [p for p in _schemes() if p[1].type is OAUTH2], ids=_scheme_id)
def test_given_oauth2_scheme_then_the_access_token_is_applied(
    pair: tuple[App, SchemeSpec],
) -> None:
    _, spec = pair

    assert spec.apply.location == "header"
    assert spec.apply.field == "access_token"


def test_given_google_then_authorization_asks_for_offline_access_and_consent() -> None:
    spec = APPS["google"].scheme(OAUTH2)

    assert spec.authorization_params == {"access_type": "offline", "prompt": "consent"}


def test_given_microsoft_then_it_uses_the_common_tenant_and_offline_access() -> None:
    spec = APPS["microsoft"].scheme(OAUTH2)

    assert "/common/" in (spec.authorization_url or "")
    assert "/common/" in (spec.token_url or "")
    assert "offline_access" in spec.default_scopes


def test_given_atlassian_then_authorization_targets_the_api_gateway_with_consent() -> None:
    spec = APPS["atlassian"].scheme(OAUTH2)

    assert spec.authorization_params == {"audience": "api.atlassian.com", "prompt": "consent"}


def test_given_dropbox_then_authorization_requests_offline_tokens() -> None:
    spec = APPS["dropbox"].scheme(OAUTH2)

    assert spec.authorization_params["token_access_type"] == "offline"


def test_given_airtable_then_pkce_is_used() -> None:
    assert APPS["airtable"].scheme(OAUTH2).pkce is True


def test_given_slack_then_it_uses_oauth_v2_with_comma_separated_scopes() -> None:
    spec = APPS["slack"].scheme(OAUTH2)

    assert spec.authorization_url == "https://slack.com/oauth/v2/authorize"
    assert spec.token_url == "https://slack.com/api/oauth.v2.access"
    assert spec.scope_separator == ","


def test_given_zendesk_then_urls_are_built_from_the_subdomain() -> None:
    app = APPS["zendesk"]
    spec = app.scheme(OAUTH2)

    assert app.api_base_url == "https://{subdomain}.zendesk.com/api/v2"
    assert spec.authorization_url == "https://{subdomain}.zendesk.com/oauth/authorizations/new"
    assert spec.token_url == "https://{subdomain}.zendesk.com/oauth/tokens"


def test_given_shopify_then_urls_are_built_from_the_shop() -> None:
    spec = APPS["shopify"].scheme(OAUTH2)

    assert spec.authorization_url == "https://{shop}.myshopify.com/admin/oauth/authorize"
    assert spec.token_url == "https://{shop}.myshopify.com/admin/oauth/access_token"
    assert spec.apply.name == "X-Shopify-Access-Token"


def test_given_twilio_then_basic_auth_uses_account_sid_and_auth_token() -> None:
    app = APPS["twilio"]
    apply = app.scheme(BASIC).apply

    assert app.api_base_url == "https://api.twilio.com"
    assert (apply.username_field, apply.password_field) == ("account_sid", "auth_token")


def test_given_mailchimp_then_the_base_url_holds_the_data_center() -> None:
    app = APPS["mailchimp"]

    assert app.api_base_url == "https://{dc}.api.mailchimp.com/3.0"
    assert {f.name for f in app.scheme(API_KEY).connection_fields} == {"api_key", "dc"}


@pytest.mark.parametrize(
    ("slug", "header", "prefix"),
    [
        ("openai", "Authorization", "Bearer "),
        ("anthropic", "x-api-key", ""),
        ("stripe", "Authorization", "Bearer "),
        ("sendgrid", "Authorization", "Bearer "),
        ("resend", "Authorization", "Bearer "),
        ("postmark", "X-Postmark-Server-Token", ""),
    ],
)
def test_given_api_key_app_then_the_key_goes_in_the_documented_header(
    slug: str, header: str, prefix: str
) -> None:
    apply = APPS[slug].scheme(API_KEY).apply

    assert (apply.location, apply.name, apply.prefix, apply.field) == (
        "header",
        header,
        prefix,
        "api_key",
    )


def test_given_anthropic_then_the_description_mentions_the_version_header() -> None:
    assert "anthropic-version" in APPS["anthropic"].description
