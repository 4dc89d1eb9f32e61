"""Commands from other AWS accounts, put as events on the Keyfob bus: initiate, refresh,
disable, enable and delete a connection.

A command is carried out for the one tenant its sending AWS account acts for
(``keyfob-admin allow-account``), on that tenant's records only. It is refused when the
event is no EventBridge event, when its account acts for no tenant, when its detail is
not a valid command, when its idempotency key came with another command before, or when
Keyfob will not carry it out (no such connection, a credential in an event, a
connection in no state for it). A refused command changes nothing: it is logged (never
its detail), sent by this handler to the dead-letter queue with the reason, and the
handler returns normally. A refused command of an account that acts for a tenant is
also reported back to it as a ``Keyfob.CommandRejected`` event.

The handler raises only when the command may succeed later as it is: an AWS fault
(throttling, a 5xx, a timeout) or a connection busy with a refresh. Lambda retries
those, and what its retries cannot carry out lands in the same dead-letter queue.

Each command acts once (Powertools idempotency), keyed by the sending account and the
detail's ``idempotency_key``, or else the event id: one account's key never meets
another's. A key that comes again with another command is refused. A command acts only
within hours of its event's time, and its key is remembered for longer: no late
redelivery or replay of an archive can act a second time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

from keyfob.core import aws
from keyfob.core.config import settings
from keyfob.core.errors import (
    Conflict,
    Forbidden,
    Invalid,
    KeyfobError,
    Lapsed,
    Malformed,
    validation_problems,
)
from keyfob.core.ids import iso, new_id, now
from keyfob.core.observability import correlation_id, logger, set_correlation_id
from keyfob.models.events import (
    AccountCommand,
    CommandError,
    CommandRejectedEvent,
    DeleteConnectionCommand,
    InitiateConnectionCommand,
)
from keyfob.services import connections, credentials, events, lifecycle, tenants

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.typing import LambdaContext

Command = InitiateConnectionCommand | AccountCommand

# A key is remembered this long: every redelivery, and a caller's retry within a day.
_REMEMBER_SECONDS = 24 * 3600
# A command acts only this long after its event's time (EventBridge and Lambda give up
# retrying after two hours), well inside what is remembered; and not before it, but for
# clock skew.
_MAX_AGE = timedelta(hours=12)
_MAX_SKEW = timedelta(minutes=5)


def _callback_url() -> str:
    config = settings()
    return f"{config.public_url or config.api_url}/v1/oauth/callback"


# detail-type -> (the detail's model, what carries it out for a tenant)
_COMMANDS: dict[str, tuple[type[Command], Callable[[str, Any], Any]]] = {
    "Keyfob.InitiateConnection": (
        InitiateConnectionCommand,
        lambda tenant, command: connections.initiate(
            tenant, command, _callback_url(), redirect_only=True
        ),
    ),
    "Keyfob.RefreshConnection": (
        AccountCommand,
        lambda tenant, command: credentials.force_refresh(tenant, command.connected_account_id),
    ),
    "Keyfob.DisableConnection": (
        AccountCommand,
        lambda tenant, command: lifecycle.disable(tenant, command.connected_account_id),
    ),
    "Keyfob.EnableConnection": (
        AccountCommand,
        lambda tenant, command: lifecycle.enable(tenant, command.connected_account_id),
    ),
    "Keyfob.DeleteConnection": (
        DeleteConnectionCommand,
        lambda tenant, command: lifecycle.delete(
            tenant, command.connected_account_id, revoke=command.revoke
        ),
    ),
}
DETAIL_TYPES = tuple(_COMMANDS)


@dataclass(frozen=True)
class _Delivery:
    """A command event from an AWS account that acts for a tenant."""

    event: dict[str, Any]
    envelope: EventBridgeModel
    tenant_id: str


def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    try:
        envelope = parse(event=event, model=EventBridgeModel)
    except ValidationError:
        return _refuse(event, Malformed("invalid_event", "Not an EventBridge event"))
    tenant_id = tenants.tenant_for_aws_account(envelope.account)
    if tenant_id is None:
        return _refuse(
            event,
            Forbidden("unknown_account", f"AWS account {envelope.account} acts for no tenant"),
        )
    delivery = _Delivery(event, envelope, tenant_id)
    put = envelope.time if envelope.time.tzinfo else envelope.time.replace(tzinfo=UTC)
    if not -_MAX_SKEW <= now() - put <= _MAX_AGE:
        expired = Lapsed(
            "command_expired",
            f"The command's time {put.isoformat()} is more than "
            f"{_MAX_AGE.total_seconds() / 3600:.0f} hours ago, or ahead",
            {"time": put.isoformat()},
        )
        return _refuse(event, expired, delivery)
    if envelope.detail_type not in _COMMANDS:
        known = ", ".join(DETAIL_TYPES)
        return _refuse(
            event,
            Malformed("unknown_command", f"{envelope.detail_type!r} is none of {known}"),
            delivery,
        )
    model, _ = _COMMANDS[envelope.detail_type]
    try:
        # The detail of the event parsed above, as Powertools' EventBridgeEnvelope parses it
        # (its envelopes package imports every envelope: a fifth of this cold start).
        command: Command = model.model_validate(envelope.detail)
    except ValidationError as exc:
        problems = validation_problems(exc.errors())
        where = ", ".join(p["location"] or "detail" for p in problems)
        invalid = Invalid("invalid_detail", f"Invalid detail: {where}", problems)
        return _refuse(event, invalid, delivery)
    key = command.idempotency_key
    set_correlation_id(key or envelope.id)
    scope = f"{envelope.account}#key#{key}" if key else f"{envelope.account}#event#{envelope.id}"
    config, carry_out = _idempotent()
    # Loaded by _idempotent: Powertools' idempotency imports boto3 (a third of a cold
    # start), so it waits for the first command that gets this far.
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyValidationError,
    )

    config.register_lambda_context(context)
    request = {
        "scope": scope,
        "command": envelope.detail_type,
        # What tells one command from another under a key. Without params: a hash of a
        # credential someone put there (refused, but hashed first) would be kept a day.
        "detail": command.model_dump(mode="json", exclude={"params"}),
    }
    try:
        outcome: dict[str, str] = carry_out(request=request, delivery=delivery, command=command)
    except IdempotencyValidationError:
        reused = Conflict(
            "idempotency_key_reused",
            f"idempotency_key {key!r} came with another command before",
            {"idempotency_key": key},
        )
        return _refuse(event, reused, delivery, command)
    return outcome


@cache
def _idempotent() -> tuple[IdempotencyConfig, Callable[..., dict[str, str]]]:
    """Built on first use: the table comes from the environment."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    config = IdempotencyConfig(
        event_key_jmespath="scope",
        payload_validation_jmespath="[command, detail]",
        expires_after_seconds=_REMEMBER_SECONDS,
        # Keys are the callers' own choosing: no weak hash between them.
        hash_function="sha256",
    )
    persistence = DynamoDBPersistenceLayer(
        table_name=settings().idempotency_table, boto3_client=aws.dynamodb()
    )
    carry_out = idempotent_function(
        _carry_out,
        data_keyword_argument="request",
        persistence_store=persistence,
        config=config,
        # Not the function's name: a redeployed function keeps what it remembers.
        key_prefix="keyfob-command",
    )
    return config, carry_out


