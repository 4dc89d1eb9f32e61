"""The app catalog data file: schema-valid, complete, and safe to substitute into URLs."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from keyfob.catalog.calls import Probe, Revocation
from keyfob.catalog.check import check
from keyfob.catalog.loader import CATALOG_PATH, get_app, list_apps, placeholders
from keyfob.catalog.names import AuthScheme
from keyfob.catalog.schema import App, SchemeSpec
from keyfob.core.errors import NotFound

RAW: dict[str, Any] = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))
CATALOG_APPS = [App.model_validate(entry) for entry in RAW["apps"]]
APPS = {app.slug: app for app in CATALOG_APPS}

OAUTH2 = AuthScheme.OAUTH2
API_KEY = AuthScheme.API_KEY
BEARER_TOKEN = AuthScheme.BEARER_TOKEN
BASIC = AuthScheme.BASIC
OAUTH2_CLIENT_CREDENTIALS = AuthScheme.OAUTH2_CLIENT_CREDENTIALS

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
    "mcp": {OAUTH2},
}

SECRET_NAMES = {"api_key", "token", "password", "secret", "auth_token"}
SECRET_SUFFIXES = ("_key", "_token", "_secret", "password")
HOST_INJECTIONS = ("evil.com/x", "a.b")


def _schemes() -> list[tuple[App, SchemeSpec]]:
    return [(app, spec) for app in CATALOG_APPS for spec in app.auth_schemes]


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
    result = check(RAW)

    assert result.ok, result.problems
    assert [app.slug for app in CATALOG_APPS] == [entry["slug"] for entry in RAW["apps"]]


def test_given_catalog_then_it_lists_at_least_25_apps() -> None:
    assert len(CATALOG_APPS) >= 25


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
    [p for p in _schemes() if p[1].type is OAUTH2 and p[0].slug not in ("oauth2", "mcp")],
    ids=_scheme_id,
)
def test_given_oauth2_app_then_authorization_and_token_urls_use_https(
    pair: tuple[App, SchemeSpec],
) -> None:
    _, spec = pair
    # A server the user names (a Mastodon instance) is a url field, checked as https when given.
    https = ("https://", "{instance_url}/")

    for name in ("authorization_url", "token_url"):
        url = getattr(spec, name)
        # A URL the provider's docs could not confirm is null and says so; the integration
        # supplies it.
        left_null = url is None and any(note.startswith(f"{name}:") for note in spec.notes)
        assert left_null or (url and url.startswith(https)), name
    assert spec.revocation_url is None or spec.revocation_url.startswith(https)


def test_the_remote_mcp_servers_of_catalog_apps_are_https() -> None:
    servers = {a.slug: a.mcp_server_url for a in list_apps() if a.mcp_server_url}
    assert servers == {
        "linear": "https://mcp.linear.app/mcp",
        "notion": "https://mcp.notion.com/mcp",
    }
    assert APPS["mcp"].auth_schemes[0].authorization_url is None


def test_given_generic_oauth2_entry_then_it_has_no_endpoints() -> None:
    app = APPS["oauth2"]

    assert app.name == "Custom OAuth 2.0 server"
    assert app.api_base_url == ""
    assert [spec.type for spec in app.auth_schemes] == [OAUTH2, OAUTH2_CLIENT_CREDENTIALS]
    for spec in app.auth_schemes:
        assert spec.authorization_url is None
        assert spec.token_url is None


@pytest.mark.parametrize("pair", _schemes(), ids=_scheme_id)
def test_given_scheme_then_every_url_placeholder_names_one_of_its_fields(
    pair: tuple[App, SchemeSpec],
) -> None:
    app, spec = pair
    names = {field.name for field in spec.connection_fields}

    assert set(placeholders(app.api_base_url)) <= app.template_fields(spec), app.api_base_url
    for template in _oauth_urls(spec):
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
    if field.choices is not None:  # a region: only the listed values are taken
        assert value not in field.choices
        return
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


# --- identity probes, provider revocation calls, token lifetimes --------------------
#
# The catalog's identity probes, provider revocation calls and token lifetimes.
#
# A probe is made with the connection's own credential: it names the upstream account right
# after an OAuth connection, and it refuses a pasted API key or token that the provider
# answers with 401. A wrong probe refuses valid keys, so the schemes that have none are
# pinned here too, each with the reason it has none.


GOOGLE_USERINFO = "https://openidconnect.googleapis.com/v1/userinfo"
DOTTED_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")

# Pasted credentials that a probe must check before Keyfob stores them.
API_KEY_PROBES: set[tuple[str, AuthScheme]] = {
    ("airtable", BEARER_TOKEN),
    ("anthropic", API_KEY),
    ("asana", BEARER_TOKEN),
    ("calendly", BEARER_TOKEN),
    ("discord", API_KEY),
    ("github", BEARER_TOKEN),
    ("gitlab", BEARER_TOKEN),
    ("hubspot", BEARER_TOKEN),
    ("mailchimp", API_KEY),
    ("mistral", API_KEY),
    ("notion", BEARER_TOKEN),
    ("postmark", API_KEY),
    ("sendgrid", API_KEY),
    ("shopify", API_KEY),
    ("slack", BEARER_TOKEN),
    ("stripe", API_KEY),
    ("stripe", BASIC),
    ("twilio", BASIC),
}

# Schemes deliberately left without a probe, and why: adding one needs a new reason.
NO_PROBE: dict[tuple[str, AuthScheme], str] = {
    ("cloudflare", BEARER_TOKEN): "account API tokens get 401 from /user/tokens/verify",
    ("figma", API_KEY): "Figma answers an invalid token with 403, not 401",
    ("intercom", OAUTH2): "/me needs the 'Read admins' permission; without it: 401",
    ("intercom", BEARER_TOKEN): "/me needs the 'Read admins' permission; without it: 401",
    ("linear", OAUTH2): "GraphQL only: the viewer query needs a POST body",
    ("linear", API_KEY): "GraphQL only: the viewer query needs a POST body",
    ("mailgun", BASIC): "domain sending keys may only POST messages",
    ("oauth2", OAUTH2): "a custom server has no known API",
    ("oauth2", OAUTH2_CLIENT_CREDENTIALS): "a custom server has no known API",
    ("oauth1", AuthScheme.OAUTH1): "a custom server has no known API",
    ("demo-login", AuthScheme.TWO_STEP): "a demo API: the integration names its API",
    ("github", AuthScheme.GITHUB_APP): "the installation's account comes from the app's JWT",
    ("google", AuthScheme.JWT_BEARER): "a service account has no userinfo without email scope",
    ("salesforce", AuthScheme.JWT_BEARER): "its API host comes from the token's instance_url",
    ("public-api", AuthScheme.NO_AUTH): "a public API has no credential to prove",
    ("mcp", OAUTH2): "a remote MCP server is called with MCP requests, not an identity call",
    ("openai", API_KEY): "restricted keys without models.read get 401 on /models",
    ("resend", API_KEY): "sending-only keys get 401 on every read endpoint",
    ("salesforce", OAUTH2): "userinfo needs the id scope, not among the default scopes",
    ("zendesk", BASIC): "/users/me answers some bad credentials with an anonymous user",
    ("zoom", OAUTH2): "/users/me needs a user:read scope the integration may not have",
}

# Probes that must POST: Slack's Web API methods and Dropbox's RPC endpoints.
POST_PROBES: set[tuple[str, AuthScheme]] = {
    ("slack", OAUTH2),
    ("slack", BEARER_TOKEN),
    ("dropbox", OAUTH2),
}

# OAuth providers whose own revocation call replaces RFC 7009's revocation_url.
OWN_REVOCATION = {
    "dropbox",
    "facebook",
    "github",
    "miro",
    "notion",
    "slack",
    "square",
    "strava",
    "zendesk",
    "zoho-books",
    "zoho-crm",
    "zoho-desk",
    "zoho-mail",
    "zoho-projects",
}


def _schemes() -> list[tuple[App, SchemeSpec]]:
    return [(app, spec) for app in CATALOG_APPS for spec in app.auth_schemes]


def _scheme_id(pair: tuple[App, SchemeSpec]) -> str:
    return f"{pair[0].slug}-{pair[1].type.value}"


def _key_id(key: tuple[str, AuthScheme]) -> str:
    return f"{key[0]}-{key[1].value}"


def _probed() -> list[tuple[App, SchemeSpec]]:
    return [pair for pair in _schemes() if pair[1].identity is not None]


def _revoking() -> list[tuple[App, SchemeSpec]]:
    return [pair for pair in _schemes() if pair[1].revocation is not None]


def _identity(slug: str, kind: AuthScheme) -> Probe:
    probe = APPS[slug].scheme(kind).identity
    assert probe is not None, f"{slug} {kind.value} has no identity probe"
    return probe


def _revocation(slug: str) -> Revocation:
    revocation = APPS[slug].scheme(OAUTH2).revocation
    assert revocation is not None, f"{slug} has no revocation call"
    return revocation


def _probe_url(app: App, probe: Probe) -> str:
    if probe.path.startswith("https://"):
        return probe.path
    # A base URL that a url field or the token answer supplies is checked as a URL when given.
    return re.sub(r"^\{[a-z_]+\}", "https://x.example", app.api_base_url) + probe.path


def test_given_catalog_then_most_schemes_have_an_identity_probe() -> None:
    assert len(_probed()) >= 35


@pytest.mark.parametrize("pair", _probed(), ids=_scheme_id)
def test_given_probe_then_its_url_placeholders_name_connection_fields(
    pair: tuple[App, SchemeSpec],
) -> None:
    app, spec = pair
    names = {field.name for field in spec.connection_fields}
    assert spec.identity is not None

    assert set(placeholders(_probe_url(app, spec.identity))) <= names


@pytest.mark.parametrize("pair", _probed(), ids=_scheme_id)
def test_given_probe_then_it_calls_an_https_url(pair: tuple[App, SchemeSpec]) -> None:
    app, spec = pair
    assert spec.identity is not None

    assert _probe_url(app, spec.identity).startswith("https://")


@pytest.mark.parametrize("pair", _probed(), ids=_scheme_id)
def test_given_probe_then_it_is_a_get_unless_the_api_demands_a_post(
    pair: tuple[App, SchemeSpec],
) -> None:
    app, spec = pair
    assert spec.identity is not None

    expected = "POST" if (app.slug, spec.type) in POST_PROBES else "GET"
    assert spec.identity.method == expected


@pytest.mark.parametrize("pair", _probed(), ids=_scheme_id)
def test_given_probe_then_its_fields_are_dotted_paths(pair: tuple[App, SchemeSpec]) -> None:
    _, spec = pair
    probe = spec.identity
    assert probe is not None

    for field in (probe.id_field, probe.name_field, probe.ok_field):
        assert field is None or DOTTED_PATH.fullmatch(field), field


@pytest.mark.parametrize("pair", _probed(), ids=_scheme_id)
def test_given_probe_headers_then_they_never_replace_the_credential(
    pair: tuple[App, SchemeSpec],
) -> None:
    _, spec = pair
    assert spec.identity is not None
    headers = {name.lower() for name in spec.identity.headers}

    assert "authorization" not in headers
    assert spec.apply is None or spec.apply.name is None or spec.apply.name.lower() not in headers


@pytest.mark.parametrize("key", sorted(API_KEY_PROBES), ids=_key_id)
def test_given_well_known_api_key_scheme_then_it_has_an_identity_probe(
    key: tuple[str, AuthScheme],
) -> None:
    slug, kind = key

    assert kind is not OAUTH2
    assert APPS[slug].scheme(kind).identity is not None


@pytest.mark.parametrize("key", sorted(NO_PROBE), ids=_key_id)
def test_given_scheme_without_a_safe_probe_then_it_has_none(key: tuple[str, AuthScheme]) -> None:
    slug, kind = key

    assert APPS[slug].scheme(kind).identity is None, NO_PROBE[key]


def test_given_every_scheme_then_it_has_a_probe_or_a_reason_for_none() -> None:
    unexplained = [
        _scheme_id(pair)
        for pair in _schemes()
        if pair[1].identity is None
        and (pair[0].slug, pair[1].type) not in NO_PROBE
        and not any(note.startswith("identity") for note in pair[1].notes)
    ]

    assert unexplained == []


@pytest.mark.parametrize("kind", [OAUTH2, BEARER_TOKEN])
def test_given_github_then_identity_is_the_authenticated_user(kind: AuthScheme) -> None:
    probe = _identity("github", kind)

    assert (probe.method, probe.path) == ("GET", "/user")
    assert (probe.id_field, probe.name_field, probe.ok_field) == ("id", "login", None)


@pytest.mark.parametrize("kind", [OAUTH2, BEARER_TOKEN])
def test_given_slack_then_identity_is_auth_test_checked_by_its_ok_flag(kind: AuthScheme) -> None:
    probe = _identity("slack", kind)

    assert (probe.method, probe.path, probe.ok_field) == ("POST", "/auth.test", "ok")
    assert (probe.id_field, probe.name_field) == ("team_id", "team")


@pytest.mark.parametrize("slug", ["gmail", "google", "google-calendar", "google-drive"])
def test_given_google_app_then_identity_is_openid_userinfo(slug: str) -> None:
    spec = APPS[slug].scheme(OAUTH2)
    probe = _identity(slug, OAUTH2)

    assert {"openid", "email"} <= set(spec.default_scopes)
    assert (probe.path, probe.id_field, probe.name_field) == (GOOGLE_USERINFO, "sub", "email")


@pytest.mark.parametrize(
    ("slug", "kind", "header", "value"),
    [
        ("anthropic", API_KEY, "anthropic-version", "2023-06-01"),
        ("notion", OAUTH2, "Notion-Version", "2022-06-28"),
        ("notion", BEARER_TOKEN, "Notion-Version", "2022-06-28"),
    ],
)
def test_given_api_that_requires_a_version_header_then_the_probe_sends_it(
    slug: str, kind: AuthScheme, header: str, value: str
) -> None:
    assert _identity(slug, kind).headers == {header: value}


@pytest.mark.parametrize("kind", [API_KEY, BASIC])
def test_given_stripe_then_a_restricted_key_without_account_access_gets_403_not_401(
    kind: AuthScheme,
) -> None:
    # Stripe answers missing permissions with 403 only from API version 2016-10-19 on.
    probe = _identity("stripe", kind)

    assert probe.path == "/account"
    assert probe.headers["Stripe-Version"] >= "2016-10-19"


def test_given_twilio_then_the_probe_reads_the_account_named_by_its_sid() -> None:
    probe = _identity("twilio", BASIC)

    assert probe.path == "/2010-04-01/Accounts/{account_sid}.json"
    assert (probe.id_field, probe.name_field) == ("sid", "friendly_name")


def test_given_atlassian_then_the_probe_lists_accessible_resources_on_the_gateway() -> None:
    app = APPS["atlassian"]
    probe = _identity("atlassian", OAUTH2)

    assert _probe_url(app, probe) == "https://api.atlassian.com/oauth/token/accessible-resources"
    assert (probe.id_field, probe.name_field) == (None, None)


@pytest.mark.parametrize("pair", _schemes(), ids=_scheme_id)
def test_given_scheme_then_it_never_has_both_revocation_url_and_revocation(
    pair: tuple[App, SchemeSpec],
) -> None:
    _, spec = pair

    assert not (spec.revocation_url and spec.revocation)


@pytest.mark.parametrize("entry", RAW["apps"], ids=[entry["slug"] for entry in RAW["apps"]])
def test_given_raw_catalog_then_no_scheme_sets_both_revocation_kinds(entry: dict[str, Any]) -> None:
    for scheme in entry["auth_schemes"]:
        assert not (scheme.get("revocation_url") and scheme.get("revocation")), scheme["type"]


def test_given_catalog_then_exactly_the_known_providers_revoke_with_their_own_call() -> None:
    assert {app.slug for app, _ in _revoking()} == OWN_REVOCATION


@pytest.mark.parametrize("pair", _revoking(), ids=_scheme_id)
def test_given_revocation_then_its_url_placeholders_are_known(
    pair: tuple[App, SchemeSpec],
) -> None:
    _, spec = pair
    assert spec.revocation is not None
    names = {field.name for field in spec.connection_fields} | {"client_id", "token"}

    assert spec.type is OAUTH2
    assert set(placeholders(spec.revocation.url)) <= names
    assert (spec.revocation.token_in == "path") == ("{token}" in spec.revocation.url)


def test_given_slack_then_revocation_is_auth_revoke_with_the_token_as_bearer() -> None:
    spec = APPS["slack"].scheme(OAUTH2)
    revocation = _revocation("slack")

    assert spec.revocation_url is None
    assert (revocation.method, revocation.url) == ("POST", "https://slack.com/api/auth.revoke")
    assert (revocation.token, revocation.token_in) == ("access_token", "bearer")
    assert revocation.client_auth == "none"


def test_given_notion_then_revocation_sends_json_with_client_basic_auth() -> None:
    spec = APPS["notion"].scheme(OAUTH2)
    revocation = _revocation("notion")

    assert spec.revocation_url is None
    assert revocation.url == "https://api.notion.com/v1/oauth/revoke"
    assert (revocation.token_in, revocation.token_param, revocation.client_auth) == (
        "json",
        "token",
        "basic",
    )


def test_given_github_then_revocation_deletes_the_token_with_client_basic_auth() -> None:
    revocation = _revocation("github")

    assert revocation.method == "DELETE"
    assert revocation.url == "https://api.github.com/applications/{client_id}/token"
    assert (revocation.token_in, revocation.token_param, revocation.client_auth) == (
        "json",
        "access_token",
        "basic",
    )


@pytest.mark.parametrize(
    ("slug", "method", "url"),
    [
        ("dropbox", "POST", "https://api.dropboxapi.com/2/auth/token/revoke"),
        ("zendesk", "DELETE", "https://{subdomain}.zendesk.com/api/v2/oauth/tokens/current.json"),
    ],
)
def test_given_provider_that_revokes_the_calling_token_then_it_is_sent_as_bearer(
    slug: str, method: str, url: str
) -> None:
    revocation = _revocation(slug)

    assert (revocation.method, revocation.url) == (method, url)
    assert (revocation.token, revocation.token_in, revocation.client_auth) == (
        "access_token",
        "bearer",
        "none",
    )


def test_given_hubspot_then_it_revokes_at_its_rfc_7009_endpoint() -> None:
    spec = APPS["hubspot"].scheme(OAUTH2)

    assert spec.revocation is None
    assert spec.revocation_url == "https://api.hubapi.com/oauth/2026-03/token/revoke"


def test_given_salesforce_then_tokens_without_expires_in_live_no_longer_than_a_session() -> None:
    # Salesforce omits expires_in; an org's session timeout is 15 minutes at the least.
    assert APPS["salesforce"].scheme(OAUTH2).token_lifetime_seconds == 900


def test_given_catalog_then_every_declared_token_lifetime_says_where_it_comes_from() -> None:
    unexplained = [
        _scheme_id(pair)
        for pair in _schemes()
        if pair[1].token_lifetime_seconds
        and not any(note.startswith("token_lifetime") for note in pair[1].notes)
    ]

    assert unexplained == []
