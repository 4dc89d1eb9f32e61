"""Servers in this process, on loopback: moto's (every AWS service at one endpoint), and the
threaded werkzeug server that it, the gateway and the OAuth provider run on."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from .moto_dynamodb import moto_app
from .template import DEFAULT_REGION


def serve(
    app: Callable[..., Iterable[bytes]], host: str, port: int, **kwargs: Any
) -> BaseWSGIServer:
    """``app`` served by a thread per request, from a daemon thread, without request log."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server(host, port, app, threaded=True, **kwargs)
    server.block_on_close = False  # type: ignore[attr-defined]  # close() waits for no request
    threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True).start()
    return server


def close(server: BaseWSGIServer) -> None:
    server.shutdown()
    server.server_close()


def use_local_endpoint(endpoint_url: str, *, dummy_credentials: bool) -> None:
    """Point every boto3 client in this process (the functions' too) at ``endpoint_url``;
    with ``dummy_credentials``, moto's credentials and region, whatever the shell's."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if dummy_credentials:
        region = None
        for name in (
            "PROFILE",
            "DEFAULT_PROFILE",
            "SESSION_TOKEN",
            "ACCESS_KEY_ID",
            "SECRET_ACCESS_KEY",
        ):
            os.environ.pop(f"AWS_{name}", None)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = region or DEFAULT_REGION
    os.environ["AWS_ENDPOINT_URL"] = endpoint_url


class EmbeddedAWS:
    """moto's server on a free loopback port, started on creation, its DynamoDB made to
    behave like DynamoDB where our tests see it (moto_dynamodb). moto keeps its state in
    module globals: every server in one process shares it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        from moto.moto_server import werkzeug_app as moto  # slow import: only when needed

        self._server = serve(moto_app(), host, port, request_handler=moto.MotoRequestHandler)
        self.endpoint_url = f"http://{host}:{self._server.server_port}"

    def stop(self) -> None:
        close(self._server)

    def __enter__(self) -> EmbeddedAWS:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
