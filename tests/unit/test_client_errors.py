"""keyfob_client's error mapping: status -> exception class, body -> code, message, details."""

from __future__ import annotations

import email.utils
import json

import pytest

from keyfob_client import (
    ApiError,
    AuthError,
    ConflictError,
    KeyfobClientError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    ValidationError,
)
from keyfob_client.errors import error_from_response, parse_retry_after


def keyfob_body(code: str, message: str, details: object = None) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "details": details}}).encode()


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, ApiError),
        (401, AuthError),
        (403, AuthError),
        (404, NotFoundError),
        (409, ConflictError),
        (410, ApiError),
        (413, ApiError),
        (422, ValidationError),
        (429, RateLimitedError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
    ],
)
def test_each_status_family_maps_to_its_exception_class(status: int, cls: type) -> None:
    error = error_from_response(status, keyfob_body("some_code", "Some message"))

    assert type(error) is cls
    assert isinstance(error, ApiError)
    assert isinstance(error, KeyfobClientError)
    assert error.status == status


def test_given_keyfobs_error_body_then_code_message_and_details_are_carried() -> None:
    details = {"missing": ["api_key"], "unknown": [], "invalid": []}

    error = error_from_response(422, keyfob_body("invalid_params", "Invalid params", details))

    assert (error.code, error.message, error.details) == (
        "invalid_params",
        "Invalid params",
        details,
    )
    assert str(error) == "invalid_params: Invalid params (HTTP 422)"
    assert repr(error) == "ValidationError(status=422, code='invalid_params')"


@pytest.mark.parametrize(
    ("status", "body", "code", "message"),
    [
        (403, b'{"message":"Forbidden"}', "forbidden", "Forbidden"),
        (404, b'{"message":"Not Found"}', "not_found", "Not Found"),
        (429, b'{"message":"Too Many Requests"}', "too_many_requests", "Too Many Requests"),
        (502, b"<html>Bad gateway</html>", "bad_gateway", "Bad Gateway"),
        (503, b"", "service_unavailable", "Service Unavailable"),
    ],
)
def test_given_api_gateways_own_answer_then_the_code_is_the_status_phrase(
    status: int, body: bytes, code: str, message: str
) -> None:
    error = error_from_response(status, body)

    assert (error.code, error.message, error.details) == (code, message, None)


def test_given_a_retry_after_header_then_the_error_carries_it_in_seconds() -> None:
    error = error_from_response(429, b'{"message":"Too Many Requests"}', "7")

    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 7.0


def test_retry_after_as_an_http_date_is_seconds_from_now() -> None:
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)

    assert parse_retry_after(date, now=now) == pytest.approx(30.0)
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "-1"])
def test_retry_after_that_is_absent_or_unreadable_is_none(value: str | None) -> None:
    assert parse_retry_after(value) is None
