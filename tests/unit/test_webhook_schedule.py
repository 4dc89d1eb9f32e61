"""When a failed webhook delivery is tried again: the schedule's wait with jitter, at
least what the endpoint's Retry-After asks (within the schedule's longest wait), and
nothing after the last; the wait a Retry-After header gives (seconds or a date)."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from keyfob.core.config import settings
from keyfob.services.webhook_delivery import next_wait, retry_after

SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)


@pytest.fixture(autouse=True)
def default_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEYFOB_WEBHOOK_RETRY_SECONDS", raising=False)
    settings.cache_clear()


def test_the_schedule_spans_about_a_day_in_eight_attempts() -> None:
    assert settings().webhook_retry_seconds == SCHEDULE
    assert 24 * 3600 < sum(SCHEDULE) < 30 * 3600


@pytest.mark.parametrize("attempt", range(1, len(SCHEDULE) + 1))
def test_each_wait_is_the_schedules_within_twenty_percent(attempt: int) -> None:
    waits = {next_wait(attempt, None) for _ in range(50)}
    base = SCHEDULE[attempt - 1]
    assert all(w is not None and 0.8 * base <= w <= 1.2 * base for w in waits)
    assert len(waits) > 1  # jittered: endpoints that failed together do not retry together


def test_after_the_last_attempt_there_is_no_other() -> None:
    assert next_wait(len(SCHEDULE) + 1, None) is None
    assert next_wait(len(SCHEDULE) + 1, 10.0) is None


def test_retry_after_lengthens_a_wait_within_the_longest_one() -> None:
    wait = next_wait(1, 120.0)
    assert wait == 120.0
    assert next_wait(1, 10 * 86400.0) == max(SCHEDULE)  # no endpoint holds a message for days
    shorter = next_wait(3, 1.0)  # never sooner than the schedule
    assert shorter is not None and shorter >= 0.8 * SCHEDULE[2]


def test_retry_after_is_read_as_seconds_or_an_http_date() -> None:
    assert retry_after("120") == 120.0
    in_a_minute = retry_after(formatdate(time.time() + 60, usegmt=True))
    assert in_a_minute is not None and 55 <= in_a_minute <= 61
    assert retry_after(formatdate(time.time() - 60, usegmt=True)) == 0.0
    for unreadable in (None, "", "soon", "-5"):
        assert retry_after(unreadable) is None
