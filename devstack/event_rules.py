"""EventBridge rules that invoke functions, for the local stack. moto routes events to
SQS but cannot invoke a Lambda target, so each function's ``EventBridgeRule`` event
becomes a rule with the template's pattern whose target is a relay queue; a thread
polls that queue and invokes the function with each event, as EventBridge would.

Unlike AWS: a function error is logged, not retried, and nothing goes to the rule's or
the function's dead-letter queue.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import boto3

from .gateway import Gateway
from .runtime import FunctionError
from .template import EventRuleSpec

log = logging.getLogger("devstack")

__all__ = ["RuleRelay"]


class RuleRelay:
    """Delivers the events a template's rules match to their functions on a started
    gateway; the rules and queues are made on the endpoint boto3 is pointed at."""

    def __init__(self, gateway: Gateway, rules: list[EventRuleSpec]) -> None:
        self.gateway = gateway
        self.rules = rules
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> RuleRelay:
        sqs, events = boto3.client("sqs"), boto3.client("events")
        for rule in self.rules:
            name = f"{self.gateway.stack_name}-{rule.function_id}{rule.event_name}"[:64]
            url = sqs.create_queue(QueueName=f"{name}-relay"[:80])["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            events.put_rule(Name=name, EventBusName=rule.bus, EventPattern=json.dumps(rule.pattern))
            events.put_targets(
                Rule=name,
                EventBusName=rule.bus,
                Targets=[{"Id": "relay", "Arn": arn["Attributes"]["QueueArn"]}],
            )
            thread = threading.Thread(
                target=self._relay, args=(rule, url), name=f"rule-{name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def _relay(self, rule: EventRuleSpec, url: str) -> None:
        sqs = boto3.client("sqs")
        while not self._stop.is_set():
            received = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", [])
            for message in received:
                event = json.loads(message["Body"])
                # moto leaves out who put the event; locally that is always this account.
                event.setdefault("account", self.gateway.account_id)
                self._deliver(rule, event)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def _deliver(self, rule: EventRuleSpec, event: dict[str, Any]) -> None:
        try:
            result = self.gateway.invoke(rule.function_id, event)
        except FunctionError as error:
            log.error("%s (%s) failed: %s", rule.function_id, event.get("detail-type"), error)
            return
        log.info("%s (%s): %s", rule.function_id, event.get("detail-type"), result)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
