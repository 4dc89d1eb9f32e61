"""``keyfob-admin catalog check``: the whole-file checks, and the schema's growth (token
lifetimes with a unit, choices, deprecation, token answer fields, fixed headers)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from keyfob.catalog.check import check, check_file, https_problem, report
from keyfob.catalog.loader import CATALOG_PATH
from keyfob.catalog.params import validate
from keyfob.catalog.schema import App, ParamField, SchemeSpec
from keyfob.core.errors import Invalid
from keyfob_admin.cli import main

BEARER = {"location": "header", "name": "Authorization", "prefix": "Bearer ", "field": "token"}


def _app(slug: str = "acme", **changes: Any) -> dict[str, Any]:
    app: dict[str, Any] = {
        "slug": slug,
        "name": "Acme",
        "description": "Acme's API.",
        "docs_url": "https://docs.acme.example.com/",
        "logo_url": "https://acme.example.com/logo.svg",
        "api_base_url": "https://{region}.api.acme.example.com/v1",
        "auth_schemes": [
            {
                "type": "BEARER_TOKEN",
                "docs_url": "https://docs.acme.example.com/auth",
                "connection_fields": [
                    {
                        "name": "token",
                        "display_name": "Token",
                        "description": "A token.",
                        "secret": True,
                    },
                    {
                        "name": "region",
                        "display_name": "Region",
                        "description": "Where.",
                        "choices": ["us", "eu"],
                        "default": "us",
                    },
                ],
                "apply": BEARER,
                "identity": {"path": "/me", "id_field": "id"},
            }
        ],
    }
    app.update(changes)
    return app


def _catalog(*apps: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "apps": list(apps)}


def test_given_a_sound_catalog_when_checked_then_no_problem_is_found() -> None:
    result = check(_catalog(_app("acme"), _app("bravo")))

    assert result.problems == []
    assert [a.slug for a in result.apps] == ["acme", "bravo"]


def test_given_the_shipped_catalog_when_checked_then_no_problem_is_found() -> None:
    result = check_file(CATALOG_PATH)

    assert result.problems == []


def test_given_a_duplicate_slug_when_checked_then_it_is_named() -> None:
    assert "acme: duplicate slug" in check(_catalog(_app(), _app())).problems


def test_given_unsorted_apps_when_checked_then_the_order_is_reported() -> None:
    assert "apps are not sorted by slug" in check(_catalog(_app("b"), _app("a"))).problems


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://api.acme.example.com", "must use https"),
        ("https://", "needs a host name"),
        ("https://localhost/x", "needs a host name"),
        ("https://u:p@acme.example.com", "must carry no credentials or fragment"),
        ("https://acme.example.com:99999", "is not a well-formed URL"),
        ("https://acme.example.com/a b", "must not hold spaces"),
        ("https://{subdomain}.acme.example.com/v1", None),
    ],
)
def test_given_a_url_when_checked_then_only_well_formed_https_passes(
    url: str, problem: str | None
) -> None:
    assert https_problem(url) == problem


def test_given_a_plain_http_api_base_url_when_checked_then_it_is_reported() -> None:
    problems = check(_catalog(_app(api_base_url="http://{region}.acme.example.com"))).problems

    assert problems == ["acme BEARER_TOKEN: api_base_url must use https"]


def test_given_a_placeholder_no_field_declares_when_checked_then_it_is_named() -> None:
    problems = check(_catalog(_app(api_base_url="https://{tenant}.acme.example.com"))).problems

    assert problems == ["acme BEARER_TOKEN: api_base_url names {tenant}, which no field declares"]


def test_given_a_scheme_or_app_without_docs_or_logo_when_checked_then_both_are_reported() -> None:
    app = _app()
    del app["logo_url"]
    del app["auth_schemes"][0]["docs_url"]

    assert check(_catalog(app)).problems == [
        "acme: no logo_url",
        "acme BEARER_TOKEN: no docs_url",
    ]


def test_given_an_invalid_app_when_checked_then_the_schema_error_names_its_place() -> None:
    app = _app()
    app["auth_schemes"][0]["apply"] = {"location": "header"}

    problems = check(_catalog(app)).problems

    assert "acme: auth_schemes.0.apply: Value error, header placement needs name and field" in (
        problems
    )


def test_given_a_relative_probe_and_no_api_base_url_when_checked_then_it_is_reported() -> None:
    app = _app(api_base_url="")

    assert check(_catalog(app)).problems == [
        "acme BEARER_TOKEN: a relative identity probe needs an api_base_url"
    ]


def _oauth(**changes: Any) -> dict[str, Any]:
    scheme = {
        "type": "OAUTH2",
        "docs_url": "https://docs.acme.example.com/oauth",
        "apply": {**BEARER, "field": "access_token"},
        "authorization_url": "https://acme.example.com/oauth/authorize",
        "token_url": "https://acme.example.com/oauth/token",
    }
    scheme.update(changes)
    return scheme


def test_given_token_fields_when_checked_then_api_base_url_may_name_them() -> None:
    scheme = _oauth(token_fields=["instance_url"])
    app = _app(api_base_url="{instance_url}/services/data", auth_schemes=[scheme])
    result = check(_catalog(app))

    assert result.problems == []
    assert result.apps[0].template_fields(result.apps[0].auth_schemes[0]) == {"instance_url"}


def test_given_token_fields_the_base_url_does_not_use_when_checked_then_it_is_reported() -> None:
    app = _app(
        api_base_url="https://api.acme.example.com", auth_schemes=[_oauth(token_fields=["x"])]
    )

    assert check(_catalog(app)).problems == [
        "acme OAUTH2: token_fields that api_base_url does not use"
    ]


def test_given_a_refresh_url_with_an_unknown_placeholder_then_the_schema_refuses_it() -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        SchemeSpec.model_validate(_oauth(refresh_url="https://{x}.acme.example.com/refresh"))


@pytest.mark.parametrize(
    ("lifetime", "seconds"),
    [({"value": 2, "unit": "hours"}, 7200), ({"value": 15, "unit": "minutes"}, 900)],
)
def test_given_a_token_lifetime_with_a_unit_then_it_is_read_in_seconds(
    lifetime: dict[str, Any], seconds: int
) -> None:
    spec = SchemeSpec.model_validate(_oauth(token_lifetime=lifetime))

    assert spec.token_lifetime_seconds == seconds


def test_given_lifetimes_that_disagree_then_the_schema_refuses_them() -> None:
    with pytest.raises(ValidationError, match="disagree"):
        SchemeSpec.model_validate(
            _oauth(token_lifetime={"value": 1, "unit": "hours"}, token_lifetime_seconds=60)
        )


@pytest.mark.parametrize("field", ["refresh_url", "token_params", "refresh_params"])
def test_given_a_key_scheme_with_oauth_only_growth_then_the_schema_refuses_it(field: str) -> None:
    scheme = copy.deepcopy(_app()["auth_schemes"][0])
    scheme[field] = "https://acme.example.com/r" if field == "refresh_url" else {"a": "b"}

    with pytest.raises(ValidationError, match="cannot carry OAuth endpoints"):
        SchemeSpec.model_validate(scheme)


def test_given_a_default_that_is_not_a_choice_then_the_schema_refuses_it() -> None:
    with pytest.raises(ValidationError, match="not one of the choices"):
        ParamField(name="region", display_name="R", description="d", choices=("us",), default="eu")


def test_given_a_value_that_is_not_a_choice_when_validated_then_a_422_names_the_field() -> None:
    field = ParamField(name="region", display_name="R", description="d", choices=("us", "eu"))

    assert validate([field], {"region": "eu"}, what="params") == {"region": "eu"}
    with pytest.raises(Invalid) as caught:
        validate([field], {"region": "mars"}, what="params")
    assert caught.value.details["invalid"] == [
        {"field": "region", "reason": "must be one of the choices"}
    ]


def test_given_a_deprecated_scheme_and_notes_then_the_report_lists_them() -> None:
    app = _app()
    app["auth_schemes"][0]["deprecated"] = {"date": "2026-09-30", "message": "Use OAuth."}
    app["auth_schemes"][0]["notes"] = ["identity.name_field: the answer names no one."]
    result = check(_catalog(app))

    text = report(result.apps)

    assert "- acme BEARER_TOKEN: from 2026-09-30: Use OAuth." in text
    assert "- acme BEARER_TOKEN: identity.name_field: the answer names no one." in text
    assert "| BEARER_TOKEN | 1 |" in text


def test_given_a_bad_deprecation_date_then_the_schema_refuses_it() -> None:
    app = _app()
    app["auth_schemes"][0]["deprecated"] = {"date": "soon", "message": "Use OAuth."}

    with pytest.raises(ValidationError):
        App.model_validate(app)


def test_given_the_cli_when_a_file_has_problems_then_it_exits_1_and_names_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "catalog.json"
    bad.write_text(json.dumps(_catalog(_app(), _app())), encoding="utf-8")

    assert main(["catalog", "check", str(bad)]) == 1
    assert "acme: duplicate slug" in capsys.readouterr().err


def test_given_the_cli_when_the_file_is_sound_then_it_exits_0_with_a_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "catalog.json"
    good.write_text(json.dumps(_catalog(_app())), encoding="utf-8")

    assert main(["catalog", "check", str(good), "--report"]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("# Catalog report")
    assert "1 apps: ok" in out.err


def test_given_the_cli_when_the_file_is_not_json_then_it_exits_1(tmp_path: Path) -> None:
    broken = tmp_path / "catalog.json"
    broken.write_text("{", encoding="utf-8")

    assert main(["catalog", "check", str(broken)]) == 1


def test_given_one_app_asked_for_then_only_that_app_is_validated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from keyfob.catalog import loader

    validated: list[str] = []
    original = App.model_validate

    def counting(raw: Any, *args: Any, **kwargs: Any) -> App:
        validated.append(raw["slug"])
        return original(raw, *args, **kwargs)

    monkeypatch.setattr(App, "model_validate", counting)
    loader.get_app.cache_clear()
    try:
        loader.get_app("slack")
    finally:
        loader.get_app.cache_clear()

    assert validated == ["slack"]
    assert len(loader._raw()) >= 250


def test_given_the_checked_in_report_then_it_is_what_the_catalog_says() -> None:
    report_path = Path(__file__).resolve().parents[2] / "CATALOG.md"

    assert report_path.read_text(encoding="utf-8") == report(check_file(CATALOG_PATH).apps), (
        "CATALOG.md is stale: run keyfob-admin catalog check --report > CATALOG.md"
    )


def _catalog_schemes() -> list[tuple[str, str]]:
    result = check_file(CATALOG_PATH)
    return [(a.slug, s.type.value) for a in result.apps for s in a.auth_schemes]


@pytest.mark.parametrize(("slug", "kind"), _catalog_schemes())
def test_given_any_catalog_scheme_then_an_integration_takes_its_settings_as_they_are(
    slug: str, kind: str
) -> None:
    from keyfob.auth import oauth2, upstream
    from keyfob.catalog.loader import get_app
    from keyfob.catalog.names import AuthScheme

    app = get_app(slug)
    spec = app.scheme(AuthScheme(kind))
    # The API's own settings: base URL templates, identity probe
    upstream.effective_settings(app, spec, None)
    if spec.type is AuthScheme.OAUTH2 and spec.authorization_url and spec.token_url:
        oauth2.effective_settings(app, spec, None)


def _left_null(names: tuple[str, ...], given: Any, spec: SchemeSpec) -> list[str]:
    """The URLs a provider's scheme leaves null, each with a note saying why."""
    null = [name for name in names if getattr(given, name) is None]
    for name in null:
        named = [note.split(":", 1)[0] for note in spec.notes]
        assert any(name in fields for fields in named), f"{name} is null and no note says why"
    return null


