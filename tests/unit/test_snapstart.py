"""SnapStart's runtime hooks, called as the Lambda runtime calls them: every hook
registered with snapshot_restore_py once a function's handler module is imported."""

from __future__ import annotations

import random

import pytest
from snapshot_restore_py import get_after_restore, get_before_snapshot

from keyfob.core import aws
from keyfob.core.config import settings
from keyfob.security import crypto, data_keys, http
from keyfob.services import integration_secrets
from keyfob.web import handler  # noqa: F401  (registers the hooks, as every function does)


def _run(hooks: list[tuple[object, tuple[object, ...], dict[str, object]]]) -> None:
    for function, args, kwargs in hooks:
        function(*args, **kwargs)  # type: ignore[operator]


@pytest.fixture(autouse=True)
def _kms(stack_env: dict[str, str]) -> None:
    """The session's moto server and KMS key."""


def test_before_the_snapshot_no_decrypted_key_or_secret_is_kept() -> None:
    crypto.encrypt({"k": "v"}, tenant_id="tn_a", record="ACCOUNT#1")
    assert len(data_keys._cache) > 0

    _run(get_before_snapshot())

    assert len(data_keys._cache) == 0


def test_after_a_restore_everything_per_environment_is_made_again() -> None:
    crypto.encrypt({"k": "v"}, tenant_id="tn_a", record="ACCOUNT#1")
    integration_secrets._cache[("tn_a", "int_1")] = object()  # type: ignore[assignment]
    client, config, session = aws.kms(), settings(), http.session()
    random.seed(1234)
    expected_after_same_seed = random.random()
    random.seed(1234)

    _run(get_after_restore())

    assert len(data_keys._cache) == 0
    assert integration_secrets._cache == {}
    # New clients: new credentials from the restored environment, new connection pools.
    assert aws.kms() is not client
    assert settings() is not config
    assert http.session() is not session
    # The snapshot's random state is not the restored environment's.
    assert random.random() != expected_after_same_seed


def test_the_commands_idempotency_store_gets_a_new_client_after_a_restore() -> None:
    from keyfob.services import commands

    commands._idempotent.cache_clear()
    first = commands._idempotent()
    _run(get_after_restore())
    assert commands._idempotent() is not first
