"""Envelope encryption against a real KMS API (the session's moto server)."""

from __future__ import annotations

import base64

import pytest

from keyfob.core.errors import Tampered
from keyfob.security import crypto


@pytest.fixture(autouse=True)
def _kms(stack_env: dict[str, str]) -> None:
    """The session's moto server and KMS key."""


def test_round_trip_binds_tenant_and_record() -> None:
    blob = crypto.encrypt({"access_token": "tok"}, tenant_id="tn_a", record="ACCOUNT#1")
    assert "tok" not in blob.model_dump_json()
    assert crypto.decrypt(blob, tenant_id="tn_a", record="ACCOUNT#1") == {"access_token": "tok"}


@pytest.mark.parametrize(("tenant", "record"), [("tn_b", "ACCOUNT#1"), ("tn_a", "ACCOUNT#2")])
def test_blob_does_not_decrypt_for_another_tenant_or_record(tenant: str, record: str) -> None:
    blob = crypto.encrypt({"k": "v"}, tenant_id="tn_a", record="ACCOUNT#1")
    with pytest.raises(Tampered):
        crypto.decrypt(blob, tenant_id=tenant, record=record)


def test_tampered_ciphertext_fails_its_integrity_check() -> None:
    blob = crypto.encrypt({"k": "v"}, tenant_id="tn_a", record="ACCOUNT#1")
    raw = bytearray(base64.b64decode(blob.ct))
    raw[0] ^= 1
    tampered = blob.model_copy(update={"ct": base64.b64encode(bytes(raw)).decode()})
    with pytest.raises(Tampered):
        crypto.decrypt(tampered, tenant_id="tn_a", record="ACCOUNT#1")


def test_token_sets_far_beyond_kms_4kb_limit_round_trip() -> None:
    big = {"access_token": "a" * 20_000, "id_token": "b" * 12_000}
    blob = crypto.encrypt(big, tenant_id="tn_a", record="ACCOUNT#big")
    assert crypto.decrypt(blob, tenant_id="tn_a", record="ACCOUNT#big") == big


def test_each_encryption_uses_a_fresh_data_key_and_nonce() -> None:
    first = crypto.encrypt({"k": "v"}, tenant_id="tn_a", record="ACCOUNT#1")
    second = crypto.encrypt({"k": "v"}, tenant_id="tn_a", record="ACCOUNT#1")
    assert first.edk != second.edk
    assert first.nonce != second.nonce


def test_an_account_secret_is_resealed_under_its_own_data_key_with_a_fresh_nonce() -> None:
    from keyfob.models.records.accounts import AccountRecord

    blob = crypto.seal_account({"refresh_token": "r1"}, tenant_id="tn_a", account_id="ca_1")
    account = AccountRecord.model_validate(
        {
            "tenant_id": "tn_a",
            "id": "ca_1",
            "integration_id": "int_1",
            "app": "oauth2",
            "auth_scheme": "OAUTH2",
            "entity_id": "e",
            "status": "ACTIVE",
            "secret": blob.model_dump(),
            "created_at": "2026-01-01T00:00:00.000000Z",
            "updated_at": "2026-01-01T00:00:00.000000Z",
        }
    )
    current, reseal = crypto.open_for_update(account)
    assert current == {"refresh_token": "r1"}

    replaced = reseal({"refresh_token": "r2"})

    assert replaced.edk == blob.edk  # no new data key: one KMS call per refresh
    assert replaced.nonce != blob.nonce
    assert crypto.open_account(account.model_copy(update={"secret": replaced})) == {
        "refresh_token": "r2"
    }
    # Still bound to its record: it does not open as another account's secret
    with pytest.raises(Tampered):
        crypto.decrypt(replaced, tenant_id="tn_a", record="ACCOUNT#ca_2")
