"""Watching the Keyfob bus and the commands' dead-letter queue as an AWS user would: a
rule on the bus with an SQS target (moto cannot invoke a Lambda target), and the
queue's own messages."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3

from devstack.gateway import Gateway

# The events of a connection initiated, completed, refreshed, disabled, enabled, deleted.
ROUND_TRIP = [
    "Keyfob.ConnectionInitiated",
    "Keyfob.ConnectionActivated",
    "Keyfob.ConnectionRefreshed",
    "Keyfob.ConnectionDisabled",
    "Keyfob.ConnectionEnabled",
    "Keyfob.ConnectionDeleted",
]


@dataclass(frozen=True)
class Message:
    body: str
    attributes: dict[str, str]

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Queue:
    """An SQS queue, read to the end on every look; what was read stays in ``seen``."""

    url: str
    seen: list[Message] = field(default_factory=list)

    def drain(self) -> list[Message]:
        sqs = boto3.client("sqs")
        while True:
            received = sqs.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not received:
                return self.seen
            for message in received:
                attributes = message.get("MessageAttributes", {})
                self.seen.append(
                    Message(message["Body"], {k: v["StringValue"] for k, v in attributes.items()})
                )
            sqs.delete_message_batch(
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(received)
                ],
            )


class Published(Queue):
    """Every event Keyfob puts on its bus (source ``keyfob``), in the order delivered."""

    @classmethod
    def subscribe(cls, bus: str) -> Published:
        sqs, events = boto3.client("sqs"), boto3.client("events")
        url = sqs.create_queue(QueueName=f"keyfob-watch-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(
            Name="watch-keyfob", EventBusName=bus, EventPattern=json.dumps({"source": ["keyfob"]})
        )
        events.put_targets(
            Rule="watch-keyfob", EventBusName=bus, Targets=[{"Id": "watch", "Arn": arn}]
        )
        return cls(url)

    def events(self) -> list[dict[str, Any]]:
        return [m.json for m in self.drain()]

    def about(self, connected_account_id: str) -> list[dict[str, Any]]:
        return [
            e
            for e in self.events()
            if e["detail"].get("connected_account_id") == connected_account_id
        ]

    def types(self, connected_account_id: str) -> list[str]:
        return [e["detail-type"] for e in self.about(connected_account_id)]


def now() -> str:
    """An event's time, as EventBridge writes it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def command_event(
    detail_type: str, detail: dict[str, Any], *, account: str, event_id: str | None = None
) -> dict[str, Any]:
    """A command as EventBridge delivers it from another account's PutEvents, just put."""
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": "com.example.tests",
        "account": account,
        "time": now(),
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def send(gateway: Gateway, event: dict[str, Any]) -> dict[str, str]:
    """Deliver a command event to the commands function, as the rule on the bus would."""
    outcome: dict[str, str] = gateway.invoke("CommandsFunction", event)
    return outcome
