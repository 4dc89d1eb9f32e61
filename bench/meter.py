"""The meter of bench/aws_calls.py: every DynamoDB, KMS and EventBridge call Keyfob's
clients make, counted with botocore's event hooks, and the units each bills, per
operation run inside ``counted``."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# bench/costs.py: beside this script, on the path when it runs.
import costs

calls: Counter[tuple[str, str]] = Counter()
used: Counter[str] = Counter()  # billed units: RRU, WRU, KMS, events
# operation -> (billed units, milliseconds)
measured: dict[str, tuple[Counter[str], float]] = {}


def _count(model: Any, **_: Any) -> None:
    calls[(model.service_model.service_name, model.name)] += 1


def _units(model: Any, params: Any, **_: Any) -> None:
    """The call's parameters as the caller gave them (before-call has them serialised)."""
    used.update(costs.units(model.name, params))


@contextmanager
def counted(results: dict[str, Counter[tuple[str, str]]], name: str) -> Iterator[None]:
    calls.clear()
    used.clear()
    start = time.perf_counter()
    yield
    measured[name] = (Counter(used), (time.perf_counter() - start) * 1000)
    results[name] = Counter(calls)


# what the data-key cache answered, per measured case
hit_rates: dict[str, float] = {}


def attach(*clients: Any) -> None:
    """Count the calls of these botocore clients from now on."""
    for client in clients:
        client.meta.events.register("before-call", _count)
        client.meta.events.register("before-parameter-build", _units)
