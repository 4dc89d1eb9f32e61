"""EventBridge's rules, locally: each ``rate()`` schedule run by a thread, each event
pattern through an SQS relay (moto delivers events to SQS but cannot invoke a Lambda
target). Unlike AWS: a rule's function error is logged, not retried nor dead-lettered;
``cron()`` schedules are listed, not run."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import uuid
from collections.abc import Callable
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
        self.skipped = [rule for rule in rules if rule not in (*self.scheduled, *self.relayed)]

    def name(self, rule: Rule) -> str:
        return f"{self.gateway.stack.stack_name}-{rule.logical_id}"[:64]

    def start(self) -> Rules:
        work: list[tuple[Callable[[Rule, str], None], Rule, str]]
        work = [(self._schedule, rule, "") for rule in self.scheduled]
        work += [(self._relay, rule, self._subscribe(rule)) for rule in self.relayed]
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
