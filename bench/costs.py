"""Cost per million operations at AWS list prices (us-east-1, on demand, arm64), from
what bench/aws_calls.py measured of each operation: its AWS calls (with the request
units each one consumes), and its Lambda duration and memory.

Request units are modelled from each call's parameters: a GetItem or a Query page of
small items is one read unit strongly consistent, half otherwise; a write is one write
unit per item (two in a transaction); a PutEvents entry is one event. Not modelled:
items over 4 KB read / 1 KB written, the writes that a global secondary index adds,
CloudWatch (logs, metrics) and data transfer. Check the prices before quoting them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# USD, us-east-1 list prices (platform notes; https://aws.amazon.com/pricing).
HTTP_API_REQUEST = 1.00 / 1e6
LAMBDA_REQUEST = 0.20 / 1e6
LAMBDA_GB_SECOND = 0.0000133334  # arm64
DYNAMODB_READ_UNIT = 0.125 / 1e6
DYNAMODB_WRITE_UNIT = 0.625 / 1e6
KMS_REQUEST = 0.03 / 1e4
EVENTBRIDGE_EVENT = 1.00 / 1e6
# Amazon Bedrock AgentCore Identity: $0.010 per 1,000 token or API key requests
# (aws.amazon.com/bedrock/agentcore/pricing; waived inside AgentCore Runtime / Gateway).
AGENTCORE_IDENTITY_REQUEST = 0.010 / 1e3

_READS = {"GetItem", "Query", "Scan"}
_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}


def units(operation: str, params: Mapping[str, Any]) -> Counter[str]:
    """The billed units one AWS call consumes: RRU, WRU, KMS, events."""
    consistent = 1.0 if params.get("ConsistentRead") else 0.5
    if operation in _READS:
        return Counter({"RRU": consistent})
    if operation == "BatchGetItem":
        keys = sum(len(t.get("Keys", [])) for t in params.get("RequestItems", {}).values())
        return Counter({"RRU": 0.5 * keys})
    if operation in _WRITES:
        return Counter({"WRU": 1.0})
    if operation == "BatchWriteItem":
        return Counter({"WRU": float(sum(map(len, params.get("RequestItems", {}).values())))})
    if operation == "TransactWriteItems":
        return Counter({"WRU": 2.0 * len(params.get("TransactItems", []))})
    if operation == "TransactGetItems":
        return Counter({"RRU": 2.0 * len(params.get("TransactItems", []))})
    if operation in {"Decrypt", "GenerateDataKey", "Encrypt"}:
        return Counter({"KMS": 1.0})
    if operation == "PutEvents":
        return Counter({"events": float(len(params.get("Entries", [])))})
    return Counter()


@dataclass(frozen=True)
class Cost:
    http_api: float
    lambda_: float
    dynamodb: float
    kms: float
    events: float

    @property
    def total(self) -> float:
        return self.http_api + self.lambda_ + self.dynamodb + self.kms + self.events


def cost(
    used: Mapping[str, float], duration_ms: float, memory_mb: int, *, via_api: bool = True
) -> Cost:
    """One operation's cost in USD."""
    billed_seconds = math.ceil(duration_ms) / 1000
    return Cost(
        http_api=HTTP_API_REQUEST if via_api else 0.0,
        lambda_=LAMBDA_REQUEST + billed_seconds * memory_mb / 1024 * LAMBDA_GB_SECOND,
        dynamodb=used.get("RRU", 0) * DYNAMODB_READ_UNIT + used.get("WRU", 0) * DYNAMODB_WRITE_UNIT,
        kms=used.get("KMS", 0) * KMS_REQUEST,
        events=used.get("events", 0) * EVENTBRIDGE_EVENT,
    )
