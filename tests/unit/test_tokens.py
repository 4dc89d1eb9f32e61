"""When a token set falls due for refresh (or, with nothing to refresh it with, expiry)."""

from __future__ import annotations

from keyfob.models.settings import OAuthSettings
from keyfob.services import tokens

OBTAINED = "2026-11-25T12:00:00.000000Z"


def token_set(expires_at: str | None, refresh_token: str | None = "r") -> dict[str, str | None]:
    return {"obtained_at": OBTAINED, "expires_at": expires_at, "refresh_token": refresh_token}


def test_given_an_hour_long_token_then_it_is_due_five_minutes_before_expiry() -> None:
    due = tokens.due_at(token_set("2026-11-25T13:00:00.000000Z"), OAuthSettings())
    assert due == "2026-11-25T12:55:00.000000Z"


def test_given_the_apps_own_buffer_then_it_is_used() -> None:
    due = tokens.due_at(
        token_set("2026-11-25T13:00:00.000000Z"), OAuthSettings(refresh_buffer_seconds=900)
    )
    assert due == "2026-11-25T12:45:00.000000Z"


def test_given_a_token_shorter_lived_than_the_buffer_then_it_is_due_halfway() -> None:
    # Two minutes of life: due after one, not at once (which would refresh on every read)
    due = tokens.due_at(token_set("2026-11-25T12:02:00.000000Z"), OAuthSettings())
    assert due == "2026-11-25T12:01:00.000000Z"


def test_given_no_expiry_then_it_is_never_due() -> None:
    assert tokens.due_at(token_set(None), OAuthSettings()) is None


def test_given_no_refresh_token_then_it_is_due_when_it_expires() -> None:
    expires = "2026-11-25T13:00:00.000000Z"
    assert tokens.due_at(token_set(expires, refresh_token=None), OAuthSettings()) == expires


def test_stored_fields_say_whether_it_can_be_refreshed_and_reset_failures() -> None:
    fields = tokens.token_changes(token_set(None, refresh_token=None), OAuthSettings(), 3)
    assert fields.refreshable is False
    assert fields.token_version == 3
    assert fields.refresh_failures == 0
    assert fields.lease_owner is None
    assert "lease_owner" in fields.model_fields_set  # removed from the stored account


def test_given_an_answer_naming_fewer_scopes_then_the_others_are_missing() -> None:
    changes = tokens.scope_changes({"scope": "read offline_access"}, ["read", "write"], None)
    assert (changes.granted_scopes, changes.missing_scopes) == (
        ["read", "offline_access"],
        ["write"],
    )


def test_given_an_answer_naming_no_scope_then_all_requested_are_granted() -> None:
    changes = tokens.scope_changes({"access_token": "t"}, ["read", "write"], None)
    assert (changes.granted_scopes, changes.missing_scopes) == (["read", "write"], [])


def test_given_the_apps_separator_then_the_answer_is_split_by_it() -> None:
    settings = OAuthSettings(scope_separator=",")
    changes = tokens.scope_changes({"scope": "a,b"}, ["a", "b", "c"], settings)
    assert (changes.granted_scopes, changes.missing_scopes) == (["a", "b"], ["c"])


def test_given_no_scopes_requested_then_nothing_is_recorded() -> None:
    assert tokens.scope_changes({"scope": "a"}, None, None).model_fields_set == set()
