"""The API keeps to its OpenAPI document: schemathesis generates requests from
``openapi.json`` (valid ones and invalid ones) and sends them through the local gateway.
No answer may be a 5xx, every answer must match its documented schema, and every request
the document calls valid must be accepted (or meet a state that refuses it: 404, 409).

Bounded for ``make test``: KEYFOB_SCHEMATHESIS_EXAMPLES examples per operation (default
30), derandomized so that a run is repeatable."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    positive_data_acceptance,
    response_schema_conformance,
)

from devstack.gateway import Gateway
from tests.conftest import Tenant

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = schemathesis.openapi.from_path(ROOT / "openapi.json")
EXAMPLES = int(os.environ.get("KEYFOB_SCHEMATHESIS_EXAMPLES", "30"))


@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_to_the_document(case: Any, gateway: Gateway, tenant: Tenant) -> None:
    case.call_and_validate(
        base_url=gateway.url,
        headers={"x-api-key": tenant.api_key},
        checks=[not_a_server_error, response_schema_conformance, positive_data_acceptance],
    )
