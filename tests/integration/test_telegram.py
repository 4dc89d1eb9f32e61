"""A Telegram-style app, whose API takes the credential in the URL path
(/bot<token>/getMe), over the local gateway: the loopback provider's resource API serves
the Bot API's paths and envelope. The token goes where the app takes it, and nowhere
else: not in what Keyfob logs or publishes, nor in the proxy's answer when the app
echoes the URL (a redirect's Location, an error body)."""

from __future__ import annotations

import io
import json
import logging
import secrets
import time
from typing import Any
from urllib.parse import quote

import pytest

from devstack.oauth_provider import ApiReply, OAuthServer
from tests.conftest import Api
from tests.integration.bus import Published
from tests.integration.flows import keyed_integration

_HTTP_AND_STACK_LOGGERS = ("urllib3", "requests", "keyfob", "devstack")


def bot_token() -> str:
    """A token shaped as BotFather's: <bot id>:<secret>."""
    return f"{secrets.randbelow(10**9)}:{secrets.token_urlsafe(26)}"


def connected(api: Api, provider: OAuthServer, token: str) -> dict[str, Any]:
    provider.register_api_key(token)
    integration_id = keyed_integration(api, provider, "telegram", "API_KEY")
    response = api.post(
        "/v1/connected_accounts",
        json={"integration_id": integration_id, "entity_id": "tg", "params": {"bot_token": token}},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def proxy(api: Api, account_id: str, path: str) -> dict[str, Any]:
    response = api.post(
        f"/v1/connected_accounts/{account_id}/proxy", json={"method": "GET", "path": path}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_bot_token_is_proven_by_get_me_in_the_path_and_named_by_its_answer(
    api: Api, provider: OAuthServer
) -> None:
    token = bot_token()
    account = connected(api, provider, token)
    assert account["status"] == "ACTIVE"
    # The identity probe called /bot<token>/getMe under the base path, and read result
    assert [r["path"] for r in provider.api_requests] == [f"/bot{token}/getMe"]
    got = api.get(f"/v1/connected_accounts/{account['id']}").json()
    assert (got["upstream_account_id"], got["upstream_display_name"]) == ("4242", "keyfob-tester")
    assert token not in json.dumps(got)


def test_a_token_the_app_refuses_is_not_connected(api: Api, provider: OAuthServer) -> None:
    integration_id = keyed_integration(api, provider, "telegram", "API_KEY")
    token = bot_token()  # never registered: the app answers 401 {"ok": false}
    response = api.post(
        "/v1/connected_accounts",
        json={"integration_id": integration_id, "entity_id": "tg", "params": {"bot_token": token}},
    )
    assert 400 <= response.status_code < 500, response.text
    assert token not in response.text
    assert provider.api_requests[-1]["path"] == f"/bot{token}/getMe"


def test_a_bot_token_not_shaped_as_one_is_refused_before_any_call(
    api: Api, provider: OAuthServer
) -> None:
    integration_id = keyed_integration(api, provider, "telegram", "API_KEY")
    response = api.post(
        "/v1/connected_accounts",
        json={
            "integration_id": integration_id,
            "entity_id": "tg",
            "params": {"bot_token": "x/../y"},
        },
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"]["invalid"][0]["field"] == "bot_token"
    assert provider.api_requests == []


def test_the_proxy_puts_the_token_in_the_path_and_never_echoes_or_logs_it(
    api: Api,
    provider: OAuthServer,
    published: Published,
    keyfob_logs: io.StringIO,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    token = bot_token()
    account = connected(api, provider, token)

    # The app's answer echoes the URL it was called at (the loopback API's echo)
    answer = proxy(api, account["id"], "/getMe")
    assert provider.api_requests[-1]["path"] == f"/bot{token}/getMe"
    assert answer["status"] == 200
    assert answer["body"]["ok"] is True
    assert answer["body"]["result"]["path"] == "/bot[REDACTED]/getMe"

    # A redirect naming the URL, raw or percent-encoded, and an error body echoing it
    moved = f"{provider.api_url}/bot{token}/file"
    encoded = f"{provider.api_url}/bot{quote(token, safe='')}/file"
    body = json.dumps({"ok": False, "description": f"Not Found: {encoded} or {moved}"}).encode()
    provider.api_reply = ApiReply(
        302, {"Location": moved, "Content-Type": "application/json", "Link": encoded}, body
    )
    redirected = proxy(api, account["id"], "/getFile")
    assert redirected["status"] == 302
    assert redirected["headers"]["location"] == f"{provider.api_url}/bot[REDACTED]/file"
    assert redirected["headers"]["link"] == f"{provider.api_url}/bot[REDACTED]/file"
    assert token not in json.dumps(redirected)
    assert quote(token, safe="") not in json.dumps(redirected)

    # An error status from the app is relayed without the token
    provider.api_reply = None
    provider.api_status = 404
    failed = proxy(api, account["id"], "/sendMessage")
    assert failed["status"] == 404 and token not in json.dumps(failed)

    # Nothing Keyfob logged, nor its HTTP client at DEBUG (urllib3 logs each request
    # line), nor the local stack, and nothing published
    http_lines = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith(_HTTP_AND_STACK_LOGGERS)
    )
    assert "/[withheld]" in http_lines
    for spelling in (token, quote(token, safe="")):
        assert spelling not in keyfob_logs.getvalue()
        assert spelling not in http_lines
    events = _events(published, account["id"])
    assert events and token not in json.dumps(events)


def _events(published: Published, account_id: str) -> list[dict[str, Any]]:
    """The account's events on the bus, once the first has arrived."""
    deadline = time.monotonic() + 10
    while not (events := published.about(account_id)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return events
