"""The per-instance data-key cache, against a real KMS API (the session's moto server):
KMS calls counted with botocore's own event hooks."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from keyfob.core import aws
from keyfob.core.errors import Tampered
from keyfob.security import crypto, data_keys


@pytest.fixture
def kms_calls(stack_env: dict[str, str]) -> Iterator[list[str]]:
    made: list[str] = []

    def count(model: object, **_: object) -> None:
        made.append(model.name)  # type: ignore[attr-defined]

    client = aws.kms()
    client.meta.events.register("before-call.kms", count)
    data_keys.clear()
    yield made
    client.meta.events.unregister("before-call.kms", count)
    data_keys.clear()


def test_ten_reads_of_one_secret_make_one_kms_call(kms_calls: list[str]) -> None:
    blob = crypto.seal_account({"access_token": "tok"}, tenant_id="tn_a", account_id="ca_1")
    data_keys.clear()  # another instance wrote it: this one starts cold
    kms_calls.clear()

    for _ in range(10):
        assert crypto.decrypt(blob, tenant_id="tn_a", record="ACCOUNT#ca_1") == {
            "access_token": "tok"
        }

    assert kms_calls == ["Decrypt"]
    assert data_keys.stats.hits == 9
    assert data_keys.stats.misses == 1


def test_a_secret_written_here_reads_back_without_kms(kms_calls: list[str]) -> None:
    blob = crypto.seal_account({"k": "v"}, tenant_id="tn_a", account_id="ca_2")
    assert kms_calls == ["GenerateDataKey"]
    assert crypto.decrypt(blob, tenant_id="tn_a", record="ACCOUNT#ca_2") == {"k": "v"}
    assert kms_calls == ["GenerateDataKey"]


def test_a_cached_key_opens_nothing_under_another_context(kms_calls: list[str]) -> None:
    """The cache is keyed by the encryption context too: another tenant or record asks
    KMS, which refuses, as without the cache."""
    blob = crypto.encrypt({"k": "v"}, tenant_id="tn_a", record="ACCOUNT#1")
    crypto.decrypt(blob, tenant_id="tn_a", record="ACCOUNT#1")
    kms_calls.clear()

    with pytest.raises(Tampered):
        crypto.decrypt(blob, tenant_id="tn_b", record="ACCOUNT#1")

    assert kms_calls == ["Decrypt"]


def test_entries_expire_and_the_cache_is_bounded() -> None:
    assert data_keys.TTL_SECONDS <= 300
    assert data_keys._cache.maxsize == data_keys.MAX_KEYS
    assert data_keys._cache.ttl == data_keys.TTL_SECONDS


def test_a_key_never_shows_in_a_repr_or_a_log(caplog: pytest.LogCaptureFixture) -> None:
    material = bytes(range(32))
    data_keys.clear()
    data_keys.put(b"edk", {"keyfob:tenant": "tn_a"}, material)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").info("cache %r", data_keys._cache)
    shown = repr(data_keys._cache) + caplog.text
    assert material.hex() not in shown
    assert repr(material) not in shown
    assert "hidden" in shown
    data_keys.clear()
