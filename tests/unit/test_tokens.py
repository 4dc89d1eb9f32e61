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
