"""A real headless browser: Debian's chromium, driven by Playwright from PyPI.

`make test` (and .ci/run) install chromium when it is missing; Playwright never
downloads a browser of its own. Without chromium the tests here skip, saying why; with
KEYFOB_REQUIRE_BROWSER set (CI) they fail instead, so a machine that should have run
them cannot pass quietly.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
# As root (here and in CI) chromium needs --no-sandbox, which Playwright adds when
# chromium_sandbox is off. The rest keep it off this machine's closed network: without
# them it tries Google's hosts at every start.
_FLAGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        reason = (
            f"no chromium at {CHROMIUM}: `make chromium` installs Debian's package "
            "(apt-get install chromium, as root)"
        )
        if os.environ.get("KEYFOB_REQUIRE_BROWSER"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=_FLAGS, chromium_sandbox=False
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies from other tests) and a page in it. The test
    fails if the page's Content-Security-Policy blocked anything: a form whose redirect
    it blocked would leave the user stranded after their account was made."""
    context = browser.new_context(locale="en-GB")
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    console: list[str] = []
    opened.on("console", lambda message: console.append(message.text))
    yield opened
    context.close()
    assert not [text for text in console if "Content Security Policy" in text], console


@pytest.fixture
def screenshot(page: Any, request: pytest.FixtureRequest) -> Any:
    """Save the page as test-artifacts/browser/<test>-<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@dataclass
class AppServer:
    """The application the end user comes back to: records the query it arrives with."""

    url: str
    arrivals: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def app_server() -> Iterator[AppServer]:
    arrivals: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            arrivals.append(self.path)
            body = b"<!doctype html><html lang='en'><title>Your app</title><h1>Connected</h1>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield AppServer(f"http://127.0.0.1:{server.server_port}/connected", arrivals)
    server.shutdown()
    server.server_close()
