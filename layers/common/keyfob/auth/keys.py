"""Private keys a connection or an integration gives in PEM (a JWT assertion's signing
key), checked when given so that a bad one is a clear 4xx, never a failed call later."""

from __future__ import annotations


def signing_key_problem(pem: str) -> str | None:
    """Why ``pem`` is not an RSA or EC private key Keyfob can sign with, or None."""
    from joserfc.errors import JoseError
    from joserfc.jwk import ECKey, RSAKey

    for kind in (RSAKey, ECKey):
        try:
            key = kind.import_key(pem)
        except (JoseError, ValueError, TypeError):
            continue
        return None if key.is_private else "is a public key, not a private key"
    return "is not an RSA or EC private key in PEM"
