"""A request's body never reaches the logs through Powertools' DEBUG lines, even with
POWERTOOLS_DEBUG (which turns its package logger to DEBUG)."""

from __future__ import annotations

import logging
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel

from keyfob.web.resolver import create_app

SECRET = "sk-live-never-in-a-log"


class Thing(BaseModel):
    api_key: str


def _event() -> dict[str, object]:
    return {
        "version": "2.0",
        "routeKey": "POST /v1/things",
        "rawPath": "/v1/things",
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "http": {"method": "POST", "path": "/v1/things", "sourceIp": "127.0.0.1"},
            "authorizer": {"lambda": {"tenant_id": "tn_1"}},
            "requestId": "r1",
            "stage": "$default",
        },
        "body": '{"api_key": "' + SECRET + '"}',
        "isBase64Encoded": False,
    }


class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_given_powertools_debug_when_a_route_runs_then_its_body_is_not_logged() -> None:
    # What POWERTOOLS_DEBUG does: the package logger at DEBUG, with a handler of its own.
    package = logging.getLogger("aws_lambda_powertools")
    captured = _Captured()
    package.addHandler(captured)
    level = package.level
    package.setLevel(logging.DEBUG)
    try:
        app = create_app()

        @app.post("/v1/things")
        def things(thing: Annotated[Thing, Body()]) -> dict[str, str]:
            return {"ok": "yes" if thing.api_key else "no"}

        answer = app.resolve(_event(), None)
    finally:
        package.removeHandler(captured)
        package.setLevel(level)

    assert answer["statusCode"] == 200
    assert not any(SECRET in line for line in captured.lines), captured.lines
