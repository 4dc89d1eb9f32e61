"""keyfob_client against a scripted stub of the API on loopback: what it sends for each
route, how it reads the answers, pagination, retries, time-outs and waiting.

The lifecycle, proxy and connect-link routes are tested here to their contract, ahead
of the server routes that implement them.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from keyfob_client import (
    Account,
    ApiError,
    Client,
    ConfigurationError,
    ConfirmationRequiredError,
    ConnectionFailedError,
    InitiatedAccount,
    NotFoundError,
    RateLimitedError,
    ServerError,
    Status,
    TransportError,
    UnexpectedResponseError,
    WaitTimeoutError,
)
from tests.unit.stub_api import API_KEY, Reply, StubApi, account_json

ACCOUNT = account_json()
ACCOUNT_PATH = f"/v1/connected_accounts/{ACCOUNT['id']}"


# --- what every request carries --------------------------------------------------


def test_every_request_carries_the_api_key_a_user_agent_and_accepts_json(
    stub: StubApi, client: Client
) -> None:
    stub.reply("GET", "/v1/apps", Reply(200, {"items": []}))

    assert client.list_apps() == []

    headers = stub.last.headers
    assert headers["x-api-key"] == API_KEY
    assert headers["user-agent"].startswith("keyfob-python/")
    assert headers["accept"] == "application/json"


def test_given_no_arguments_then_url_and_key_come_from_the_environment(
    stub: StubApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEYFOB_URL", stub.url + "/")
    monkeypatch.setenv("KEYFOB_API_KEY", "kf_from_env")
    stub.reply("GET", ACCOUNT_PATH, Reply(200, ACCOUNT))

    Client().get_account(ACCOUNT["id"])

    assert stub.last.headers["x-api-key"] == "kf_from_env"
    assert stub.last.path == ACCOUNT_PATH


@pytest.mark.parametrize(
    ("env", "message"),
    [({"KEYFOB_API_KEY": "k"}, "KEYFOB_URL"), ({"KEYFOB_URL": "http://127.0.0.1:1"}, "API key")],
)
def test_given_no_url_or_no_key_then_the_error_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    monkeypatch.delenv("KEYFOB_URL", raising=False)
    monkeypatch.delenv("KEYFOB_API_KEY", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=message):
        Client()


@pytest.mark.parametrize(
    "url",
    [
        "http://keyfob.example.com",
        "ftp://keyfob.example.com",
        "keyfob.example.com",
        "https://user:pw@keyfob.example.com",
    ],
)
def test_the_key_is_never_sent_in_clear_text_or_elsewhere_than_http_s(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Client(url, API_KEY)
    assert "pw" not in str(caught.value)


@pytest.mark.parametrize(
    "url", ["https://keyfob.example.com", "http://localhost:3000", "http://[::1]:3000"]
)
def test_https_and_loopback_http_are_accepted(url: str) -> None:
    assert Client(url, API_KEY).base_url == url


def test_plain_http_elsewhere_is_accepted_only_when_asked_for() -> None:
    client = Client("http://keyfob.internal:3000", API_KEY, allow_insecure_http=True)
    assert client.base_url == "http://keyfob.internal:3000"


def test_the_api_key_is_not_in_the_clients_repr(client: Client) -> None:
    assert API_KEY not in repr(client)
    assert API_KEY not in str(vars(client))


def test_ids_are_quoted_into_a_single_path_segment(stub: StubApi, client: Client) -> None:
    with pytest.raises(NotFoundError):
        client.get_account("../integrations/x?y")
    assert stub.last.path == "/v1/connected_accounts/..%2Fintegrations%2Fx%3Fy"
    with pytest.raises(ValueError, match="empty"):
        client.get_account("")


# --- errors ------------------------------------------------------------------------


def test_given_an_error_answer_then_the_exception_carries_the_apis_code(
    stub: StubApi, client: Client
) -> None:
    stub.reply(
        "GET",
        f"{ACCOUNT_PATH}/credentials",
        Reply(409, {"error": {"code": "account_not_active", "message": "FAILED", "details": None}}),
    )

    with pytest.raises(ApiError) as caught:
        client.get_credentials(ACCOUNT["id"])

    assert (caught.value.status, caught.value.code) == (409, "account_not_active")
    assert API_KEY not in str(caught.value) + repr(caught.value)


def test_given_a_redirect_then_it_is_not_followed_with_the_key(
    stub: StubApi, client: Client
) -> None:
    stub.reply("GET", ACCOUNT_PATH, Reply(302, None, {"Location": f"{stub.url}/elsewhere"}))

    with pytest.raises(ApiError) as caught:
        client.get_account(ACCOUNT["id"])

    assert caught.value.status == 302
    assert [r.path for r in stub.requests] == [ACCOUNT_PATH]


def test_given_a_body_that_is_not_json_then_it_is_an_unexpected_response(
    stub: StubApi, client: Client
) -> None:
    stub.reply("GET", ACCOUNT_PATH, Reply(200, b"<html>a captive portal</html>"))
    with pytest.raises(UnexpectedResponseError, match="not JSON"):
        client.get_account(ACCOUNT["id"])


def test_given_a_server_too_slow_then_the_call_times_out(stub: StubApi) -> None:
    stub.reply("GET", ACCOUNT_PATH, Reply(200, ACCOUNT, delay=1.0))
    client = Client(stub.url, API_KEY, timeout=0.2)

    started = time.monotonic()
    with pytest.raises(TransportError, match=r"no answer within 0\.2 s"):
        client.get_account(ACCOUNT["id"])
    assert time.monotonic() - started < 0.9


def test_given_nothing_listening_then_it_is_a_transport_error() -> None:
    client = Client("http://127.0.0.1:9", API_KEY, timeout=1.0)
    with pytest.raises(TransportError, match="cannot reach"):
        client.list_apps()


# --- retries -------------------------------------------------------------------------


def test_given_429_with_retry_after_then_the_request_is_sent_again(
    stub: StubApi, client: Client
) -> None:
    stub.reply(
        "POST",
        f"{ACCOUNT_PATH}/refresh",
        Reply(429, {"message": "Too Many Requests"}, {"Retry-After": "0"}),
        Reply(200, ACCOUNT),
    )

    assert client.refresh_account(ACCOUNT["id"]).id == ACCOUNT["id"]
    assert len(stub.requests) == 2


def test_given_refresh_in_progress_503_then_retries_end_with_the_server_error(
    stub: StubApi,
) -> None:
    busy = {"error": {"code": "refresh_in_progress", "message": "busy", "details": None}}
    stub.reply("POST", f"{ACCOUNT_PATH}/refresh", Reply(503, busy, {"Retry-After": "0"}))
    client = Client(stub.url, API_KEY, max_retries=2)

    with pytest.raises(ServerError) as caught:
        client.refresh_account(ACCOUNT["id"])

    assert caught.value.code == "refresh_in_progress"
    assert len(stub.requests) == 3


def test_given_a_long_retry_after_then_the_caller_gets_it_at_once(
    stub: StubApi, client: Client
) -> None:
    stub.reply("GET", "/v1/apps", Reply(429, {"message": "Slow down"}, {"Retry-After": "120"}))

    with pytest.raises(RateLimitedError) as caught:
        client.list_apps()

    assert caught.value.retry_after == 120.0
    assert len(stub.requests) == 1


def test_other_errors_are_not_retried(stub: StubApi, client: Client) -> None:
    stub.reply("POST", f"{ACCOUNT_PATH}/proxy", Reply(500, {"message": "Internal"}))
    with pytest.raises(ServerError):
        client.proxy(ACCOUNT["id"], "POST", "/charges")
    assert len(stub.requests) == 1


# --- apps and integrations ---------------------------------------------------------------


def test_app_params_ask_for_the_auth_scheme(stub: StubApi, client: Client) -> None:
    stub.reply(
        "GET",
        "/v1/apps/stripe/params",
        Reply(200, {"app": "stripe", "auth_scheme": "API_KEY", "connection_fields": []}),
    )

    params = client.get_app_params("stripe", "API_KEY")

    assert params.app == "stripe"
    assert stub.last.query == {"auth_scheme": ["API_KEY"]}


def test_create_integration_sends_only_what_is_given(stub: StubApi, client: Client) -> None:
    integration = {
        "id": "int_x",
        "name": "GitHub (OAUTH2)",
        "app": "github",
        "auth_scheme": "OAUTH2",
        "created_at": "2025-01-01T00:00:00Z",
    }
    stub.reply("POST", "/v1/integrations", Reply(201, integration))

    created = client.create_integration(
        "github", "OAUTH2", credentials={"client_id": "Iv1", "scopes": ["read:user"]}
    )

    assert created.id == "int_x"
    assert stub.last.headers["content-type"] == "application/json"
    assert stub.last.json == {
        "app": "github",
        "auth_scheme": "OAUTH2",
        "credentials": {"client_id": "Iv1", "scopes": ["read:user"]},
    }


def test_create_integration_sends_api_settings_and_confirmation(
    stub: StubApi, client: Client
) -> None:
    integration = {
        "id": "int_x",
        "name": "GitLab (OAUTH2)",
        "app": "gitlab",
        "auth_scheme": "OAUTH2",
        "api": {"base_url": "https://git.example.com/api/v4"},
        "require_confirmation": True,
        "created_at": "2025-01-01T00:00:00Z",
    }
    stub.reply("POST", "/v1/integrations", Reply(201, integration))

    created = client.create_integration(
        "gitlab",
        "OAUTH2",
        api={"base_url": "https://git.example.com/api/v4"},
        require_confirmation=True,
    )

    assert created.api == {"base_url": "https://git.example.com/api/v4"}
    assert created.require_confirmation
    assert stub.last.json == {
        "app": "gitlab",
        "auth_scheme": "OAUTH2",
        "api": {"base_url": "https://git.example.com/api/v4"},
        "require_confirmation": True,
    }


def test_delete_integration_accepts_no_content(stub: StubApi, client: Client) -> None:
    stub.reply("DELETE", "/v1/integrations/int_x", Reply(204))
    assert client.delete_integration("int_x") is None


# --- pagination ----------------------------------------------------------------------


def _pages(stub: StubApi, pages: list[tuple[list[str], str | None]]) -> None:
    stub.reply(
        "GET",
        "/v1/connected_accounts",
        *(
            Reply(200, {"items": [account_json(id=i) for i in ids], "next_cursor": cursor})
            for ids, cursor in pages
        ),
    )


def test_listing_follows_next_cursor_across_short_and_empty_pages(
    stub: StubApi, client: Client
) -> None:
    # Filtered pages may be short, even empty, while more follow.
    _pages(stub, [(["ca_1", "ca_2"], "c1"), ([], "c2"), (["ca_3"], None)])

    ids = [a.id for a in client.list_accounts(entity_id="user-42", status="ACTIVE", page_size=2)]

    assert ids == ["ca_1", "ca_2", "ca_3"]
    assert [r.query.get("cursor") for r in stub.requests] == [None, ["c1"], ["c2"]]
    assert all(
        r.query["entity_id"] == ["user-42"] and r.query["limit"] == ["2"] for r in stub.requests
    )


def test_listing_is_lazy_and_asks_for_a_page_only_when_needed(
    stub: StubApi, client: Client
) -> None:
    _pages(stub, [(["ca_1"], "c1"), (["ca_2"], None)])

    first = next(iter(client.list_accounts()))

    assert first.id == "ca_1"
    assert len(stub.requests) == 1


def test_a_single_page_gives_its_cursor(stub: StubApi, client: Client) -> None:
    _pages(stub, [(["ca_1"], "c1")])

    page = client.list_accounts_page(app="github", limit=1, cursor="c0")

    assert [a.id for a in page.items] == ["ca_1"]
    assert page.next_cursor == "c1"
    assert stub.last.query == {"app": ["github"], "limit": ["1"], "cursor": ["c0"]}


def test_integrations_list_follows_the_cursor_too(stub: StubApi, client: Client) -> None:
    def integration(i: str) -> dict[str, Any]:
        return {"id": i, "name": i, "app": "a", "auth_scheme": "API_KEY", "created_at": "t"}

    stub.reply(
        "GET",
        "/v1/integrations",
        Reply(200, {"items": [integration("int_1")], "next_cursor": "c1"}),
        Reply(200, {"items": [integration("int_2")], "next_cursor": None}),
    )

    assert [i.id for i in client.list_integrations()] == ["int_1", "int_2"]


# --- connecting ----------------------------------------------------------------------


def test_initiate_sends_validate_false_only_when_asked(stub: StubApi, client: Client) -> None:
    stub.reply("POST", "/v1/connected_accounts", Reply(201, {**ACCOUNT, "redirect_url": None}))

    client.initiate_connection("int_x", "user-42", params={"api_key": "sk"})
    default_query = stub.last.query
    account = client.initiate_connection(
        "int_x", "user-42", params={"api_key": "sk"}, labels={"team": "core"}, validate=False
    )

    assert default_query == {}
    assert stub.last.query == {"validate": ["false"]}
    assert stub.last.json == {
        "integration_id": "int_x",
        "entity_id": "user-42",
        "params": {"api_key": "sk"},
        "labels": {"team": "core"},
    }
    assert isinstance(account, InitiatedAccount)


# --- the account lifecycle (routes landing in parallel) -----------------------------------


@pytest.mark.parametrize(
    ("call", "action"),
    [
        (Client.refresh_account, "refresh"),
        (Client.disable_account, "disable"),
        (Client.enable_account, "enable"),
    ],
)
def test_lifecycle_actions_post_without_a_body_and_return_the_account(
    stub: StubApi, client: Client, call: Any, action: str
) -> None:
    stub.reply("POST", f"{ACCOUNT_PATH}/{action}", Reply(200, account_json(status="INACTIVE")))

    account = call(client, ACCOUNT["id"])

    assert isinstance(account, Account)
    assert account.status == Status.INACTIVE
    assert stub.last.body == b""
    assert stub.last.headers["content-length"] == "0"


def test_reinitiate_returns_a_new_authorization_url(stub: StubApi, client: Client) -> None:
    stub.reply(
        "POST",
        f"{ACCOUNT_PATH}/reinitiate",
        Reply(200, {**account_json(status="INITIATED"), "redirect_url": "https://p.example/a"}),
    )

    account = client.reinitiate_account(ACCOUNT["id"], redirect_url="https://app.example/back")

    assert account.redirect_url == "https://p.example/a"
    assert stub.last.json == {"redirect_url": "https://app.example/back"}
    client.reinitiate_account(ACCOUNT["id"])
    assert stub.last.json == {}


def test_confirm_sends_the_code_and_the_entity(stub: StubApi, client: Client) -> None:
    stub.reply("POST", f"{ACCOUNT_PATH}/confirm", Reply(200, ACCOUNT))

    assert (
        client.confirm_account(ACCOUNT["id"], code="c0de", entity_id="user-42").status == "ACTIVE"
    )
    assert stub.last.json == {"code": "c0de", "entity_id": "user-42"}


@pytest.mark.parametrize(("revoke", "sent"), [(True, "true"), (False, "false")])
def test_delete_says_whether_to_revoke_and_reports_the_revocation(
    stub: StubApi, client: Client, revoke: bool, sent: str
) -> None:
    stub.reply(
        "DELETE",
        ACCOUNT_PATH,
        Reply(
            200,
            {
                "id": ACCOUNT["id"],
                "deleted": True,
                "revocation": {"status": "revoked" if revoke else "skipped", "message": None},
            },
        ),
    )

    deleted = client.delete_account(ACCOUNT["id"], revoke=revoke)

    assert stub.last.query == {"revoke": [sent]}
    assert deleted.revocation is not None
    assert deleted.revocation.status == ("revoked" if revoke else "skipped")


def test_revoking_is_the_default_on_delete(stub: StubApi, client: Client) -> None:
    stub.reply("DELETE", ACCOUNT_PATH, Reply(200, {"id": ACCOUNT["id"], "deleted": True}))
    client.delete_account(ACCOUNT["id"])
    assert stub.last.query == {"revoke": ["true"]}


# --- proxy and connect links (routes landing in parallel) ---------------------------------


def test_proxy_sends_the_request_and_returns_the_upstreams_answer(
    stub: StubApi, client: Client
) -> None:
    stub.reply(
        "POST",
        f"{ACCOUNT_PATH}/proxy",
        Reply(
            200,
            {
                "status": 201,
                "headers": {"content-type": "application/json"},
                "body": {"number": 7},
                "body_encoding": "json",
            },
        ),
    )

    answer = client.proxy(
        ACCOUNT["id"],
        "post",
        "/repos/o/r/issues",
        query={"per_page": "5", "label": ["a", "b"]},
        headers={"accept": "application/vnd.github+json"},
        body={"title": "Hi"},
    )

    assert (answer.status, answer.body, answer.body_encoding) == (201, {"number": 7}, "json")
    assert stub.last.json == {
        "method": "POST",
        "path": "/repos/o/r/issues",
        "query": {"per_page": "5", "label": ["a", "b"]},
        "headers": {"accept": "application/vnd.github+json"},
        "body": {"title": "Hi"},
    }


def test_proxy_without_a_body_sends_only_method_and_path(stub: StubApi, client: Client) -> None:
    stub.reply("POST", f"{ACCOUNT_PATH}/proxy", Reply(200, {"status": 204, "headers": {}}))

    assert client.proxy(ACCOUNT["id"], "GET", "/user").status == 204
    assert stub.last.json == {"method": "GET", "path": "/user"}


def test_connect_link_is_created_for_an_entity(stub: StubApi, client: Client) -> None:
    link = {"id": "cl_x", "url": "https://keyfob.example/connect/abc", "expires_at": "t"}
    stub.reply("POST", "/v1/connect_links", Reply(201, link))

    created = client.create_connect_link(
        "int_x", "user-42", "https://app.example/back", labels={"k": "v"}
    )

    assert created.url == link["url"]
    assert stub.last.json == {
        "integration_id": "int_x",
        "entity_id": "user-42",
        "redirect_url": "https://app.example/back",
        "labels": {"k": "v"},
    }


# --- waiting for a connection ------------------------------------------------------------


def _statuses(stub: StubApi, *statuses: str) -> None:
    stub.reply(
        "GET",
        ACCOUNT_PATH,
        *(Reply(200, account_json(status=s, status_reason=f"why {s}")) for s in statuses),
    )


def test_given_initiated_then_active_then_wait_returns_the_active_account(
    stub: StubApi, client: Client
) -> None:
    _statuses(stub, "INITIATED", "INITIATED", "ACTIVE")

    account = client.wait_for_connection(ACCOUNT["id"], timeout=5, poll_interval=0.01)

    assert account.status == Status.ACTIVE
    assert len(stub.requests) == 3


@pytest.mark.parametrize("status", ["FAILED", "EXPIRED", "INACTIVE"])
def test_given_a_dead_end_status_then_wait_raises_with_the_account(
    stub: StubApi, client: Client, status: str
) -> None:
    _statuses(stub, "INITIATED", status)

    with pytest.raises(ConnectionFailedError, match=f"{status}: why {status}") as caught:
        client.wait_for_connection(ACCOUNT["id"], timeout=5, poll_interval=0.01)

    assert caught.value.account.status == status


def test_given_awaiting_confirmation_then_wait_stops_and_asks_for_confirmation(
    stub: StubApi, client: Client
) -> None:
    _statuses(stub, "AWAITING_CONFIRMATION")

    with pytest.raises(ConfirmationRequiredError) as caught:
        client.wait_for_connection(ACCOUNT["id"], timeout=5, poll_interval=0.01)

    assert caught.value.account.status == Status.AWAITING_CONFIRMATION


def test_given_a_status_this_client_does_not_know_then_wait_keeps_polling(
    stub: StubApi, client: Client
) -> None:
    _statuses(stub, "SOMETHING_NEW", "ACTIVE")
    assert client.wait_for_connection(ACCOUNT["id"], poll_interval=0.01).status == "ACTIVE"


def test_given_no_change_then_wait_times_out_with_the_last_seen_account(
    stub: StubApi, client: Client
) -> None:
    _statuses(stub, "INITIATED")

    started = time.monotonic()
    with pytest.raises(WaitTimeoutError) as caught:
        client.wait_for_connection(ACCOUNT["id"], timeout=0.3, poll_interval=0.05)

    assert 0.3 <= time.monotonic() - started < 1.5
    assert caught.value.account.status == "INITIATED"
    assert isinstance(caught.value, TimeoutError)
