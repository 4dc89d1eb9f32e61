"""HTTP API Lambda authorizer (payload 2.0, simple responses): the caller's key -> tenant."""

from typing import Any

from keyfob.web import authorizer
from keyfob.web.handler import handler


@handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return authorizer.decide(event)
