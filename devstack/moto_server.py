"""An in-process moto server: every AWS service at one local endpoint."""

from __future__ import annotations

import logging
import os
import urllib.request
from types import TracebackType

from .template import DEFAULT_REGION

__all__ = ["EmbeddedAWS", "silence_werkzeug", "use_local_endpoint"]


def silence_werkzeug() -> None:
    """Keep werkzeug's per-request log quiet (it installs its own INFO handler otherwise)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


def use_local_endpoint(endpoint_url: str, *, dummy_credentials: bool) -> None:
    """Point every boto3 client in this process (the functions' too) at ``endpoint_url``."""
    if dummy_credentials:
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
            os.environ.pop(name, None)
        os.environ["AWS_ACCESS_KEY_ID"] = "testing"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
        os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = DEFAULT_REGION
    else:
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = region or DEFAULT_REGION
    os.environ["AWS_ENDPOINT_URL"] = endpoint_url


class EmbeddedAWS:
    """``moto.server.ThreadedMotoServer`` on a free loopback port, started on creation
    (``start=False`` to defer).

    >>> with EmbeddedAWS() as aws:
    ...     boto3.client("dynamodb", endpoint_url=aws.endpoint_url, region_name="us-east-1")

    moto keeps its state in module globals: every server in one process (and ``mock_aws``)
    shares it, and ``reset()`` clears all of it.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, start: bool = True) -> None:
        self.host = host
        self.port = port
        self._server: object | None = None
        self._endpoint_url: str | None = None
        if start:
            self.start()

    @property
    def endpoint_url(self) -> str:
        if self._endpoint_url is None:
            raise RuntimeError("EmbeddedAWS is not started")
        return self._endpoint_url

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> EmbeddedAWS:
        if self._server is not None:
            return self
        silence_werkzeug()
        from moto.server import ThreadedMotoServer  # slow import: only when needed

        server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        self._server = server
        self.port = port
        shown = f"[{host}]" if ":" in host else host
        self._endpoint_url = f"http://{shown}:{port}"
        return self

    def reset(self) -> None:
        """Forget every resource in every service (``POST /moto-api/reset``)."""
        url = f"{self.endpoint_url}/moto-api/reset"  # always http://<loopback>
        request = urllib.request.Request(url, method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            response.read()

    def stop(self) -> None:
        server, self._server = self._server, None
        self._endpoint_url = None
        if server is not None:
            server.stop()  # type: ignore[attr-defined]

    def __enter__(self) -> EmbeddedAWS:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
