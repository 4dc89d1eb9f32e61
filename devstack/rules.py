"""EventBridge's rules and Lambda's SQS event sources, locally: each ``rate()`` schedule
run by a thread, each event pattern through an SQS relay (moto delivers events to SQS but
cannot invoke a Lambda target), each mapped queue polled in batches. Unlike AWS: a rule's
function error is logged, not retried nor dead-lettered; ``cron()`` schedules are listed,
not run. A queue's failed messages come back after its visibility timeout, as on AWS."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import boto3

from .gateway import Gateway
from .runtime import FunctionError
from .template import Rule

log = logging.getLogger("devstack")


class Rules:
    """Runs rules against a started gateway's functions. ``relay=False`` leaves event
    patterns alone (on a real bus, the deployed rule invokes the deployed function)."""

    def __init__(self, gateway: Gateway, rules: list[Rule], *, relay: bool = True) -> None:
        self.gateway, self.stopping = gateway, threading.Event()
        self.scheduled = [rule for rule in rules if rule.enabled and rule.rate_seconds]
        self.relayed = [r for r in rules if relay and r.enabled and r.pattern is not None]
        self.polled = [r for r in rules if relay and r.enabled and r.queue is not None]
        run = (*self.scheduled, *self.relayed, *self.polled)
        self.skipped = [rule for rule in rules if rule not in run]

    def name(self, rule: Rule) -> str:
        return f"{self.gateway.stack.stack_name}-{rule.logical_id}"[:64]

    def start(self) -> Rules:
        work: list[tuple[Callable[[Rule, str], None], Rule, str]]
        work = [(self._schedule, rule, "") for rule in self.scheduled]
        work += [(self._relay, rule, self._subscribe(rule)) for rule in self.relayed]
        queue_url = self.gateway.stack.attributes
        work += [(self._poll, rule, str(queue_url(str(rule.queue))["Ref"])) for rule in self.polled]
        for target, rule, url in work:
            threading.Thread(
                target=target, args=(rule, url), name=rule.logical_id, daemon=True
            ).start()
        return self

    def stop(self) -> None:
        """Stop: a relay in its 1 s poll ends on its own, after the rest is stopped."""
        self.stopping.set()

    def _subscribe(self, rule: Rule) -> str:
        """A rule with the pattern on the bus, a relay queue as its target; the queue's URL."""
        sqs, events, name = boto3.client("sqs"), boto3.client("events"), self.name(rule)
        url: str = sqs.create_queue(QueueName=f"{name}-relay")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
        events.put_rule(Name=name, EventBusName=rule.bus, EventPattern=json.dumps(rule.pattern))
        events.put_targets(
            Rule=name, EventBusName=rule.bus, Targets=[{"Id": "relay", "Arn": arn["QueueArn"]}]
        )
        return url

    def scheduled_event(self, rule: Rule) -> dict[str, Any]:
        """What EventBridge delivers to a scheduled function."""
        region, account = self.gateway.stack.region, self.gateway.stack.account_id
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        arn = f"arn:aws:events:{region}:{account}:rule/{self.name(rule)}"
        event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event"}
        event |= {"source": "aws.events", "account": account, "time": now, "region": region}
        return {**event, "resources": [arn], "detail": {}}

    def run(self, rule: Rule, event: dict[str, Any] | None = None) -> Any:
        """Invoke the rule's function with ``event`` (a scheduled event by default), as
        EventBridge would; returns its result, None when it failed."""
        event = event or self.scheduled_event(rule)
        try:
            result = self.gateway.invoke(rule.function_id, event)
        except FunctionError as error:
            log.error("%s (%s) failed: %s", rule.function_id, event.get("detail-type"), error)
            return None
        log.info("%s (%s): %s", rule.function_id, event.get("detail-type"), result)
        return result

    def _schedule(self, rule: Rule, _: str) -> None:
        # Like EventBridge: the first run one period after the rule exists.
        while not self.stopping.wait(rule.rate_seconds):
            self.run(rule)

    def _relay(self, rule: Rule, url: str) -> None:
        sqs = boto3.client("sqs")
        while not self.stopping.is_set():
            try:  # a short poll, so that stopping is prompt
                received = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
            except Exception:
                if not self.stopping.wait(1):
                    log.exception("relay of %s", rule.logical_id)
                continue
            for message in received.get("Messages", []):
                event = json.loads(message["Body"])
                # moto leaves out who put the event; locally that is always this account.
                event.setdefault("account", self.gateway.stack.account_id)
                self.run(rule, event)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def _poll(self, rule: Rule, url: str) -> None:
        """Lambda's poller: a batch of messages as one SQS event; those the function took
        (all, or all but its batchItemFailures) are deleted, the rest come back later."""
        sqs, stack = boto3.client("sqs"), self.gateway.stack
        arn = stack.attributes(str(rule.queue))["Arn"]
        while not self.stopping.is_set():
            try:
                received = sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=min(rule.batch_size, 10),
                    WaitTimeSeconds=1,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
            except Exception:
                if not self.stopping.wait(1):
                    log.exception("poller of %s", rule.logical_id)
                continue
            if not received:
                continue
            records = [_record(message, arn, stack.region) for message in received]
            try:
                result = self.gateway.invoke(rule.function_id, {"Records": records})
            except FunctionError as error:
                log.error("%s (%d messages) failed: %s", rule.function_id, len(records), error)
                continue
            failed = set()
            if rule.partial and isinstance(result, dict):
                failed = {f.get("itemIdentifier") for f in result.get("batchItemFailures") or []}
            for message in received:
                if message["MessageId"] not in failed:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _record(message: Mapping[str, Any], arn: str, region: str) -> dict[str, Any]:
    """An SQS message as Lambda's event carries it."""
    attributes = {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "dataType": value["DataType"],
        }
        for name, value in (message.get("MessageAttributes") or {}).items()
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": attributes,
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": region,
    }
