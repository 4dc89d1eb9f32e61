"""The client's unit tests talk to a scripted stub of the API on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from keyfob_client import Client
from tests.unit.stub_api import API_KEY, StubApi


@pytest.fixture(scope="session")
def stub_server() -> Iterator[StubApi]:
    server = StubApi().start()
    yield server
    server.stop()


@pytest.fixture
def stub(stub_server: StubApi) -> StubApi:
    stub_server.reset()
    return stub_server


@pytest.fixture
def client(stub: StubApi) -> Client:
    return Client(stub.url, API_KEY, timeout=2.0)
