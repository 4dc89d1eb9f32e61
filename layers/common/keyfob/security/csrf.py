"""CSRF protection of the hosted connect page's form, with nothing stored per page view.

The form carries a token that is an HMAC, keyed with the connect link's own secret
token, of a random value the page also sets in a cookie (HttpOnly, SameSite=Strict, and
Secure with a __Host- name except on plain-http loopback). A POST must bring both,
matching, and must not come from another site (Sec-Fetch-Site).
"""

from __future__ import annotations

import hmac
import secrets

FIELD = "csrf_token"


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def form_token(link_token: str, nonce: str) -> str:
    return hmac.new(
        link_token.encode(), f"connect-page-csrf:{nonce}".encode(), "sha256"
    ).hexdigest()


def cookie_name(link_hash: str, secure: bool) -> str:
    # One per link, so that two links open in two tabs do not undo each other's form.
    name = f"keyfob_csrf_{link_hash[:16]}"
    return f"__Host-{name}" if secure else name


def verified(link_token: str, nonce: str, sent: str, fetch_site: str | None) -> bool:
    """Whether a POST's form token goes with its cookie's nonce, from this site."""
    cross_site = fetch_site not in (None, "same-origin")
    return (
        not cross_site and bool(nonce) and hmac.compare_digest(sent, form_token(link_token, nonce))
    )
