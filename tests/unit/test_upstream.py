"""Putting a credential on a request the way each app takes it, and reading its answer."""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from keyfob.auth import upstream
from keyfob.catalog import loader
from keyfob.catalog.names import AuthScheme
from keyfob.catalog.schema import CredentialPlacement, SchemeSpec
from keyfob.core.config import settings
from keyfob.core.errors import Invalid
from keyfob.core.nesting import dotted
from keyfob.models.settings import ApiSettings


def _sent(placement: CredentialPlacement, values: dict[str, str]) -> requests.PreparedRequest:
    """A request to https://api.example.com/x?q=1 with the credential applied."""
    scheme = SchemeSpec.model_validate(
        {
            "type": "API_KEY",
            "connection_fields": [{"name": "api_key", "display_name": "k", "description": "k"}],
            "apply": placement.model_dump(),
        }
    )
    credential = upstream.placed(scheme, values)
    return requests.Request("GET", "https://api.example.com/x?q=1", auth=credential).prepare()


def test_header_placement_with_a_prefix() -> None:
    placement = CredentialPlacement(
        location="header", name="Authorization", prefix="Bearer ", field="api_key"
    )
    sent = _sent(placement, {"api_key": "k"})
    assert sent.headers["Authorization"] == "Bearer k"
    assert sent.url == "https://api.example.com/x?q=1"


def test_query_placement() -> None:
    placement = CredentialPlacement(location="query", name="key", field="api_key")
    sent = _sent(placement, {"api_key": "k"})
    assert sent.url == "https://api.example.com/x?q=1&key=k"
    assert "Authorization" not in sent.headers


def test_basic_placement_without_a_password() -> None:
    placement = CredentialPlacement(location="basic", username_field="api_key")
    sent = _sent(placement, {"api_key": "sk"})
    assert sent.headers["Authorization"] == f"Basic {base64.b64encode(b'sk:').decode()}"


@pytest.mark.parametrize(
    ("path", "expected"),
    [("id", 7), ("user.id", "u"), ("user.missing", None), ("id.deeper", None), (None, None)],
)
def test_dotted_fields(path: str | None, expected: object) -> None:
    assert dotted({"id": 7, "user": {"id": "u"}}, path) == expected


def test_given_an_override_then_it_replaces_the_catalogs_base_and_identity() -> None:
    app = loader.get_app("github")
    scheme = app.scheme(AuthScheme.BEARER_TOKEN)
    merged = upstream.effective_settings(
        app, scheme, ApiSettings(base_url="https://git.example.com/api/v3")
    )
    assert merged.base_url == "https://git.example.com/api/v3"
    assert merged.identity == scheme.identity


def test_given_a_private_address_then_the_override_is_refused() -> None:
    app = loader.get_app("github")
    with pytest.raises(Invalid) as refused:
        upstream.effective_settings(
            app, app.scheme(AuthScheme.BEARER_TOKEN), ApiSettings(base_url="https://10.0.0.1/api")
        )
    assert refused.value.details["invalid"][0]["field"] == "api.base_url"


def _path_credential(value: str) -> upstream.Credential:
    scheme = SchemeSpec.model_validate(
        {
            "type": "API_KEY",
            "connection_fields": [
                {"name": "bot_token", "display_name": "t", "description": "t", "secret": True}
            ],
            "apply": {"location": "path", "prefix": "bot", "field": "bot_token"},
        }
    )
    return upstream.placed(scheme, {"bot_token": value})


def test_path_placement_is_a_segment_and_nothing_else() -> None:
    credential = _path_credential("123456:ABC-def_42")
    assert credential.path == "/bot123456:ABC-def_42"
    sent = requests.Request("GET", "https://api.example.com/x?q=1", auth=credential).prepare()
    assert sent.url == "https://api.example.com/x?q=1"
    assert "Authorization" not in sent.headers
    # Redacted as sent and as an app would echo it percent-encoded (a Location header)
    assert credential.secrets == ("123456:ABC-def_42", "123456%3AABC-def_42")


def test_path_placement_keeps_any_value_in_its_one_segment() -> None:
    credential = _path_credential("a/../b?c#d")
    assert credential.path == "/bota%2F..%2Fb%3Fc%23d"
    assert "a%2F..%2Fb%3Fc%23d" in credential.secrets


@pytest.mark.parametrize(
    ("placement", "problem"),
    [
        ({"location": "path", "prefix": "bot"}, "path placement needs field and no name"),
        (
            {"location": "path", "name": "x", "field": "bot_token"},
            "path placement needs field and no name",
        ),
        (
            {"location": "path", "prefix": "b/ot", "field": "bot_token"},
            "prefix must be unreserved characters",
        ),
    ],
)
def test_path_placement_is_refused_incomplete_or_with_a_prefix_that_adds_segments(
    placement: dict[str, str], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        CredentialPlacement.model_validate(placement)


def test_a_path_placement_of_a_field_not_secret_is_refused() -> None:
    # What is not secret is not redacted: it must not be a credential in the path
    with pytest.raises(ValueError, match="a path placement takes a secret field"):
        SchemeSpec.model_validate(
            {
                "type": "API_KEY",
                "connection_fields": [{"name": "bot", "display_name": "b", "description": "b"}],
                "apply": {"location": "path", "prefix": "bot", "field": "bot"},
            }
        )


@pytest.mark.parametrize(
    ("logger", "message", "args"),
    [
        (
            "urllib3.connectionpool",
            '%s://%s:%s "%s %s %s" %s %s',
            ("https", "api.telegram.org", 443, "GET", "/bot1:tok-123456/getMe", "HTTP/1.1", 200, 9),
        ),
        ("urllib3.util.retry", "Incremented Retry for (url='%s'): %r", ("/x?key=k-123456", None)),
    ],
)
def test_urllib3_never_logs_a_requests_path_or_query(
    caplog: pytest.LogCaptureFixture, logger: str, message: str, args: tuple[object, ...]
) -> None:
    from keyfob.security import http

    http.session()
    caplog.set_level(logging.DEBUG, logger=logger)
    logging.getLogger(logger).debug(message, *args)
    assert "-123456" not in caplog.text
    assert "/[withheld]" in caplog.text


@pytest.fixture
def bot_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list[str]]]:
    """A loopback server answering every GET as the Bot API's getMe; the paths it saw."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            body = json.dumps({"ok": True, "result": {"id": 7, "username": "b"}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    monkeypatch.setenv("KEYFOB_ALLOW_HTTP_LOOPBACK", "true")
    settings.cache_clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()
    settings.cache_clear()


@pytest.mark.parametrize(
    ("base", "path", "expected"),
    [
        ("{url}/v1", "/getMe", "/v1/bot1:tok_en/getMe"),
        ("", "{url}/other/getMe", "/bot1:tok_en/other/getMe"),
    ],
)
def test_the_probe_puts_a_path_credential_before_the_identity_path(
    bot_api: tuple[str, list[str]], base: str, path: str, expected: str
) -> None:
    url, seen = bot_api
    identity = {"path": path.format(url=url), "ok_field": "ok", "id_field": "result.id"}
    api = ApiSettings.model_validate(
        {"base_url": base.format(url=url) or None, "identity": identity}
    )

    result = upstream.probe(api, _path_credential("1:tok_en"), {})

    assert (result.outcome, result.account_id) == ("valid", "7")
    assert seen == [expected]
