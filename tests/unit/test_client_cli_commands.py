"""The keyfob command line against the scripted API stub: arguments, output, exit codes.

The lifecycle, proxy and connect-link commands are tested here to the routes' contract,
ahead of the server routes that implement them.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from keyfob_client import cli
from tests.cli_run import Run
from tests.unit.stub_api import API_KEY, Reply, StubApi, account_json

ACCOUNT = account_json(labels={"team": "core"})
ACCOUNT_ID = ACCOUNT["id"]
ACCOUNT_PATH = f"/v1/connected_accounts/{ACCOUNT_ID}"


@pytest.fixture
def keyfob(
    stub: StubApi, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Run]:
    """Run ``keyfob ARGS`` in-process, with KEYFOB_URL and KEYFOB_API_KEY set."""
    monkeypatch.setenv("KEYFOB_URL", stub.url)
    monkeypatch.setenv("KEYFOB_API_KEY", API_KEY)

    def run(*argv: str, stdin: str = "") -> Run:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        try:
            code = cli.main(list(argv))
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return run


# --- output ----------------------------------------------------------------------


def test_json_output_is_exactly_the_apis_json(stub: StubApi, keyfob: Callable[..., Run]) -> None:
    answer = {**ACCOUNT, "a_field_from_a_newer_server": [1, 2]}
    stub.reply("GET", ACCOUNT_PATH, Reply(200, answer))

    run = keyfob("accounts", "get", ACCOUNT_ID, "--output", "json")

    assert run.code == 0
    assert run.json == answer


def test_text_output_is_readable_lines(stub: StubApi, keyfob: Callable[..., Run]) -> None:
    stub.reply("GET", ACCOUNT_PATH, Reply(200, ACCOUNT))

    run = keyfob("accounts", "get", ACCOUNT_ID)

    assert run.code == 0
    assert f"id: {ACCOUNT_ID}\n" in run.out
    assert "status: ACTIVE\n" in run.out
    assert "labels:\n  team: core\n" in run.out
    assert "status_reason: -\n" in run.out


def test_global_options_may_come_before_or_after_the_command(
    stub: StubApi, keyfob: Callable[..., Run]
) -> None:
    stub.reply("GET", ACCOUNT_PATH, Reply(200, ACCOUNT))

    before = keyfob("-o", "json", "--api-key", "kf_other", "accounts", "get", ACCOUNT_ID)
    after = keyfob("accounts", "get", ACCOUNT_ID, "-o", "json", "--api-key", "kf_other")

    assert before.json == after.json == ACCOUNT
    assert [r.headers["x-api-key"] for r in stub.requests] == ["kf_other", "kf_other"]


def _account_pages(stub: StubApi) -> None:
    stub.reply(
        "GET",
        "/v1/connected_accounts",
        Reply(200, {"items": [account_json(id="ca_1")], "next_cursor": "c1"}),
        Reply(200, {"items": [account_json(id="ca_2")], "next_cursor": None}),
    )


def test_list_shows_one_page_as_a_table_and_says_how_to_get_more(
    stub: StubApi, keyfob: Callable[..., Run]
) -> None:
    _account_pages(stub)

    run = keyfob("accounts", "list", "--entity-id", "user-42", "--limit", "1")

    header, row = run.out.splitlines()
    assert header.split() == ["ID", "ENTITY", "APP", "AUTH", "SCHEME", "STATUS", "UPDATED"]
    assert row.split()[:5] == ["ca_1", "user-42", "github", "OAUTH2", "ACTIVE"]
    assert "--cursor c1" in run.err
    assert stub.last.query == {"entity_id": ["user-42"], "limit": ["1"]}


def test_list_all_follows_the_cursor_and_prints_the_apis_page_shape(
    stub: StubApi, keyfob: Callable[..., Run]
) -> None:
    _account_pages(stub)

    run = keyfob("accounts", "list", "--all", "-o", "json")

    assert [a["id"] for a in run.json["items"]] == ["ca_1", "ca_2"]
    assert run.json["next_cursor"] is None


# --- exit codes ------------------------------------------------------------------------


def test_given_an_api_error_then_exit_1_with_code_and_message_on_stderr(
    stub: StubApi, keyfob: Callable[..., Run]
) -> None:
    details = {"missing": ["api_key"], "unknown": [], "invalid": []}
    stub.reply(
        "POST",
        "/v1/connected_accounts",
        Reply(422, {"error": {"code": "invalid_params", "message": "Bad", "details": details}}),
    )

    run = keyfob("accounts", "connect", "int_x", "user-42")

    assert run.code == 1
    assert run.out == ""
    first, second = run.err.splitlines()
    assert first == "invalid_params: Bad"
    assert json.loads(second) == details


def test_given_no_server_then_exit_1(keyfob: Callable[..., Run]) -> None:
    run = keyfob("--url", "http://127.0.0.1:9", "apps", "list")
    assert run.code == 1
    assert run.err.startswith("error: GET /v1/apps: cannot reach")


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["accounts"],
        ["accounts", "get"],
        ["accounts", "get", ""],
        ["apps", "params", "stripe"],
        ["accounts", "connect", "int_x", "user-42", "--param", "no-equals-sign"],
        ["integrations", "create", "--app", "x", "--auth-scheme", "OAUTH2", "--oauth", "[1]"],
        ["proxy", ACCOUNT_ID, "POST", "/x", "--data", "@/nonexistent/body.json"],
        ["--url", "http://keyfob.example.com", "apps", "list"],
    ],
)
def test_usage_errors_exit_2_without_calling_the_api(
    stub: StubApi, keyfob: Callable[..., Run], argv: list[str]
) -> None:
    run = keyfob(*argv)
    assert run.code == 2
    assert stub.requests == []


def test_given_no_url_anywhere_then_exit_2_saying_what_to_set(
    keyfob: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KEYFOB_URL")
    run = keyfob("apps", "list")
    assert run.code == 2
    assert "KEYFOB_URL" in run.err


# --- secrets -------------------------------------------------------------------------


def test_a_dash_value_is_read_from_stdin_and_never_printed(
    stub: StubApi, keyfob: Callable[..., Run]
) -> None:
    stub.reply("POST", "/v1/connected_accounts", Reply(201, {**ACCOUNT, "redirect_url": None}))

    run = keyfob(
        "accounts", "connect", "int_x", "user-42", "--param", "api_key=-", stdin="sk-secret\n"
    )

    assert run.code == 0
    assert stub.last.json["params"] == {"api_key": "sk-secret"}
    assert "sk-secret" not in run.out + run.err


def test_connect_without_validation_says_so_to_the_api(
    stub: StubApi, keyfob: Callable[..., Run]
) -> None:
    stub.reply("POST", "/v1/connected_accounts", Reply(201, {**ACCOUNT, "redirect_url": None}))

    keyfob("accounts", "connect", "int_x", "user-42", "--param", "api_key=k", "--no-validate")

    assert stub.last.query == {"validate": ["false"]}


def test_connect_with_wait_prints_the_authorization_url_then_the_active_account(
    stub: StubApi, keyfob: Callable[..., Run]
) -> None:
    initiated = {**account_json(status="INITIATED"), "redirect_url": "https://p.example/a"}
    stub.reply("POST", "/v1/connected_accounts", Reply(201, initiated))
    stub.reply("GET", ACCOUNT_PATH, Reply(200, account_json(status="ACTIVE")))

    run = keyfob("accounts", "connect", "int_x", "user-42", "--wait", "-o", "json")

    assert run.code == 0
    assert "https://p.example/a" in run.err
    assert run.json["status"] == "ACTIVE"


def test_wait_on_a_failed_account_exits_1_with_the_reason(
    stub: StubApi, keyfob: Callable[..., Run]
) -> None:
    failed = account_json(status="FAILED", status_reason="access_denied")
    stub.reply("GET", ACCOUNT_PATH, Reply(200, failed))

    run = keyfob("accounts", "wait", ACCOUNT_ID, "--interval", "0.01")

    assert run.code == 1
    assert run.err == f"error: connected account {ACCOUNT_ID} is FAILED: access_denied\n"


# --- lifecycle, proxy, connect links -------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "action", "sent"),
    [
        (["refresh"], "refresh", None),
        (["disable"], "disable", None),
        (["enable"], "enable", None),
        (
            ["reinitiate", "--redirect-url", "https://a.example/b"],
            "reinitiate",
            {"redirect_url": "https://a.example/b"},
        ),
        (
            ["confirm", "--code", "c0de", "--entity-id", "user-42"],
            "confirm",
            {"code": "c0de", "entity_id": "user-42"},
        ),
    ],
)
def test_account_actions_post_to_their_routes(
    stub: StubApi, keyfob: Callable[..., Run], argv: list[str], action: str, sent: Any
) -> None:
    stub.reply("POST", f"{ACCOUNT_PATH}/{action}", Reply(200, {**ACCOUNT, "redirect_url": None}))

    run = keyfob("accounts", argv[0], ACCOUNT_ID, *argv[1:], "-o", "json")

    assert run.code == 0
    assert run.json["id"] == ACCOUNT_ID
    assert (stub.last.json if stub.last.body else None) == sent


def test_delete_revokes_unless_told_not_to(stub: StubApi, keyfob: Callable[..., Run]) -> None:
    stub.reply(
        "DELETE",
        ACCOUNT_PATH,
        Reply(
            200,
            {
                "id": ACCOUNT_ID,
                "deleted": True,
                "revocation": {"status": "skipped", "message": None},
            },
        ),
    )

    default = keyfob("accounts", "delete", ACCOUNT_ID)
    kept = keyfob("accounts", "delete", ACCOUNT_ID, "--no-revoke")

    assert [r.query for r in stub.requests] == [{"revoke": ["true"]}, {"revoke": ["false"]}]
    assert "revocation: status=skipped" in default.out
    assert kept.code == 0


def test_proxy_sends_the_request_and_prints_the_upstream_body(
    stub: StubApi, keyfob: Callable[..., Run], tmp_path: Path
) -> None:
    body_file = tmp_path / "body.json"
    body_file.write_text('["a", 1]')
    stub.reply(
        "POST",
        f"{ACCOUNT_PATH}/proxy",
        Reply(
            200,
            {"status": 200, "headers": {}, "body": {"total": 2}, "body_encoding": "json"},
        ),
    )

    run = keyfob(
        "proxy",
        ACCOUNT_ID,
        "put",
        "/items",
        "--query",
        "q=keyfob",
        "--query",
        "label=a",
        "--query",
        "label=b",
        "--header",
        "x-github-api-version=2022-11-28",
        "--data",
        f"@{body_file}",
    )

    assert run.code == 0
    assert json.loads(run.out) == {"total": 2}
    assert run.err == "upstream HTTP 200\n"
    assert stub.last.json == {
        "method": "PUT",
        "path": "/items",
        "query": {"q": "keyfob", "label": ["a", "b"]},
        "headers": {"x-github-api-version": "2022-11-28"},
        "body": ["a", 1],
    }


@pytest.mark.parametrize(
    ("data", "sent"), [("plain words", "plain words"), ("-", {"from": "stdin"})]
)
def test_proxy_data_that_is_not_json_goes_as_text_and_dash_reads_stdin(
    stub: StubApi, keyfob: Callable[..., Run], data: str, sent: Any
) -> None:
    stub.reply(
        "POST",
        f"{ACCOUNT_PATH}/proxy",
        Reply(200, {"status": 200, "headers": {}, "body": "ok", "body_encoding": "text"}),
    )

    run = keyfob("proxy", ACCOUNT_ID, "PUT", "/x", "--data", data, stdin='{"from": "stdin"}')

    assert run.out == "ok\n"
    assert stub.last.json["body"] == sent


def test_connect_link_prints_the_url_to_send_the_user_to(
    stub: StubApi, keyfob: Callable[..., Run]
) -> None:
    link = {"id": "cl_x", "url": "https://keyfob.example/connect/abc", "expires_at": "t"}
    stub.reply("POST", "/v1/connect_links", Reply(201, link))

    run = keyfob(
        "connect-links", "create", "int_x", "user-42", "--redirect-url", "https://app.example/b"
    )

    assert "url: https://keyfob.example/connect/abc\n" in run.out
    assert stub.last.json == {
        "integration_id": "int_x",
        "entity_id": "user-42",
        "redirect_url": "https://app.example/b",
    }
