"""Commands from other AWS accounts: the EventBridge rule on the Keyfob bus delivers
them here (initiate, refresh, disable, enable, delete a connection)."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from keyfob import commands
from keyfob.observability import logger, metrics, traced


@metrics.log_metrics
@traced
@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    return commands.handle(event, context)
