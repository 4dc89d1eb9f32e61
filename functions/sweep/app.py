"""Scheduled every 5 minutes: sends again the events EventBridge refused, then hands
each shard of the due index to a worker (functions/sweep_worker) through the sweep
queue; reports counts as metrics."""

from typing import Any

from keyfob.services import sweep
from keyfob.web.handler import handler


@handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    return sweep.scheduled(context.get_remaining_time_in_millis)
