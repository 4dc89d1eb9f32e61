"""The template's schedules, run by the local stack as EventBridge runs them."""

from __future__ import annotations

import pytest

from devstack.gateway import Gateway
from devstack.rules import Rules
from devstack.template import Rule


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
    assert Rule("Every", "Fn", schedule=expression).rate_seconds == seconds


def test_the_template_schedules_the_sweep_every_five_minutes(gateway: Gateway) -> None:
    schedules = [rule for rule in gateway.stack.rules() if rule.schedule]
    assert [(s.function_id, s.rate_seconds, s.enabled) for s in schedules] == [
        ("SweepFunction", 300, True)
    ]


def test_a_scheduled_run_gets_eventbridges_event_and_its_result_is_returned(
    gateway: Gateway,
) -> None:
    schedule = Rule("SweepFunctionEveryFiveMinutes", "SweepFunction", schedule="rate(5 minutes)")
    rules = Rules(gateway, [schedule])
    event = rules.scheduled_event(schedule)
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["resources"][0].endswith(":rule/keyfob-local-SweepFunctionEveryFiveMinutes")

    counts = rules.run(schedule)

    assert isinstance(counts, dict)


def test_cron_and_disabled_schedules_are_listed_but_not_run(gateway: Gateway) -> None:
    cron = Rule("SweepFunctionNightly", "SweepFunction", schedule="cron(0 3 * * ? *)")
    off = Rule("SweepFunctionOff", "SweepFunction", schedule="rate(5 minutes)", enabled=False)
    rules = Rules(gateway, [cron, off]).start()
    try:
        assert rules.scheduled == []
        assert rules.skipped == [cron, off]
    finally:
        rules.stop()
