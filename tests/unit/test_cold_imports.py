"""No function imports boto3 at init (a third of a cold start, see bench/cold_start.py):
the layer uses botocore's clients and its own AttributeValue (de)serializer. Each
handler module imported in a fresh interpreter, as on a Lambda cold start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = sorted(p.parent for p in (ROOT / "functions").glob("*/app.py"))
PROBE = "import sys; sys.path[:0] = {paths!r}; import app; print('boto3' in sys.modules)"


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda p: p.name)
def test_a_function_cold_import_does_not_import_boto3(
    function: Path, stack_env: dict[str, str]
) -> None:
    paths = [str(ROOT / "layers" / "common"), str(function)]
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(paths=paths)],
        capture_output=True,
        text=True,
        env=os.environ | stack_env,
        check=True,
    )
    assert out.stdout.strip() == "False"