def _null_url_schemes() -> list[tuple[str, str]]:
    custom = {"oauth1", "oauth2", "mcp"}  # servers the integration names
    return [
        (slug, kind)
        for slug, kind in _catalog_schemes()
        if kind in ("OAUTH2", "OAUTH1") and slug not in custom
    ]


@pytest.mark.parametrize(("slug", "kind"), _null_url_schemes())
def test_given_a_provider_url_left_null_then_the_integration_must_supply_it(
    slug: str, kind: str
) -> None:
    from keyfob.auth import oauth1, oauth2
    from keyfob.catalog.loader import get_app
    from keyfob.catalog.names import AuthScheme
    from keyfob.catalog.scheme_parts import OAuth1Spec
    from keyfob.models.settings import OAuthSettings

    app = get_app(slug)
    spec = app.scheme(AuthScheme(kind))
    url = "https://auth.example.com/{}".format
    if spec.oauth1 is not None:
        names = ("request_token_url", "authorization_url", "access_token_url")
        null = _left_null(names, spec.oauth1, spec)
        if null:
            with pytest.raises(Invalid) as refused:
                oauth1.effective_settings(app, spec, None)
            oauth1.effective_settings(app, spec, OAuth1Spec(**{n: url(n) for n in null}))
    else:
        null = _left_null(("authorization_url", "token_url"), spec, spec)
        if null:
            with pytest.raises(Invalid) as refused:
                oauth2.effective_settings(app, spec, None)
            oauth2.effective_settings(app, spec, OAuthSettings(**{n: url(n) for n in null}))
    if null:
        prefix = "oauth1" if spec.oauth1 is not None else "oauth"
        assert refused.value.details == {"missing": [f"{prefix}.{n}" for n in null], "invalid": []}
