"""A sweep run out of time stops reading its shard: what is left stays due for the next run,
and a backlog costs it no Query pages beyond what it works."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from keyfob.models.types import Status
from keyfob.services import sweep
from keyfob.store import accounts


def test_given_no_time_left_when_a_shard_is_worked_then_its_backlog_is_not_read_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a shard with a thousand due accounts
    read: list[int] = []

    def due(horizon: str, shards: Any) -> Iterator[accounts.Due]:
        for number in range(1000):
            read.append(number)
            yield accounts.Due(
                tenant_id="tn_1",
                account_id=f"ca_{number}",
                status=Status.ACTIVE,
                refreshable=True,
                due_at="2000-01-01T00:00:00.000000Z",
            )

    monkeypatch.setattr(accounts, "due", due)
    # When a run with less time left than its stop margin gets to it
    counts = sweep.run(lambda: sweep.STOP_MARGIN_MS - 1, [0])
    # Then it took nothing, said it left work, and read no further than the first
    assert counts["DueAccounts"] == 0
    assert counts["DueLeftForNextRun"] == 1
    assert read == [0]
