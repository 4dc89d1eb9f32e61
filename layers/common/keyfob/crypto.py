"""Envelope encryption of secrets with a KMS data key and AES-256-GCM.

Each secret gets its own data key (one GenerateDataKey call), so there is no size
limit from KMS's 4 KB Encrypt cap. The KMS encryption context and the AES-GCM
associated data both name the tenant and the record: a ciphertext copied onto
another record, or another tenant's record, fails to decrypt.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from keyfob import aws
from keyfob.config import settings
from keyfob.errors import IntegrityError
from keyfob.models import EncryptedBlob

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
    nonce = os.urandom(12)
    data = json.dumps(plaintext, separators=(",", ":")).encode()
    ciphertext = AESGCM(response["Plaintext"]).encrypt(nonce, data, _aad(context))
    return EncryptedBlob(
        v=_VERSION,
        edk=base64.b64encode(response["CiphertextBlob"]).decode(),
        nonce=base64.b64encode(nonce).decode(),
        ct=base64.b64encode(ciphertext).decode(),
    )


def decrypt(blob: EncryptedBlob, *, tenant_id: str, record: str) -> dict[str, Any]:
    context = _context(tenant_id, record)
    try:
        response = aws.kms().decrypt(
            CiphertextBlob=base64.b64decode(blob.edk),
            EncryptionContext=context,
            KeyId=settings().kms_key_id,
        )
        data = AESGCM(response["Plaintext"]).decrypt(
            base64.b64decode(blob.nonce), base64.b64decode(blob.ct), _aad(context)
        )
    except InvalidTag as exc:
        raise _integrity_error(record) from exc
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "InvalidCiphertextException":
            raise
        raise _integrity_error(record) from exc
    result: dict[str, Any] = json.loads(data)
    return result


def _integrity_error(record: str) -> IntegrityError:
    return IntegrityError(
        "secret_integrity_error",
        "A stored secret failed its integrity check and cannot be used",
        {"record": record},
    )
