"""One sweep worker, as SweepWorkerFunction runs it, with a run's budget, on one shard of the
due index or several in turn; prints what it did and the AWS calls it made, as one JSON
line.

Usage: sweep_worker.py SHARD[,SHARD...] LAYER_PATH BUDGET_MS
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from typing import Any


def main(shards: list[int], layer: str, budget_ms: float) -> None:
    sys.path.insert(0, layer)
    from keyfob.core import aws
    from keyfob.services import sweep

    # The emulators share two cores with every worker and answer a Query of a 100,000-item
    # table in a second or more, where DynamoDB takes milliseconds: the SDK's timeouts are
    # lengthened here so that what is measured is Keyfob's work, not moto's pace.
    aws._CONFIG = {**aws._CONFIG, "read_timeout": 120}
    aws._PUBLISH_CONFIG = {**aws._PUBLISH_CONFIG, "read_timeout": 60}

    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.service_model.service_name] += 1

    for client in (aws.dynamodb(), aws.kms(), aws.events()):
        client.meta.events.register("before-call", count)
    started = time.time()
    deadline = time.monotonic() * 1000 + budget_ms
    counts = sweep.run(lambda: int(deadline - time.monotonic() * 1000), shards)
    print(json.dumps({"counts": counts, "calls": calls, "start": started, "end": time.time()}))


if __name__ == "__main__":
    main([int(n) for n in sys.argv[1].split(",")], sys.argv[2], float(sys.argv[3]))
