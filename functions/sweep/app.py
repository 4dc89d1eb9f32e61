"""Scheduled every 5 minutes: refreshes OAuth tokens ahead of expiry and expires
abandoned connection attempts; reports counts as metrics."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from keyfob import sweep
from keyfob.observability import logger, metrics, traced


@metrics.log_metrics
@traced
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    # What the run changes is published with the run's own request id.
    logger.set_correlation_id(context.aws_request_id)
    counts = sweep.run(context.get_remaining_time_in_millis)
    for name, value in counts.items():
        metrics.add_metric(name=name, unit="Count", value=value)
    logger.info("scheduled run done", extra=dict(counts))
    return dict(counts)
