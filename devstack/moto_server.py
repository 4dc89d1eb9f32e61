"""An in-process moto server: every AWS service at one loopback endpoint."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from .template import DEFAULT_REGION

__all__ = ["EmbeddedAWS", "silence_werkzeug", "use_local_endpoint"]

_DYNAMODB_WRITES = {
    f"DynamoDB_20120810.{operation}"
    for operation in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
}


def silence_werkzeug() -> None:
    """Keep werkzeug's per-request log quiet (it installs its own INFO handler otherwise)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


def use_local_endpoint(endpoint_url: str, *, dummy_credentials: bool) -> None:
    """Point every boto3 client in this process (the functions' too) at ``endpoint_url``."""
    if dummy_credentials:
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
            os.environ.pop(name, None)
        os.environ["AWS_ACCESS_KEY_ID"] = os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
        os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = DEFAULT_REGION
    else:
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = region or DEFAULT_REGION
    os.environ["AWS_ENDPOINT_URL"] = endpoint_url


class _SerialWrites:
    """moto's app with DynamoDB's write operations one at a time: DynamoDB serialises the
    writes to an item, moto's server does not (a transaction's condition checks and
    writes interleave with other writes), so a race a test provokes could pass unnoticed."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app, self.lock = app, threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("HTTP_X_AMZ_TARGET") not in _DYNAMODB_WRITES:
            return self.app(environ, start_response)
        with self.lock:
            return list(self.app(environ, start_response))


class EmbeddedAWS:
    """moto's server on a free loopback port, started on creation, DynamoDB writes
    serialised unless ``serialize_writes=False``. moto keeps its state in module globals:
    every server in one process shares it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, serialize_writes: bool = True):
        self.host, self.port, self.serialize_writes = host, port, serialize_writes
        self._server: BaseWSGIServer | None = None
        self.start()

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("EmbeddedAWS is not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> EmbeddedAWS:
        if self._server is not None:
            return self
        silence_werkzeug()
        from moto.moto_server import werkzeug_app as moto  # slow import: only when needed

        app = moto.DomainDispatcherApplication(moto.create_backend_app)
        wrapped = _SerialWrites(app) if self.serialize_writes else app
        server = make_server(
            self.host, self.port, wrapped, threaded=True, request_handler=moto.MotoRequestHandler
        )
        server.block_on_close = False  # type: ignore[attr-defined]  # idle keep-alives
        self._server, self.port = server, server.server_port
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="moto", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> EmbeddedAWS:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
