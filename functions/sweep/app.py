"""Scheduled every 5 minutes: refreshes OAuth tokens ahead of expiry and expires
abandoned connection attempts; reports counts as metrics."""

from typing import Any

from keyfob.services import sweep
from keyfob.web.handler import handler


@handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    return sweep.scheduled(context.get_remaining_time_in_millis)
