"""keyfob_client's dataclasses: built from the API's JSON, tolerant of other versions."""

from __future__ import annotations

import dataclasses

import pytest

from keyfob_client import (
    Account,
    App,
    AppParams,
    Credentials,
    DeletedAccount,
    InitiatedAccount,
    ProxyResponse,
    Status,
    UnexpectedResponseError,
)
from tests.unit.stub_api import account_json


def test_given_fields_from_a_newer_server_when_parsed_then_they_are_ignored_but_kept_raw() -> None:
    data = account_json(shiny_new_field={"x": 1}, status="SOME_FUTURE_STATUS")

    account = Account.from_json(data)

    assert account.id == data["id"]
    assert account.status == "SOME_FUTURE_STATUS"
    assert account.raw["shiny_new_field"] == {"x": 1}
    assert "shiny_new_field" not in repr(account)


def test_given_an_older_server_without_the_lifecycle_fields_then_they_take_defaults() -> None:
    account = Account.from_json(account_json())

    assert account.upstream_account_id is None
    assert account.upstream_display_name is None
    assert account.last_refreshed_at is None
    assert account.refresh_failures == 0


def test_given_the_lifecycle_fields_then_they_are_read() -> None:
    account = Account.from_json(
        account_json(
            status="AWAITING_CONFIRMATION",
            upstream_account_id="12345",
            upstream_display_name="octocat",
            last_refreshed_at="2025-02-01T10:00:00Z",
            refresh_failures=2,
        )
    )

    assert account.status == Status.AWAITING_CONFIRMATION
    assert (account.upstream_account_id, account.upstream_display_name) == ("12345", "octocat")
    assert account.last_refreshed_at == "2025-02-01T10:00:00Z"
    assert account.refresh_failures == 2


def test_given_a_response_without_a_required_field_then_the_error_names_it() -> None:
    data = account_json()
    del data["entity_id"]

    with pytest.raises(UnexpectedResponseError, match="entity_id"):
        Account.from_json(data)


def test_given_something_other_than_an_object_then_it_is_an_unexpected_response() -> None:
    with pytest.raises(UnexpectedResponseError):
        Account.from_json(["not", "an", "object"])


def test_nested_objects_become_dataclasses_and_lists_tuples() -> None:
    app = App.from_json(
        {
            "slug": "github",
            "name": "GitHub",
            "description": "d",
            "categories": ["developer-tools"],
            "docs_url": "https://docs.github.com",
            "api_base_url": "https://api.github.com",
            "auth_schemes": [
                {"type": "OAUTH2", "default_scopes": ["read:user"], "pkce": True, "new": 1},
                {"type": "BEARER_TOKEN"},
            ],
        }
    )
    params = AppParams.from_json(
        {
            "app": "stripe",
            "auth_scheme": "API_KEY",
            "integration_fields": [],
            "connection_fields": [
                {"name": "api_key", "display_name": "API key", "description": "d", "secret": True}
            ],
        }
    )

    assert [s.type for s in app.auth_schemes] == ["OAUTH2", "BEARER_TOKEN"]
    assert app.auth_schemes[0].default_scopes == ("read:user",)
    assert app.categories == ("developer-tools",)
    assert params.connection_fields[0].secret is True
    assert params.connection_fields[0].required is True


def test_an_initiated_account_is_an_account_with_its_redirect_url() -> None:
    initiated = InitiatedAccount.from_json(
        account_json(status="INITIATED", redirect_url="https://provider.example/authorize?x=1")
    )

    assert isinstance(initiated, Account)
    assert initiated.redirect_url == "https://provider.example/authorize?x=1"


def test_credentials_never_show_their_secrets_in_repr() -> None:
    credentials = Credentials.from_json(
        {
            "connected_account_id": "ca_x",
            "app": "openai",
            "auth_scheme": "API_KEY",
            "status": "ACTIVE",
            "credentials": {"api_key": "sk-very-secret"},
        }
    )

    assert credentials.credentials["api_key"] == "sk-very-secret"
    assert "sk-very-secret" not in repr(credentials)
    assert "sk-very-secret" not in str(credentials)


def test_models_are_frozen() -> None:
    account = Account.from_json(account_json())
    with pytest.raises(dataclasses.FrozenInstanceError):
        account.status = "FAILED"  # type: ignore[misc]


def test_a_deletion_reports_how_revocation_went() -> None:
    deleted = DeletedAccount.from_json(
        {"id": "ca_x", "deleted": True, "revocation": {"status": "revoked", "message": None}}
    )

    assert deleted.deleted is True
    assert deleted.revocation is not None
    assert deleted.revocation.status == "revoked"


@pytest.mark.parametrize(
    ("body", "encoding", "content"),
    [
        ({"login": "octocat"}, "json", b'{"login": "octocat"}'),
        ("plain text", "text", b"plain text"),
        ("AAEC/w==", "base64", b"\x00\x01\x02\xff"),
        (None, "json", b""),
    ],
)
def test_a_proxy_response_gives_its_body_as_bytes_whatever_the_encoding(
    body: object, encoding: str, content: bytes
) -> None:
    answer = ProxyResponse.from_json(
        {"status": 200, "headers": {}, "body": body, "body_encoding": encoding}
    )

    assert answer.content == content
    assert answer.ok


def test_a_proxy_response_with_an_upstream_error_is_not_ok() -> None:
    answer = ProxyResponse.from_json({"status": 404, "headers": {}, "body": None})
    assert not answer.ok
