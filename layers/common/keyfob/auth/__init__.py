"""Auth scheme families behind one interface (``keyfob.auth.base.Family``): one module
per family. A family's module, and what it imports (Authlib, requests), loads only
when a connection of that family is worked on."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from keyfob.catalog.names import AuthScheme

if TYPE_CHECKING:
    from keyfob.auth.base import Family


@cache
def family(scheme: AuthScheme) -> Family:
    if scheme is AuthScheme.OAUTH2:
        from keyfob.auth.oauth2 import OAuth2

        return OAuth2()
    if scheme is AuthScheme.OAUTH1:
        from keyfob.auth.oauth1 import OAuth1

        return OAuth1()
    if scheme is AuthScheme.GITHUB_APP:
        from keyfob.auth.github_app import GitHubApp

        return GitHubApp()
    if scheme is AuthScheme.TWO_STEP:
        from keyfob.auth.two_step import TwoStep

        return TwoStep()
    if scheme is AuthScheme.JWT_BEARER:
        from keyfob.auth.jwt_bearer import JwtBearer

        return JwtBearer()
    if scheme is AuthScheme.OAUTH2_CLIENT_CREDENTIALS:
        from keyfob.auth.m2m import ClientCredentials

        return ClientCredentials()
    from keyfob.auth.static import Static

    return Static()
