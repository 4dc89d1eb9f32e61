"""Outbound HTTP that reaches public addresses only: the guard against SSRF.

Every URL Keyfob calls is named by a tenant (an integration's API base URL, token or
revocation endpoint) or filled from an end user's params. Checking the URL's host name
is not enough: a name can resolve to an internal address, or be re-pointed there
between a check and the connection (DNS rebinding). So the check is on the socket: the
address it actually connected to, before a byte is sent, for every new connection.
Loopback is allowed only with KEYFOB_ALLOW_HTTP_LOOPBACK (the local stack and tests).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from keyfob.core.config import settings

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class DestinationRefused(requests.ConnectionError):
    """The connection reached an address Keyfob does not call. A ConnectionError, so
    that callers that only tell "reachable or not" treat it as unreachable."""

    def __init__(self, host: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(f"{host} resolves to an address Keyfob does not call", *args, **kwargs)
        self.host = host


class _Refused(Exception):
    """Raised inside urllib3, which would wrap an OSError into a generic failure."""

    def __init__(self, host: str) -> None:
        super().__init__(host)
        self.host = host


def allowed(address: str) -> bool:
    """Whether Keyfob may connect to this IP address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4 address inside an IPv6 one reaches the IPv4 address: judge that one.
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            ip = embedded
    if ip.is_loopback:
        return settings().allow_http_loopback
    return ip.is_global and not ip.is_multicast


def _checked(sock: socket.socket, host: str) -> socket.socket:
    if not allowed(sock.getpeername()[0]):
        sock.close()
        raise _Refused(host)
    return sock


class _HTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _checked(super()._new_conn(), self.host)


class _HTTPSConnection(HTTPSConnection):
    # Checked before the TLS handshake: not even a ClientHello goes to a refused address.
    def _new_conn(self) -> socket.socket:
        return _checked(super()._new_conn(), self.host)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().send(request, *args, **kwargs)
        except _Refused as refused:
            raise DestinationRefused(refused.host, request=request) from None


def guard(session: requests.Session) -> requests.Session:
    """Make every connection of a session checked (an Authlib OAuth session included).
    It then ignores the environment's proxy settings and .netrc: through a proxy the
    checked address would be the proxy's, and .netrc would add credentials nobody asked
    for."""
    session.trust_env = False
    adapter = _Adapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
