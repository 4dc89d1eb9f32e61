"""Commands from other AWS accounts: the EventBridge rule on the Keyfob bus delivers
them here (initiate, refresh, disable, enable, delete a connection)."""

from typing import Any

from keyfob.services import commands
from keyfob.web.handler import handler


@handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    return commands.handle(event, context)
