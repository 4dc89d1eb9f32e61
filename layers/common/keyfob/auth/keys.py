"""Private keys a connection or an integration gives in PEM (a JWT assertion's signing
key), checked when given so that a bad one is a clear 4xx, never a failed call later."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from joserfc.jwk import ECKey, RSAKey


def signing_key(pem: str) -> RSAKey | ECKey:
    """The RSA or EC private key in ``pem``; ValueError says why it is none."""
    from joserfc.errors import JoseError
    from joserfc.jwk import ECKey, RSAKey

    for kind in (RSAKey, ECKey):
        try:
            key = kind.import_key(pem)
        except (JoseError, ValueError, TypeError):
            continue
        if not key.is_private:
            raise ValueError("is a public key, not a private key")
        return key
    raise ValueError("is not an RSA or EC private key in PEM")


def signing_key_problem(pem: str) -> str | None:
    """Why ``pem`` is not a private key Keyfob can sign with, or None."""
    try:
        signing_key(pem)
    except ValueError as problem:
        return str(problem)
    return None
