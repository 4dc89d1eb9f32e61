"""The template's EventBridge rules that invoke functions, run by the local stack: each
``rate()`` schedule in a thread of its own, and each event pattern through an SQS relay
(moto delivers events to SQS but cannot invoke a Lambda target): a rule with the pattern
and a queue as its target, and a thread invoking the function with each event it gets.

Unlike AWS: a function error is logged, not retried, and goes to no dead-letter queue;
``cron()`` schedules are listed, not run.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3

from .gateway import Gateway
from .runtime import FunctionError
from .template import Rule

__all__ = ["Rules"]

log = logging.getLogger("devstack")


class Rules:
    """Runs rules against a started gateway's functions. ``relay=False`` leaves event
    patterns alone (on a real bus, the deployed rule invokes the deployed function)."""

    def __init__(self, gateway: Gateway, rules: list[Rule], *, relay: bool = True) -> None:
        self.gateway = gateway
        self.scheduled = [rule for rule in rules if rule.enabled and rule.rate_seconds]
        self.relayed = [r for r in rules if relay and r.enabled and r.pattern is not None]
        self.skipped = [rule for rule in rules if rule not in (*self.scheduled, *self.relayed)]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def name(self, rule: Rule) -> str:
        return f"{self.gateway.stack.stack_name}-{rule.logical_id}"[:64]

    def start(self) -> Rules:
        for rule in self.scheduled:
            self._thread(self._schedule, rule)
        for rule in self.relayed:
            self._thread(self._relay, rule, self._subscribe(rule))
        return self

    def _thread(self, target: Callable[..., None], rule: Rule, *args: Any) -> None:
        thread = threading.Thread(target=target, args=(rule, *args), name=rule.logical_id)
        thread.daemon = True
        thread.start()
        self._threads.append(thread)

    def _subscribe(self, rule: Rule) -> str:
        """A rule with the pattern on the bus, and its target queue's URL."""
        sqs, events = boto3.client("sqs"), boto3.client("events")
        url: str = sqs.create_queue(QueueName=f"{self.name(rule)}-relay")["QueueUrl"]
        found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        pattern = json.dumps(rule.pattern)
        events.put_rule(Name=self.name(rule), EventBusName=rule.bus, EventPattern=pattern)
        arn = found["Attributes"]["QueueArn"]
        events.put_targets(
            Rule=self.name(rule), EventBusName=rule.bus, Targets=[{"Id": "relay", "Arn": arn}]
        )
        return url

    def scheduled_event(self, rule: Rule) -> dict[str, Any]:
        """What EventBridge delivers to a scheduled function."""
        stack = self.gateway.stack
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": stack.account_id,
            "time": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": stack.region,
            "resources": [
                f"arn:aws:events:{stack.region}:{stack.account_id}:rule/{self.name(rule)}"
            ],
            "detail": {},
        }

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

    def _schedule(self, rule: Rule) -> None:
        assert rule.rate_seconds
        # Like EventBridge: the first run one period after the rule exists.
        while not self._stop.wait(rule.rate_seconds):
            self.run(rule)

    def _relay(self, rule: Rule, url: str) -> None:
        sqs = boto3.client("sqs")
        while not self._stop.is_set():
            try:  # a short poll, so that stop() is prompt
                received = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
            except Exception:
                if not self._stop.is_set():
                    log.exception("relay of %s", rule.logical_id)
                self._stop.wait(1)
                continue
            for message in received.get("Messages", []):
                event = json.loads(message["Body"])
                # moto leaves out who put the event; locally that is always this account.
                event.setdefault("account", self.gateway.stack.account_id)
                self.run(rule, event)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def stop(self, timeout: float = 0.5) -> None:
        """Stop, waiting ``timeout`` at most: a relay in its 1 s poll ends on its own."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0))
