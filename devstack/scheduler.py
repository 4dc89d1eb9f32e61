"""EventBridge schedules for the local stack: each function's ``Schedule`` event with a
``rate(...)`` runs it at that rate, with the event EventBridge sends ("Scheduled Event"),
in a background thread. ``cron(...)`` schedules are listed but not run.
"""

from __future__ import annotations

import datetime as _dt
import logging
import threading
import uuid
from typing import Any

from .gateway import Gateway
from .runtime import FunctionError
from .template import ScheduleSpec

log = logging.getLogger("devstack")

__all__ = ["Scheduler", "scheduled_event"]


def scheduled_event(gateway: Gateway, schedule: ScheduleSpec) -> dict[str, Any]:
    """What EventBridge delivers to a scheduled function."""
    rule = f"{gateway.stack_name}-{schedule.function_id}{schedule.event_name}"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": gateway.account_id,
        "time": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": gateway.region,
        "resources": [f"arn:aws:events:{gateway.region}:{gateway.account_id}:rule/{rule}"],
        "detail": {},
    }


class Scheduler:
    """Runs the template's rate() schedules against a started gateway's functions."""

    def __init__(self, gateway: Gateway, schedules: list[ScheduleSpec]) -> None:
        self.gateway = gateway
        self.schedules = [s for s in schedules if s.enabled and s.rate_seconds]
        self.skipped = [s for s in schedules if s not in self.schedules]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> Scheduler:
        for schedule in self.schedules:
            thread = threading.Thread(
                target=self._loop,
                args=(schedule,),
                name=f"schedule-{schedule.function_id}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        return self

    def run_once(self, schedule: ScheduleSpec) -> Any:
        """Invoke the schedule's function now; returns its result (None if it failed)."""
        try:
            result = self.gateway.invoke(
                schedule.function_id, scheduled_event(self.gateway, schedule)
            )
        except FunctionError as error:
            log.error("%s (%s) failed: %s", schedule.function_id, schedule.expression, error)
            return None
        log.info("%s (%s): %s", schedule.function_id, schedule.expression, result)
        return result

    def _loop(self, schedule: ScheduleSpec) -> None:
        assert schedule.rate_seconds
        # Like EventBridge: the first run one period after the rule exists.
        while not self._stop.wait(schedule.rate_seconds):
            self.run_once(schedule)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=1)
