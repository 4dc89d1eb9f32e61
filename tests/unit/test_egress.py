"""The SSRF guard: which addresses Keyfob connects to, checked on the socket itself, so a
host name that resolves to an internal address is refused before anything is sent."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from keyfob.core.config import settings
from keyfob.security import egress


@pytest.fixture
def loopback_allowed(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[bool]:
    allowed: bool = request.param
    monkeypatch.setenv("KEYFOB_ALLOW_HTTP_LOOPBACK", "true" if allowed else "false")
    settings.cache_clear()
    yield allowed
    settings.cache_clear()


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",  # instance metadata
        "100.64.0.1",  # shared address space
        "0.0.0.0",
        "224.0.0.251",
        "255.255.255.255",
        "fd00::1",
        "fe80::1%eth0",
        "::",
        "::ffff:169.254.169.254",  # IPv4-mapped
        "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata address
        "2002:a9fe:a9fe::1",  # 6to4 of the metadata address
        "ff02::1",
    ],
)
def test_internal_addresses_are_refused(address: str) -> None:
    assert not egress.allowed(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert egress.allowed(address)


@pytest.mark.parametrize("loopback_allowed", [True, False], indirect=True)
@pytest.mark.parametrize("address", ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"])
def test_loopback_only_when_the_setting_allows_it(loopback_allowed: bool, address: str) -> None:
    assert egress.allowed(address) is loopback_allowed


@pytest.fixture(scope="module")
def local_server() -> Iterator[tuple[int, list[str]]]:
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_port, seen
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("loopback_allowed", [False], indirect=True)
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_name_that_resolves_to_loopback_is_refused_before_anything_is_sent(
    loopback_allowed: bool, local_server: tuple[int, list[str]], scheme: str
) -> None:
    port, seen = local_server
    before = len(seen)
    with pytest.raises(egress.DestinationRefused) as refused:
        egress.guard(requests.Session()).get(f"{scheme}://localhost:{port}/secret", timeout=5)
    assert refused.value.host == "localhost"
    assert len(seen) == before


@pytest.mark.parametrize("loopback_allowed", [True], indirect=True)
def test_with_loopback_allowed_the_same_request_goes_through(
    loopback_allowed: bool, local_server: tuple[int, list[str]]
) -> None:
    port, seen = local_server
    response = egress.guard(requests.Session()).get(f"http://localhost:{port}/fine", timeout=5)
    assert response.text == "ok"
    assert seen[-1] == "/fine"


def test_the_session_ignores_proxy_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://10.0.0.1:3128")
    assert egress.guard(requests.Session()).trust_env is False
