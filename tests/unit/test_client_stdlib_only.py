"""keyfob.client and the keyfob command line need nothing beyond the standard library."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SERVER_SIDE = ("boto3", "botocore", "pydantic", "requests", "aws_lambda_powertools", "cryptography")

PROBE = textwrap.dedent(
    """
    import importlib.abc
    import sys

    BLOCKED = set(sys.argv[1:])

    class Unimportable(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                raise ImportError(f"{name} is not installed here")
            return None

    sys.meta_path.insert(0, Unimportable())

    import keyfob.client
    import keyfob.client_cli

    keyfob.client_cli._parser()
    server_modules = sorted(
        name
        for name in sys.modules
        if name.startswith("keyfob.")
        and not name.startswith(("keyfob.client", "keyfob.client_cli"))
    )
    print(",".join(server_modules))
    """
)


def test_given_no_server_dependencies_then_the_client_and_its_cli_import() -> None:
    # Given a Python where boto3, pydantic, requests, Powertools ... cannot be imported
    # When keyfob.client and keyfob.client_cli are imported (and the CLI's parser built)
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *SERVER_SIDE],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "layers/common")},
        timeout=60,
        check=False,
    )
    # Then it works, and no server-side keyfob module came along
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
