"""Envelope encryption of secrets with a KMS data key and AES-256-GCM.

Each secret gets its own data key (one GenerateDataKey call), so there is no size
limit from KMS's 4 KB Encrypt cap. The KMS encryption context and the AES-GCM
associated data both name the tenant and the record: a ciphertext copied onto
another record, or another tenant's record, fails to decrypt. Data keys, once
decrypted or generated, are held for a few minutes per warm instance
(keyfob.security.data_keys): reading one account again makes no KMS call.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from keyfob.core import aws
from keyfob.core.config import settings
from keyfob.core.errors import Tampered
from keyfob.models.records.base import EncryptedBlob
from keyfob.security import data_keys

if TYPE_CHECKING:
    from keyfob.models.records.accounts import AccountRecord

_VERSION = 1


def _context(tenant_id: str, record: str) -> dict[str, str]:
    return {"keyfob:tenant": tenant_id, "keyfob:record": record}


def _aad(context: dict[str, str]) -> bytes:
    return json.dumps({"v": _VERSION, **context}, sort_keys=True).encode()


def encrypt(plaintext: dict[str, Any], *, tenant_id: str, record: str) -> EncryptedBlob:
    context = _context(tenant_id, record)
    response = aws.kms().generate_data_key(
        KeyId=settings().kms_key_id, KeySpec="AES_256", EncryptionContext=context
    )
    data_keys.put(response["CiphertextBlob"], context, response["Plaintext"])
    return _seal(plaintext, response["Plaintext"], response["CiphertextBlob"], context)


def _seal(
    plaintext: dict[str, Any], key: bytes, edk: bytes, context: dict[str, str]
) -> EncryptedBlob:
    nonce = os.urandom(12)
    data = json.dumps(plaintext, separators=(",", ":")).encode()
    ciphertext = AESGCM(key).encrypt(nonce, data, _aad(context))
    return EncryptedBlob(
        v=_VERSION,
        edk=base64.b64encode(edk).decode(),
        nonce=base64.b64encode(nonce).decode(),
        ct=base64.b64encode(ciphertext).decode(),
    )


def _open(
    blob: EncryptedBlob, context: dict[str, str], record: str
) -> tuple[dict[str, Any], bytes]:
    """The plaintext and the record's data key."""
    edk = base64.b64decode(blob.edk)
    try:
        key = data_keys.get(edk, context) or _decrypt_key(edk, context)
        data = AESGCM(key).decrypt(
            base64.b64decode(blob.nonce), base64.b64decode(blob.ct), _aad(context)
        )
    except InvalidTag as exc:
        raise _integrity_error(record) from exc
    except aws.ClientError as exc:
        if exc.response["Error"]["Code"] != "InvalidCiphertextException":
            raise
        raise _integrity_error(record) from exc
    result: dict[str, Any] = json.loads(data)
    return result, key


def _decrypt_key(edk: bytes, context: dict[str, str]) -> bytes:
    response = aws.kms().decrypt(
        CiphertextBlob=edk, EncryptionContext=context, KeyId=settings().kms_key_id
    )
    key: bytes = response["Plaintext"]
    data_keys.put(edk, context, key)
    return key


def decrypt(blob: EncryptedBlob, *, tenant_id: str, record: str) -> dict[str, Any]:
    return _open(blob, _context(tenant_id, record), record)[0]


def _integrity_error(record: str) -> Tampered:
    return Tampered(
        "secret_integrity_error",
        "A stored secret failed its integrity check and cannot be used",
        {"record": record},
    )


def seal_account(plaintext: dict[str, Any], *, tenant_id: str, account_id: str) -> EncryptedBlob:
    """Encrypt a connected account's secret, bound to that account."""
    return encrypt(plaintext, tenant_id=tenant_id, record=f"ACCOUNT#{account_id}")


def open_account(account: AccountRecord) -> dict[str, Any]:
    """Decrypt a connected account's secret (which it must have)."""
    assert account.secret is not None
    return decrypt(account.secret, tenant_id=account.tenant_id, record=f"ACCOUNT#{account.id}")


def open_for_update(
    account: AccountRecord,
) -> tuple[dict[str, Any], Callable[[dict[str, Any]], EncryptedBlob]]:
    """Decrypt an account's secret, and a function that encrypts its replacement under
    the same data key with a fresh nonce: a token refresh then costs one KMS call, not
    two. The data key stays bound to this tenant and record; random 96-bit nonces allow
    far more encryptions under one key (2^32) than an account ever has refreshes."""
    assert account.secret is not None
    record = f"ACCOUNT#{account.id}"
    context = _context(account.tenant_id, record)
    plaintext, key = _open(account.secret, context, record)
    edk = base64.b64decode(account.secret.edk)
    return plaintext, lambda replacement: _seal(replacement, key, edk, context)
