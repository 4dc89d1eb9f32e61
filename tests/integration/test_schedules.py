"""The template's schedules, run by the local stack as EventBridge runs them."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.gateway import Gateway
from devstack.scheduler import Scheduler, scheduled_event
from devstack.template import ScheduleSpec, Template

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(5 minutes)", 300),
        ("rate(1 minute)", 60),
        ("rate(2 hours)", 7200),
        ("rate(1 day)", 86400),
        ("cron(0 12 * * ? *)", None),
    ],
)
def test_rate_expressions_give_their_period(expression: str, seconds: int | None) -> None:
    assert ScheduleSpec("Fn", "Every", expression).rate_seconds == seconds


def test_the_template_schedules_the_sweep_every_five_minutes() -> None:
    schedules = Template.load(ROOT / "template.yaml").schedules()
    assert [(s.function_id, s.rate_seconds, s.enabled) for s in schedules] == [
        ("SweepFunction", 300, True)
    ]


def test_a_scheduled_run_gets_eventbridges_event_and_its_result_is_returned(
    gateway: Gateway,
) -> None:
    schedule = ScheduleSpec("SweepFunction", "EveryFiveMinutes", "rate(5 minutes)")
    event = scheduled_event(gateway, schedule)
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["resources"][0].endswith(":rule/keyfob-local-SweepFunctionEveryFiveMinutes")

    counts = Scheduler(gateway, [schedule]).run_once(schedule)

    assert isinstance(counts, dict)


def test_cron_and_disabled_schedules_are_listed_but_not_run(gateway: Gateway) -> None:
    cron = ScheduleSpec("SweepFunction", "Nightly", "cron(0 3 * * ? *)")
    off = ScheduleSpec("SweepFunction", "Off", "rate(5 minutes)", enabled=False)
    scheduler = Scheduler(gateway, [cron, off]).start()
    try:
        assert scheduler.schedules == []
        assert scheduler.skipped == [cron, off]
    finally:
        scheduler.stop()
