"""One call of a token endpoint that is not OAuth 2.0's code flow (a JWT bearer grant, a
two-step exchange), read the way Keyfob reads every provider answer: bounded in size,
a 5xx, a 429 or a time-out transient, an RFC 6749 error code kept and nothing else of
the provider's text. Through the egress guard, never following a redirect."""

from __future__ import annotations

import json
import re
from typing import Any

from keyfob.auth.base import GrantError
from keyfob.security import http

_MAX_ANSWER = 64 * 1024
_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def call(method: str, url: str, **request: Any) -> dict[str, Any]:
    """The endpoint's JSON answer; raises GrantError."""
    import requests

    headers = {"Accept": "application/json", **request.pop("headers", {})}
    try:
        response = http.session().request(
            method,
            url,
            headers=headers,
            timeout=http.timeout(),
            allow_redirects=False,
            stream=True,
            **request,
        )
        with response:
            body = response.raw.read(_MAX_ANSWER + 1, decode_content=True)
    except requests.Timeout:
        raise GrantError("token endpoint timed out", transient=True) from None
    except requests.RequestException:
        raise GrantError("token endpoint could not be reached", transient=True) from None
    if len(body) > _MAX_ANSWER:
        raise GrantError("token endpoint response too large")
    status = response.status_code
    if status >= 500 or status == 429:
        raise GrantError(f"token endpoint returned HTTP {status}", transient=True)
    try:
        payload = json.loads(body) if body else None
    except ValueError:
        payload = None
    if not 200 <= status < 300:
        error = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(error, str) and _ERROR_CODE.match(error):
            raise GrantError(f"token endpoint refused the grant: {error}", error=error)
        raise GrantError(f"token endpoint returned HTTP {status}")
    if not isinstance(payload, dict):
        raise GrantError("token endpoint answered no JSON object")
    return payload