def forget_clients() -> None:
    """Drop the idempotency store and its DynamoDB client (a SnapStart restore)."""
    _idempotent.cache_clear()


def _carry_out(*, request: dict[str, Any], delivery: _Delivery, command: Command) -> dict[str, str]:
    """Once per key: carry the command out, or refuse it. What it returns is remembered
    as the outcome, so it holds no secret (no authorization URL: that is in the event)."""
    detail_type = delivery.envelope.detail_type
    _, run = _COMMANDS[detail_type]
    try:
        with events.requested_by(delivery.envelope.account):
            result = run(delivery.tenant_id, command)
    except KeyfobError as exc:
        if exc.retry_after is not None:
            raise  # busy with this very account: later, it may succeed as it is
        return _refuse(delivery.event, exc, delivery, command)
    logger.info(
        "command carried out",
        extra={"command": detail_type, "connected_account_id": result.id},
    )
    return {"outcome": "done", "connected_account_id": result.id}


def _refuse(
    event: Any,
    error: KeyfobError,
    delivery: _Delivery | None = None,
    command: Command | None = None,
) -> dict[str, str]:
    raw = event if isinstance(event, dict) else {}
    logger.warning(
        "command refused",
        extra={
            "reason": error.code,
            "aws_account": raw.get("account"),
            "command_event_id": raw.get("id"),
        },
    )
    _dead_letter(event, error)
    if delivery is not None:
        envelope = delivery.envelope
        events.publish(
            events.COMMAND_REJECTED,
            CommandRejectedEvent(
                event_id=new_id("evt"),
                occurred_at=iso(now()),
                tenant_id=delivery.tenant_id,
                command=envelope.detail_type,
                command_event_id=envelope.id,
                idempotency_key=command.idempotency_key if command else None,
                connected_account_id=getattr(command, "connected_account_id", None),
                error=CommandError(code=error.code, message=error.message, details=error.details),
                correlation_id=correlation_id(),
                requested_by_account=envelope.account,
            ),
        )
    return {"outcome": "refused", "reason": error.code}


def _dead_letter(event: Any, error: KeyfobError) -> None:
    """The event, for an operator to look into, with the reason as message attributes.
    Param values are left out: a caller who put a credential in an event has leaked it
    once already, and it goes no further."""
    body = event
    if isinstance(event, dict) and isinstance(event.get("detail"), dict):
        detail = event["detail"]
        if isinstance(detail.get("params"), dict):
            params = {name: "(left out)" for name in detail["params"]}
            body = {**event, "detail": {**detail, "params": params}}
    aws.sqs().send_message(
        QueueUrl=settings().commands_dead_letter_queue,
        MessageBody=json.dumps(body, default=str),
        MessageAttributes={
            "reason": {"DataType": "String", "StringValue": error.code},
            "message": {"DataType": "String", "StringValue": error.message},
        },
    )
