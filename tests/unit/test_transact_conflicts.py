"""A transaction DynamoDB cancels with no failed condition (a conflict, throttling) is
tried again; one whose condition failed is not (the caller reads that as what it means)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from keyfob.store import table


def _cancelled(*codes: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": code} for code in codes],
        },
        "TransactWriteItems",
    )


class _Client:
    def __init__(self, *failures: ClientError) -> None:
        self.failures = list(failures)
        self.calls = 0

    def transact_write_items(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return {}


def test_given_a_conflict_when_writing_then_the_transaction_is_tried_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = _Client(_cancelled("None", "TransactionConflict"), _cancelled("ThrottlingError"))
    monkeypatch.setattr(table, "client", lambda: fake)

    table.transact([{}, {}])

    assert fake.calls == 3


def test_given_a_failed_condition_when_writing_then_it_is_raised_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = _Client(_cancelled("ConditionalCheckFailed", "None"))
    monkeypatch.setattr(table, "client", lambda: fake)

    with pytest.raises(ClientError):
        table.transact([{}, {}])
    assert fake.calls == 1


def test_given_conflicts_that_last_when_writing_then_it_gives_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = _Client(*[_cancelled("TransactionConflict")] * 10)
    monkeypatch.setattr(table, "client", lambda: fake)

    with pytest.raises(ClientError):
        table.transact([{}])
    assert fake.calls == 4
