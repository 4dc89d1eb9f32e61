"""The proxy's rules that need no server: which paths stay under the base URL, what is
sent with the credential, how answers are encoded, and how big they are once relayed."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keyfob import auth
from keyfob.catalog import loader
from keyfob.catalog.names import AuthScheme
from keyfob.catalog.schema import CredentialPlacement, SchemeSpec
from keyfob.core.errors import Invalid
from keyfob.models.proxy import PROXY_PATH_PATTERN, ProxyRequest, ProxyResponse
from keyfob.services import proxy_request, proxy_response


@pytest.mark.parametrize(
    "path",
    ["/", "/user", "/v1/chat/completions", "/projects/a%2Fb", "/users/a%40b.c", "/a;v=1/b:c"],
)
def test_paths_under_the_base_url_are_accepted(path: str) -> None:
    assert proxy_request.path_problem(path) is None


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("user", "must start with a single /"),
        ("//evil.example/", "must start with a single /"),
        ("https://evil.example/", "must start with a single /"),
        ("/a?b=1", "must not carry a query or fragment: give the query in `query`"),
        ("/a@evil", "must not contain @ or a backslash (percent-encode an @ as %40)"),
        ("/a\\b", "must not contain @ or a backslash (percent-encode an @ as %40)"),
        ("/a b", "must be percent-encoded ASCII (RFC 3986)"),
        ("/%zz", "has a malformed percent-encoding"),
        ("/%252e%252e/", "must not be percent-encoded twice"),
        ("/%0a", "must not encode control characters"),
        ("/a/../b", "must not contain . or .. segments"),
        ("/a/%2e%2e/b", "must not contain . or .. segments"),
        ("/a/%2e", "must not contain . or .. segments"),
        ("/a%2f..%2fb", "must not contain . or .. segments"),
        ("/a%5c..%5cb", "must not contain . or .. segments"),
    ],
)
def test_paths_that_could_leave_the_base_url_are_refused(path: str, reason: str) -> None:
    assert proxy_request.path_problem(path) == reason


_PIECES = [*"/.%2eEfFcC5aA07z@?#\\ :~-_", "%2e", "%2E", "%2f", "%5c", "%25", "%0a", "%7f", "%41"]


@settings(max_examples=2000, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(_PIECES), max_size=12).map("".join))
def test_the_documented_path_pattern_accepts_exactly_what_the_proxy_does(path: str) -> None:
    documented = re.fullmatch(PROXY_PATH_PATTERN, path) is not None
    assert documented is (proxy_request.path_problem(path) is None)


@settings(max_examples=500, suppress_health_check=list(HealthCheck))
@given(st.from_regex(PROXY_PATH_PATTERN, fullmatch=True))
def test_every_path_the_document_allows_is_one_the_proxy_takes(path: str) -> None:
    assert proxy_request.path_problem(path) is None


def test_the_path_goes_under_the_base_path_and_the_base_query_stays() -> None:
    target = proxy_request.target(
        "https://{shop}.example.com/admin/?v=2", {"shop": "acme"}, "/orders"
    )
    assert target == "https://acme.example.com/admin/orders?v=2"


def test_a_base_url_missing_a_param_is_refused() -> None:
    with pytest.raises(Invalid) as refused:
        proxy_request.target("https://{shop}.example.com/admin", {}, "/orders")
    assert refused.value.code == "invalid_api_base_url"


def _scheme(placement: CredentialPlacement, *secret_fields: str) -> SchemeSpec:
    fields = [
        {"name": name, "display_name": name, "description": name, "secret": True}
        for name in secret_fields
    ]
    return SchemeSpec.model_validate(
        {"type": "API_KEY", "connection_fields": fields, "apply": placement.model_dump()}
    )


def _sent(
    url: str, request: ProxyRequest, scheme: SchemeSpec, values: dict[str, Any]
) -> tuple[Any, tuple[str, ...]]:
    """The request as the proxy sends it, and what it redacts from the answer."""
    credential = auth.family(scheme.type).apply(scheme, values)
    return proxy_request.prepared(url, request, credential), credential.secrets


def test_the_credential_replaces_whatever_the_caller_sent_in_its_place() -> None:
    scheme = _scheme(CredentialPlacement(location="query", name="key", field="api_key"), "api_key")
    request = ProxyRequest(
        method="GET",
        path="/x",
        query={"key": "callers", "q": ["a", "b"]},
        headers={"Authorization": "Bearer mine", "Proxy-Connection": "x", "X-Trace": "1"},
    )
    sent, secrets = _sent("https://api.example.com/x", request, scheme, {"api_key": "k" * 12})
    assert sent.url == f"https://api.example.com/x?q=a&q=b&key={'k' * 12}"
    assert dict(sent.headers) == {
        "X-Trace": "1",
        "User-Agent": "keyfob-proxy",
        "Accept-Encoding": "gzip, deflate",
        "Accept": "*/*",
        "Connection": "keep-alive",
    }
    assert secrets == ("k" * 12,)


def test_the_apps_fixed_headers_are_sent_unless_the_caller_sends_its_own() -> None:
    scheme = _scheme(CredentialPlacement(location="header", name="X-Key", field="k"), "k")
    credential = auth.family(scheme.type).apply(scheme, {"k": "secret-1234"})
    fixed = {"Notion-Version": "2022-06-28", "X-Key": "never", "API-Version": "2025-07"}
    request = ProxyRequest(method="GET", path="/x", headers={"api-version": "2026-01"})

    sent = proxy_request.prepared("https://api.example.com/x", request, credential, fixed)

    assert sent.headers["Notion-Version"] == "2022-06-28"
    assert [v for k, v in sent.headers.items() if k.lower() == "api-version"] == ["2026-01"]
    # A fixed header never replaces the credential
    assert sent.headers["X-Key"] == "secret-1234"


def test_basic_credentials_go_in_one_header_and_both_forms_are_redacted() -> None:
    scheme = loader.get_app("twilio").scheme(AuthScheme.BASIC)
    values = {"account_sid": "AC" + "1" * 32, "auth_token": "token-123456"}
    request = ProxyRequest(method="GET", path="/x", headers={"authorization": "Basic bWU6bWU="})
    sent, secrets = _sent("https://api.twilio.com/x", request, scheme, values)
    encoded = base64.b64encode(f"AC{'1' * 32}:token-123456".encode()).decode()
    assert sent.headers["Authorization"] == f"Basic {encoded}"
    assert [k for k in sent.headers if k.lower() == "authorization"] == ["Authorization"]
    # The account SID is not a secret (Twilio's answers are full of it): not redacted
    assert set(secrets) == {"token-123456", encoded}


@pytest.mark.parametrize(
    ("body", "headers", "data", "content_type"),
    [
        (None, {}, None, None),
        ("text", {}, b"text", "text/plain; charset=utf-8"),
        ({"a": [1, None]}, {}, b'{"a":[1,null]}', "application/json"),
        (7, {}, b"7", "application/json"),
        # The caller's own content-type stays, and is the only one.
        (
            "a=1&b=2",
            {"content-type": "application/x-www-form-urlencoded"},
            b"a=1&b=2",
            "application/x-www-form-urlencoded",
        ),
    ],
)
def test_the_body_is_sent_as_text_or_json(
    body: Any, headers: dict[str, str], data: bytes | None, content_type: str | None
) -> None:
    scheme = _scheme(CredentialPlacement(location="header", name="X-Key", field="k"), "k")
    request = ProxyRequest(method="POST", path="/x", headers=headers, body=body)
    sent, _ = _sent("https://api.example.com/x", request, scheme, {"k": "v"})
    assert sent.body == data
    assert sent.headers.get("Content-Type") == content_type
    assert len([k for k in sent.headers if k.lower() == "content-type"]) == (data is not None)


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    ("content_type", "data", "expected"),
    [
        ("application/json", b'{"a": 1.5}', ({"a": 1.5}, "json")),
        ("application/problem+json", b'{"title": "x"}', ({"title": "x"}, "json")),
        ("application/json", b'{"a": 1e999}', ('{"a": 1e999}', "text")),
        ("application/json", b"[Infinity]", ("[Infinity]", "text")),
        ("application/json", _nested(64), (json.loads(_nested(64)), "json")),
        ("application/json", _nested(65), (_nested(65).decode(), "text")),
        ("application/json", _nested(100_000), (_nested(100_000).decode(), "text")),
        ("text/html; charset=ISO-8859-1", "é".encode("latin-1"), ("é", "text")),
        ('text/plain; charset="utf-8"', "é".encode(), ("é", "text")),
        ("text/plain; charset=rot13", b"abc", (base64.b64encode(b"abc").decode(), "base64")),
        ("application/atom+xml", b"<feed/>", ("<feed/>", "text")),
        ("", b"plain", ("plain", "text")),
        ("", b"\xff\xfe", ("//4=", "base64")),
        ("application/pdf", b"%PDF", ("JVBERg==", "base64")),
        ("application/json", b"", (None, "text")),
    ],
)
def test_answers_are_relayed_as_json_text_or_base64(
    content_type: str, data: bytes, expected: tuple[Any, str]
) -> None:
    assert proxy_response.decoded(data, content_type) == expected


def test_the_relayed_size_counts_escaping_twice() -> None:
    answer = ProxyResponse(status=200, headers={}, body='"\\', body_encoding="text")
    inner = json.dumps(answer.model_dump(mode="json"), separators=(",", ":"))
    # As Lambda returns it: the API's JSON, itself a string in the response's JSON
    assert proxy_response.payload_size(answer) == len(json.dumps(inner)) - 2


def test_a_path_credential_goes_between_the_base_path_and_the_callers_path() -> None:
    scheme = _scheme(
        CredentialPlacement(location="path", prefix="bot", field="bot_token"), "bot_token"
    )
    credential = auth.family(scheme.type).apply(scheme, {"bot_token": "123:tok-en_0123456789"})
    url = proxy_request.target("https://api.example.com/v1/", {}, credential.path + "/getMe")
    request = ProxyRequest(method="GET", path="/getMe", query={"chat_id": "7"})

    sent = proxy_request.prepared(url, request, credential)

    assert sent.url == "https://api.example.com/v1/bot123:tok-en_0123456789/getMe?chat_id=7"
    assert "123:tok-en_0123456789" in credential.secrets
