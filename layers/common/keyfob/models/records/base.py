"""What every record shares: the base model, and an encrypted value as stored."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Record(BaseModel):
    # A newer writer's extra attributes do not break an older reader.
    model_config = ConfigDict(extra="ignore", defer_build=True)


class EncryptedBlob(Record):
    """What is stored: never the plaintext, never the plaintext data key."""

    v: int
    edk: str  # KMS-encrypted data key, base64
    nonce: str  # 96-bit GCM nonce, base64
    ct: str  # ciphertext with the GCM tag, base64
