"""moto's server, as the local stack runs it (devstack.moto_dynamodb: writes one at a time,
a transaction's rollback per item, queries without sorting the table), every request held
``latency_ms`` first as AWS's network and service time would hold it (threaded: calls
overlap).

Usage: latent_moto.py PORT LATENCY_MS
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from moto.moto_server import werkzeug_app as moto
from werkzeug.serving import run_simple

from devstack.moto_dynamodb import moto_app


def main(port: int, latency_ms: float) -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = moto_app()

    def latent(environ: dict[str, Any], start_response: Any) -> Any:
        time.sleep(latency_ms / 1000)
        return app(environ, start_response)

    run_simple("127.0.0.1", port, latent, threaded=True, request_handler=moto.MotoRequestHandler)


if __name__ == "__main__":
    main(int(sys.argv[1]), float(sys.argv[2]))
