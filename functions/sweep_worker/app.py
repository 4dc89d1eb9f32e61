"""The scheduled run's workers: each SQS message names one shard of the due index,
whose refreshes and expiries it carries out; reports counts as metrics."""

from typing import Any

from keyfob.services import sweep
from keyfob.web.handler import handler


@handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    return sweep.worker(event, context.get_remaining_time_in_millis)
