"""Credentials the user gives as they are: an API key, a bearer token, a username and
password. Nothing to redirect to, refresh or revoke: the app's own owner revokes them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keyfob.auth.base import Begun, Context, Family


class Static(Family):
    redirects = False
    renews = False
    revocable = False

    def begin(self, context: Context, secret: Mapping[str, Any], redirect_uri: str) -> Begun:
        return Begun(credential=dict(secret))
